"""Packet worker processes end with the process that started them, even one killed by SIGKILL:
`wsf packets` for real, then each way a worker notices, on its own (the race in which the parent
dies before the worker asks the kernel, and the polling thread used where it cannot ask).

Processes are read from /proc. Every wait polls, with a deadline generous enough for a loaded
two-core machine, and every process a test starts is killed by pid at the end if still alive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads processes from /proc (Linux)")
DEADLINE = 60  # seconds: starting Python and WeasyPrint on a busy machine can take many
HAYWARD = ROOT / "fixtures" / "california" / "hayward-2018-19-schools.csv"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, or None when there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (command name) "
    return fields[0], int(fields[1]), int(fields[19])


def alive(pid: int, started: int) -> bool:
    """The process that had this pid and start time still runs (a zombie has ended: it only waits
    for its new parent to read its status)."""
    info = stat(pid)
    return info is not None and info[0] != "Z" and info[2] == started


def children(parent: int) -> dict[int, tuple[int, str]]:
    """pid -> (start time, command line) of each running process whose parent is `parent`."""
    found = {}
    for entry in Path("/proc").iterdir():
        info = stat(int(entry.name)) if entry.name.isdigit() else None
        if info is not None and info[1] == parent and info[0] != "Z":
            try:
                found[int(entry.name)] = (info[2], (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:  # it ended meanwhile
                continue
    return found


def wait_for(condition: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + DEADLINE
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {DEADLINE} s for {what}")
        time.sleep(0.05)
    return result


def end(processes: dict[int, int]) -> None:
    """Kill the processes (pid -> start time) a test started that are still alive."""
    for pid, started in processes.items():
        if alive(pid, started):
            os.kill(pid, signal.SIGKILL)


def test_workers_end_when_the_command_is_killed(tmp_path: Path) -> None:
    """192 PDFs (48 schools, principal and council, English and Spanish): the workers take the
    English jobs from the front, so an English PDF in the temporary folder means a worker is at
    work. Then the command gets SIGKILL, and nothing it started may outlive it."""
    command = [sys.executable, "-c", "from wsf.cli import main; main()", "packets", str(EXAMPLE_FORMULA)]
    command += ["--schools", str(EXAMPLE / "schools.csv"), "--prior", str(EXAMPLE / "prior.csv"), "-o", str(tmp_path / "out")]
    command += ["--format", "pdf", "--kind", "principal,council", "--lang", "en,es"]
    parent = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started: dict[int, int] = {}  # every process the command started, pid -> start time

    def workers() -> list[int]:
        found = children(parent.pid)
        started.update({pid: start for pid, (start, _) in found.items()})
        return [pid for pid, (_, line) in found.items() if "spawn_main" in line]

    try:
        wait_for(workers, "a worker process")
        wait_for(lambda: list(tmp_path.glob(".out.*.part/en/*.pdf")), "a worker's first PDF")
        assert parent.poll() is None, "the command ended before it could be killed"
        workers()
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(DEADLINE)
        wait_for(lambda: not any(alive(pid, start) for pid, start in started.items()), "the workers to end")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        end(started)


def _orphan(tmp_path: Path, child: str, parent_waits: bool) -> tuple[subprocess.Popen, int, int]:
    """A parent process that starts `child` (Python; its argv[1] is the parent's pid) and prints
    the child's pid, then exits or waits to be killed: (parent, child pid, child start time)."""
    parent_code = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', sys.argv[1], str(os.getpid())], stdout=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
        f"time.sleep({DEADLINE * 2 if parent_waits else 0})\n"
    )
    command = [sys.executable, "-c", parent_code, child]
    parent = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    pid = int(parent.stdout.readline())
    parent.stdout.close()
    info = stat(pid)
    assert info is not None, "the child ended at once"
    return parent, pid, info[2]


def test_a_worker_whose_parent_died_before_it_could_ask_ends(tmp_path: Path) -> None:
    """The race before PR_SET_PDEATHSIG: the parent is gone (the child has been handed to another
    parent) before die_with_parent is called; the kernel will send nothing, the check must."""
    child = (
        "import os, pathlib, sys, time\n"
        "from wsf.render.packets.lifetime import die_with_parent\n"
        "pathlib.Path('imported').touch()\n"
        "parent = int(sys.argv[1])\n"
        "while os.getppid() == parent:\n"
        "    time.sleep(0.02)\n"
        "die_with_parent(parent)\n"
        f"time.sleep({DEADLINE * 2})\n"
    )
    parent, pid, started = _orphan(tmp_path, child, parent_waits=False)
    try:
        parent.wait(DEADLINE)
        wait_for((tmp_path / "imported").exists, "the child to import wsf.render.packets.lifetime")
        wait_for(lambda: not alive(pid, started), "the orphaned child to end")
    finally:
        end({pid: started})


def test_the_polling_thread_ends_a_worker_whose_parent_is_killed(tmp_path: Path) -> None:
    """The portable fallback on its own: no prctl, only the thread watching the parent pid."""
    child = (
        "import pathlib, sys, time\n"
        "from wsf.render.packets.lifetime import watch_parent\n"
        "watch_parent(int(sys.argv[1]), every=0.05)\n"
        "pathlib.Path('watching').touch()\n"
        f"time.sleep({DEADLINE * 2})\n"
    )
    parent, pid, started = _orphan(tmp_path, child, parent_waits=True)
    try:
        wait_for((tmp_path / "watching").exists, "the child to watch its parent")
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(DEADLINE)
        wait_for(lambda: not alive(pid, started), "the child to end")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        end({pid: started})


NO_MAIN_GUARD = """\
import sys
import polars as pl
from wsf.api import allocate_files
from wsf.render.packets import workers
from wsf.render.packets.writer import write_packets

workers.PARALLEL_HTML = 1  # a worker for these packets
schools = pl.read_csv(sys.argv[1])
big = pl.concat([schools.with_columns(pl.format("{}-{}", "school_id", pl.lit(i)).alias("school_id"),
                                      pl.format("{} {}", "name", pl.lit(i)).alias("name")) for i in range(12)])
big.write_csv(sys.argv[2] + ".csv")
allocation = allocate_files(sys.argv[3], sys.argv[2] + ".csv", overrides=("pot.amount=1213429704",))  # the pot x 12
write_packets(allocation, sys.argv[2], langs=["en"], kinds=["principal", "council"], formats=["html"])
print("written")
"""


def test_a_script_without_a_main_guard_gets_an_error_not_a_wait(tmp_path: Path) -> None:
    """multiprocessing's spawn runs the calling script again in the worker, which then refuses to
    start. With the batch (372 schools: more than a pipe holds) in the worker's start-up data,
    the run used to wait for ever on a worker that had ended; now it says what to do (or, if this
    process did every job before the worker ended, finishes)."""
    script = tmp_path / "script.py"
    script.write_text(NO_MAIN_GUARD, encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, str(script), str(HAYWARD), str(out), str(ROOT / "formulas" / "hayward" / "unduplicated-2018-19.toml")]
    try:
        result = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=DEADLINE * 2, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("write_packets waited for ever on a worker that ended")
    if result.returncode == 0:
        assert "written" in result.stdout and len(list((out / "en").glob("*.html"))) == 2 * 372
    else:
        assert 'under `if __name__ == "__main__":`' in result.stderr, result.stderr[-2000:]
        assert not out.exists()

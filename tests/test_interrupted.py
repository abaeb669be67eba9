"""Runs killed at the worst moment, and runs at the same time: real child processes
(tests/paused_run.py) stopped at one step, then SIGKILLed or met by another run.

A kill leaves the previous output, or the new one, complete, never neither; what a killed run
left behind is removed (or, for a folder moved aside, put back) by the next run to the same
target, and never what a live run is still writing.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT

from wsf.errors import WsfError

HERE = Path(__file__).parent
HAYWARD = [ROOT / "formulas" / "hayward" / "unduplicated-2018-19.toml", "--schools", ROOT / "fixtures" / "california" / "hayward-2018-19-schools.csv"]
EXAMPLE_RUN = [EXAMPLE_FORMULA, "--schools", EXAMPLE / "schools.csv", "--prior", EXAMPLE / "prior.csv"]
EQUITY = [*EXAMPLE_RUN, "--current", EXAMPLE / "current.csv"]
PATIENCE = 180  # seconds a child may take to reach its step on a loaded machine


@contextmanager
def child(tmp_path: Path, mode: str, *args: object):
    """A wsf run in its own process that stops at `mode`'s step; killed at the end if still alive."""
    marker = tmp_path / f"{mode}-{time.monotonic_ns()}.signal"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    process = subprocess.Popen(
        [sys.executable, str(HERE / "paused_run.py"), str(marker), mode, *map(str, args)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    process.marker = marker
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PATIENCE)


def reaches(process: subprocess.Popen) -> None:
    """Wait until the child is at its step (it wrote its marker)."""
    deadline = time.monotonic() + PATIENCE
    while not process.marker.exists():
        if process.poll() is not None:
            pytest.fail(f"the child ended before its step: {process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail("the child did not reach its step in time")
        time.sleep(0.05)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=PATIENCE)
    assert process.returncode == -signal.SIGKILL


def let_go(process: subprocess.Popen) -> None:
    process.marker.with_name(process.marker.name + ".go").write_text("go", encoding="utf-8")


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith((".signal", ".go")))


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- a table and its meta.json ------------------------------------------------------------------


def test_a_run_killed_while_writing_leaves_the_previous_pair_and_the_next_run_clears_up(run, tmp_path: Path) -> None:
    out = tmp_path / "allocations.csv"
    assert run("allocate", *EXAMPLE_RUN, "-o", out).exit_code == 0
    before = files(tmp_path)
    with child(tmp_path, "writer", "allocate", *HAYWARD, "-o", out) as process:
        reaches(process)
        kill(process)
    assert {k: v for k, v in files(tmp_path).items() if k in before} == before
    assert len(entries(tmp_path)) > 2  # and the killed run's half-written temporaries
    assert run("allocate", *HAYWARD, "-o", out).exit_code == 0
    assert entries(tmp_path) == ["allocations.csv", "allocations.csv.meta.json"]


def test_runs_at_once_to_one_table_never_mix_their_halves(run, tmp_path: Path) -> None:
    """One run stops after its first rename into place; another run to the same table starts.
    The second must wait for the first, so the table and meta.json left are one run's pair."""
    out = tmp_path / "allocations.csv"
    with child(tmp_path, "first-rename", "allocate", *EXAMPLE_RUN, "-o", out) as first:
        reaches(first)
        with child(tmp_path, "writing", "allocate", *HAYWARD, "-o", out) as second:
            reaches(second)  # the second run is writing (or waiting to)
            try:
                second.wait(timeout=5)  # without the lock it would finish here, between the first's renames
            except subprocess.TimeoutExpired:
                pass
            let_go(first)
            assert first.wait(timeout=PATIENCE) == 0, first.communicate()
            assert second.wait(timeout=PATIENCE) == 0, second.communicate()
    meta = json.loads(out.with_name("allocations.csv.meta.json").read_text(encoding="utf-8"))
    table = out.read_text(encoding="utf-8")
    assert meta["formula"]["id"] == "hayward-unduplicated-2018-19"  # the second run's, as it ran last
    assert "EX101" not in table, "the first run's table is paired with the second run's meta.json"
    assert entries(tmp_path) == ["allocations.csv", "allocations.csv.meta.json"]


def test_a_live_runs_temporaries_are_left_alone(run, tmp_path: Path) -> None:
    out = tmp_path / "allocations.csv"
    with child(tmp_path, "writer", "allocate", *EXAMPLE_RUN, "-o", out) as live:
        reaches(live)
        (half,) = [p for p in tmp_path.iterdir() if p.name.endswith(".part") and ".meta.json" not in p.name]
        stale = tmp_path / ".allocations.csv.0123abcd.part"  # as a killed run leaves it
        stale.write_text("killed", encoding="utf-8")
        assert run("allocate", *HAYWARD, "-o", out).exit_code == 0
        assert half.exists() and not stale.exists()
        let_go(live)
        assert live.wait(timeout=PATIENCE) == 0, live.communicate()
    meta = json.loads(out.with_name("allocations.csv.meta.json").read_text(encoding="utf-8"))
    assert meta["formula"]["id"] == "example-district-fy2026" and "EX101" in out.read_text(encoding="utf-8")
    assert entries(tmp_path) == ["allocations.csv", "allocations.csv.meta.json"]


# -- a folder -----------------------------------------------------------------------------------


def report_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_report_killed_in_the_middle_of_its_swap_is_still_there(run, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert run("equity", *EQUITY, "-o", out).exit_code == 0
    names = report_files(out)
    with child(tmp_path, "swap", "equity", *EQUITY, "--bands", "5", "-o", out) as process:
        reaches(process)
        kill(process)
    assert out.is_dir() and report_files(out) == names  # complete: the new folder (exchanged in one step)
    assert json.loads((out / "meta.json").read_text(encoding="utf-8"))["equity"]["bands"] == 5
    assert [e for e in entries(tmp_path) if e != "report"]  # the old folder, not yet removed
    assert run("equity", *EQUITY, "-o", out).exit_code == 0
    assert entries(tmp_path) == ["report"]


def test_two_renames_killed_between_them_are_put_right_by_the_next_run(run, tmp_path: Path, monkeypatch) -> None:
    """Without an exchange the swap takes two renames; killed between them, the output is gone
    and only the old folder (`.report.xxxxxxxx.old`) is left. The next run puts it back first,
    so even a next run that fails leaves the report as it was."""
    import wsf.equity.report

    out = tmp_path / "report"
    assert run("equity", *EQUITY, "-o", out).exit_code == 0
    before = files(out)
    with child(tmp_path, "two-renames", "equity", *EQUITY, "--bands", "5", "-o", out) as process:
        reaches(process)
        kill(process)
    assert not out.exists() and [e for e in entries(tmp_path) if e.endswith(".old")]

    def broken(*args, **kwargs):
        raise WsfError("a template is broken")

    monkeypatch.setattr(wsf.equity.report, "render", broken)
    assert run("equity", *EQUITY, "--bands", "5", "-o", out).exit_code == 2
    assert files(out) == before
    assert entries(tmp_path) == ["report"]


def test_the_two_rename_swap_replaces_a_folder_and_cleans_up(run, tmp_path: Path, monkeypatch) -> None:
    from wsf.write import atomic

    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    out = tmp_path / "report"
    for bands in ("10", "5"):
        assert run("equity", *EQUITY, "--bands", bands, "-o", out).exit_code == 0
    assert json.loads((out / "meta.json").read_text(encoding="utf-8"))["equity"]["bands"] == 5
    assert entries(tmp_path) == ["report"]


def test_a_live_runs_folder_is_left_alone_a_dead_ones_removed(run, tmp_path: Path) -> None:
    out = tmp_path / "report"
    live, dead = tmp_path / ".report.0000aaaa.part", tmp_path / ".report.1111bbbb.old"
    for folder in (live, dead):
        folder.mkdir()
        (folder / "schools.csv").write_text("half", encoding="utf-8")
    held = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # as the run writing it holds it
        assert run("equity", *EQUITY, "-o", out).exit_code == 0
        assert entries(tmp_path) == [".report.0000aaaa.part", "report"]
    finally:
        os.close(held)
    assert run("equity", *EQUITY, "-o", out).exit_code == 0
    assert entries(tmp_path) == ["report"]

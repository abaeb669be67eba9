"""The package as a user installs it: a wheel built from the source, installed into a folder of
its own and run from a folder that is not the checkout, finds its templates and language files
inside the installed copy and writes the same packets as the checkout does.

The checkout is importable in the test run (PYTHONPATH, and the editable install's finder in the
virtual environment maps `wsf` to a checkout), so a missing template or `__init__.py` in the
wheel could pass unnoticed by running the checkout's copy. The commands therefore run with a
`sitecustomize` that records, through an audit hook, every file the process opens and which
`wsf` it imported; the test asserts that no file of any other copy of wsf was read.

Slow (about 10 s: a build in pip's isolated environment, an install, two commands); marked
`wheel`, so `-m "not wheel"` leaves it out of a quick run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT

pytestmark = pytest.mark.wheel
GOLDEN = ROOT / "tests" / "golden"
STEM = "EX104-Sojourner-Truth-Elementary"

PROBE = '''
"""Loaded at start-up (PYTHONPATH): records the files this process opens and the wsf it imported."""
import atexit, json, os, sys

_opened = set()


def _hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.add(os.path.abspath(os.fsdecode(args[0])))


sys.addaudithook(_hook)


@atexit.register
def _report():
    wsf = sys.modules.get("wsf")
    record = {"wsf": getattr(wsf, "__file__", None), "opened": sorted(_opened)}
    with open(os.environ["WSF_PROBE_LOG"], "w", encoding="utf-8") as handle:
        json.dump(record, handle)
'''


def source_files() -> set[str]:
    """The package's files as the wheel must hold them: every file under wsf/ but compiled caches."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "wsf").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def build_wheel(tmp_path: Path) -> Path:
    """`pip wheel . --no-deps` over a copy of what the build reads (so no build/ is left in the checkout)."""
    source = tmp_path / "source"
    source.mkdir()
    shutil.copytree(ROOT / "wsf", source / "wsf", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--quiet", "-w", str(dist)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, f"pip wheel failed:\n{built.stdout}\n{built.stderr}"
    (wheel,) = dist.glob("wsf-*.whl")
    return wheel


def run_installed(target: Path, probe: Path, cwd: Path, log: Path, *args: str) -> dict:
    """`python -m wsf ARGS` with only the installed copy (and the probe) on PYTHONPATH, in `cwd`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}
    env |= {"PYTHONPATH": os.pathsep.join([str(target), str(probe)]), "WSF_PROBE_LOG": str(log), "PYTHONNOUSERSITE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "wsf", *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"python -m wsf {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    record = json.loads(log.read_text(encoding="utf-8"))
    record["stdout"] = done.stdout
    return record


def other_copies(record: dict, target: Path) -> list[str]:
    """Files of a wsf package (a `wsf` folder with an `__init__.py`) the process opened outside the
    installed copy. A folder merely named wsf (the checkout, as `git clone` names it) is not one."""

    def in_a_package(path: Path) -> bool:
        parts = path.parts
        return any(part == "wsf" and (Path(*parts[: i + 1]) / "__init__.py").is_file() for i, part in enumerate(parts[:-1]))

    return [p for p in record["opened"] if in_a_package(Path(p)) and not Path(p).is_relative_to(target)]


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        packed = {name for name in archive.namelist() if name.startswith("wsf/")}
    missing = sorted(source_files() - packed)
    assert not missing, (
        f"the wheel lacks {len(missing)} file(s) of the package: {', '.join(missing[:10])}; "
        "a module needs its folder to be a package (an __init__.py), and a template or language file "
        "a glob in [tool.setuptools.package-data] in pyproject.toml"
    )

    target = tmp_path / "installed"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target", str(target), str(wheel)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, f"pip install --target failed:\n{installed.stdout}\n{installed.stderr}"
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(PROBE, encoding="utf-8")
    work = tmp_path / "elsewhere"  # the command's folder: neither the checkout nor the installed copy
    work.mkdir()
    for file in (EXAMPLE_FORMULA, EXAMPLE / "schools.csv", EXAMPLE / "prior.csv", EXAMPLE / "current.csv"):
        shutil.copy2(file, work / file.name)

    helped = run_installed(target, probe, work, tmp_path / "help.json", "--help")
    assert helped["wsf"] == str(target / "wsf" / "__init__.py"), f"imported {helped['wsf']}, not the installed copy in {target}"
    assert "packets" in helped["stdout"] and "Usage: wsf" in helped["stdout"], helped["stdout"]

    args = ["packets", "example-district.toml", "--schools", "schools.csv", "--prior", "prior.csv"]
    args += ["--current", "current.csv", "--format", "html", "--school", "EX104", "-o", "out"]
    record = run_installed(target, probe, work, tmp_path / "packets.json", *args)
    assert record["wsf"] == str(target / "wsf" / "__init__.py"), f"imported {record['wsf']}, not the installed copy"
    assert not other_copies(record, target), f"read files of another copy of wsf: {other_copies(record, target)[:5]}"
    shipped = target / "wsf" / "templates" / "packets"
    for name in ("principal.html", "council.html", "district.html", "base.html", "_style.css", "i18n/en.toml", "i18n/es.toml"):
        assert str(shipped / name) in record["opened"], f"the installed command did not read {shipped / name}"

    # the installed copy writes the packets the checkout writes (tests/golden, from the same files)
    out = work / "out"
    for lang in ("en", "es"):
        for kind in ("principal", "council"):
            produced = (out / lang / f"{STEM}.{kind}.html").read_text(encoding="utf-8")
            assert produced == (GOLDEN / f"EX104.{kind}.{lang}.html").read_text(encoding="utf-8"), f"{lang}/{kind} differs"
        produced = (out / lang / "district.district.html").read_text(encoding="utf-8")
        assert produced == (GOLDEN / f"district.district.{lang}.html").read_text(encoding="utf-8"), f"{lang}/district differs"
    written = json.loads((out / "packets.json").read_text(encoding="utf-8"))["packets"]["files"]
    assert len(written) == 6, written

    # its Typst PDFs (templates and fonts read by Typst from the installed copy) are the golden bytes
    args = ["packets", "example-district.toml", "--schools", "schools.csv", "--prior", "prior.csv", "--current", "current.csv"]
    args += ["--format", "pdf", "--kind", "principal,council", "--school", "EX104", "-o", "pdf"]
    run_installed(target, probe, work, tmp_path / "pdf.json", *args)
    hashes = "".join(
        f"{hashlib.sha256((work / 'pdf' / lang / f'{STEM}.{kind}.pdf').read_bytes()).hexdigest()}  {lang}/{STEM}.{kind}.pdf\n"
        for lang in ("en", "es")
        for kind in ("principal", "council")
    )
    assert hashes == (GOLDEN / "EX104.pdf.sha256").read_text(encoding="utf-8"), "the installed copy's PDFs differ"


def test_the_probe_sees_a_file_of_another_copy(tmp_path: Path) -> None:
    """The check above can fail: a process that reads the checkout's template is caught by it."""
    target = tmp_path / "installed"
    record = {"opened": [str(ROOT / "wsf" / "templates" / "packets" / "base.html"), str(target / "wsf" / "cli.py")]}
    assert other_copies(record, target) == [str(ROOT / "wsf" / "templates" / "packets" / "base.html")]

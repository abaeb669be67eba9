"""Nothing lost: no command writes over one of its inputs or replaces a folder that holds one;
a table and its meta.json are a verifiable pair; an XLSX too big for Excel is refused; and a
write that fails is one line, exit 2, with nothing written.

(Runs that are killed or run at once: tests/test_interrupted.py.)
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import click
import polars as pl
import pytest

from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT
from wsf import outputs
from wsf.cli import main
from wsf.errors import WsfError

HAYWARD = ROOT / "formulas" / "hayward" / "unduplicated-2018-19.toml"
HAYWARD_SCHOOLS = ROOT / "fixtures" / "california" / "hayward-2018-19-schools.csv"


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under a folder (hidden ones too) and its bytes: what a failed run must not change."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """The example district's files, copied where a test may point -o at them."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("schools.csv", "prior.csv", "current.csv", "staff.csv", "non_personnel.csv"):
        shutil.copy(EXAMPLE / name, folder / name)
    shutil.copy(EXAMPLE_FORMULA, folder / "formula.toml")
    return folder


def data(folder: Path) -> list:
    return [folder / "formula.toml", "--schools", folder / "schools.csv", "--prior", folder / "prior.csv"]


def refused(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


# -- 2. a table and its meta.json ---------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("command", "name", "extra"),
    [
        ("allocate", "a.parquet", []),
        ("compare", "c.csv", []),
        ("sweep", "s.xlsx", ["--vary", "weights.english_learner.weight=0.1:0.5:3"]),
        ("glide", "g.csv", []),
        ("workbook", "book.xlsx", ["--current", EXAMPLE / "current.csv"]),
    ],
)
def test_meta_json_records_its_tables_sha256(run, inputs, tmp_path, command, name, extra) -> None:
    args = [inputs / "formula.toml", *data(inputs)] if command == "compare" else data(inputs)
    out = tmp_path / "out" / name
    result = run(command, *args, *extra, "-o", out)
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_name(name + ".meta.json").read_text(encoding="utf-8"))
    assert meta["output"] == {"file": name, "sha256": sha256(out)}
    assert sorted(p.name for p in out.parent.iterdir()) == [name, name + ".meta.json"]


def test_a_blocked_meta_json_leaves_the_previous_table(run, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "allocations.csv"
    out.write_text("last year's table\n", encoding="utf-8")
    (tmp_path / "allocations.csv.meta.json").mkdir()
    before = snapshot(tmp_path)
    refused(run("allocate", *data(inputs), "-o", out), "cannot write", "allocations.csv.meta.json", "folder")
    assert snapshot(tmp_path) == before


def test_disk_full_writing_the_meta_json_leaves_the_previous_pair(run, inputs, tmp_path, monkeypatch) -> None:
    out = tmp_path / "allocations.csv"
    assert run("allocate", *data(inputs), "-o", out).exit_code == 0
    before = snapshot(tmp_path)
    real = Path.write_text

    def full(self, *args, **kwargs):
        if "meta.json" in self.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    other = [HAYWARD, "--schools", HAYWARD_SCHOOLS]
    refused(run("allocate", *other, "-o", out), "cannot write", "No space left on device", "fix: free some disk space")
    assert snapshot(tmp_path) == before

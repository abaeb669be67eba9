"""Shared helpers: paths to the bundled district, and writing small tables for tests."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from wsf.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "example-district"
EXAMPLE_FORMULA = ROOT / "formulas" / "example-district.toml"


def write_csv(path: Path, rows: list[dict], fill: object = 0) -> Path:
    """Rows as CSV; a column missing from a row is written as `fill` (0 pupils by default)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, fill) for c in columns})
    return path


def every_grade(rows: list[dict]) -> list[dict]:
    """School rows that list only the grades they have, with a column for every grade (0 where a
    school has none), as a real export has: a funded grade with no column at all is an error."""
    from wsf.formula.grades import GRADE_COLUMNS

    if not any(k.startswith("grade_") for row in rows for k in row):
        return rows
    return [{c: 0 for c in GRADE_COLUMNS} | row for row in rows]


@pytest.fixture
def run():
    """Run the wsf CLI in-process; returns click's Result (exit_code, output, stderr)."""
    runner = CliRunner()

    def invoke(*args: object):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def example_args():
    return [EXAMPLE_FORMULA, "--schools", EXAMPLE / "schools.csv", "--prior", EXAMPLE / "prior.csv"]

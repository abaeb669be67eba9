"""A finance analyst's mistakes are caught before they cost money, and what is not a mistake is
said plainly: last year's file, and the help a user copies from."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, write_csv

from wsf.cli import main

HERE = ROOT / "tests" / "bad_inputs"
FORMULA = HERE / "prior_formula.toml"


def prior(tmp_path: Path, rows: list[dict]) -> Path:
    return write_csv(tmp_path / "prior.csv", rows)


def test_a_school_without_a_prior_row_is_named_not_silently_funded_as_new(run, tmp_path: Path):
    last_year = prior(tmp_path, [{"school_id": "A1", "prior": 1_500_000}, {"school_id": "B2", "prior": 3_500_000}])
    out = tmp_path / "a.csv"
    result = run("allocate", FORMULA, "--schools", HERE / "schools.csv", "--prior", last_year, "-o", out)
    assert result.exit_code == 0, result.output
    assert "no prior   1 school not in the prior file, funded at formula as new: C3 (if new, say so: --new-school ID" in result.output
    meta = json.loads(out.with_name("a.csv.meta.json").read_text())
    assert meta["schools_without_prior"] == ["C3"] and meta["new_schools"] == []

    said = run("allocate", FORMULA, "--schools", HERE / "schools.csv", "--prior", last_year, "--new-school", "C3", "-o", out)
    assert "new        1 school new this year, funded at formula: C3" in said.output and "no prior" not in said.output
    meta = json.loads(out.with_name("a.csv.meta.json").read_text())
    assert meta["schools_without_prior"] == [] and meta["new_schools"] == ["C3"]


def test_new_in_the_prior_column_says_a_school_is_new(run, tmp_path: Path):
    last_year = prior(tmp_path, [{"school_id": "A1", "prior": 1_500_000}, {"school_id": "B2", "prior": 3_500_000}, {"school_id": "C3", "prior": "New"}])
    result = run("validate", FORMULA, "--schools", HERE / "schools.csv", "--prior", last_year)
    assert result.exit_code == 0, result.output
    assert "new        1 school new this year, funded at formula: C3" in result.output


@pytest.mark.parametrize("option, value, message", [
    ("--new-school", "Z9", "--new-school: no school with school_id 'Z9'"),
    ("--new-school", "A1", "A1 is said to be new, but prior.csv gives a prior"),
    ("--accept-prior", "Z9", "--accept-prior: no school with school_id 'Z9'"),
])
def test_what_is_said_of_the_prior_file_is_checked_too(run, tmp_path: Path, option: str, value: str, message: str):
    last_year = prior(tmp_path, [{"school_id": s, "prior": p} for s, p in (("A1", 1_500_000), ("B2", 3_500_000), ("C3", 1_400_000))])
    result = run("allocate", FORMULA, "--schools", HERE / "schools.csv", "--prior", last_year, option, value, "-o", tmp_path / "a.csv")
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "a.csv").exists()


def test_a_prior_far_from_the_formula_passes_once_accepted(run, tmp_path: Path):
    args = [FORMULA, "--schools", HERE / "schools.csv", "--prior", HERE / "reject" / "prior_missing_zeros.csv"]
    assert run("validate", *args).exit_code == 2
    result = run("validate", *args, "--accept-prior", "B2")
    assert result.exit_code == 0 and result.output.startswith("ok: prior_formula.toml"), result.output


def test_validate_catches_what_allocate_would(run, tmp_path: Path):
    """A pot the foundations alone exceed passed `validate` with "ok" and failed in `allocate`."""
    args = [HERE / "reject" / "f_pot_below_fixed.toml", "--schools", HERE / "schools.csv"]
    for command in ("validate", "allocate"):
        result = run(command, *args, *(["-o", tmp_path / "a.csv"] if command == "allocate" else []))
        assert result.exit_code == 2 and "more than the pot of $100,000.00" in result.stderr


def test_a_share_written_as_a_percentage_reads_as_the_fraction(tmp_path: Path):
    from wsf.api import allocate_files

    formula = tmp_path / "share.toml"
    formula.write_text('[formula]\nid = "share"\nsource = "test"\n\n[base]\nall = 1000\n\n'
                       '[weights.upp]\nlabel = "Unduplicated"\nshare = "upp"\nweight = 0.2\n')
    rows = [{"school_id": "A", "name": "A", "enrollment": 100}, {"school_id": "B", "name": "B", "enrollment": 200}]
    fractions = write_csv(tmp_path / "fractions.csv", [r | {"upp": u} for r, u in zip(rows, ("0.80", "0.55"))])
    percents = write_csv(tmp_path / "percents.csv", [r | {"upp": u} for r, u in zip(rows, ("80%", " 55 %"))])
    assert allocate_files(formula, schools=percents).cents.equals(allocate_files(formula, schools=fractions).cents)


def examples() -> list[tuple[str, str]]:
    """Every command's help example, as a user would copy it (backslash-continued lines joined)."""
    from click.testing import CliRunner

    found = []
    names = [f"{name} {sub}" if sub else name for name, command in main.commands.items() for sub in getattr(command, "commands", None) or [""]]
    for name in names:  # a group's commands (`plan check`) each have their own
        text = CliRunner().invoke(main, [*name.split(), "--help"]).output
        block = text.split("Example:\n", 1)[1].split("\n\n", 1)[0]
        found.append((name, " ".join(line.strip().rstrip("\\").strip() for line in block.splitlines())))
    return found


@pytest.mark.parametrize("name, example", examples())
def test_every_help_example_runs_as_copied(name: str, example: str, tmp_path: Path):
    """Help text was wrapped at hyphens (formulas/example-\\ndistrict.toml): copying it failed."""
    assert example.startswith(f"wsf {name} ") and re.search(r"\s-\s|-\s\S", example) is None, example
    for folder in ("formulas", "fixtures"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    wsf = Path(sys.executable).with_name("wsf")
    done = subprocess.run(shlex.split(example.replace("wsf ", f"{shlex.quote(str(wsf))} ", 1)), cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

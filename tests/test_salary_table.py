"""A formula's costs kept in a salary table file: read as `[costs]`, hashed into the outputs,
protected like every input, and checked row by row."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from wsf.api import allocate_files
from wsf.errors import WsfError

FORMULA = """
[formula]
id = "salaries"
source = "worked example"
[base]
all = 1_000
{table}
[positions.principal]
label = "Principal"
fte = 1
cost = "principal"
[positions.noon]
label = "Noon monitor"
unit = "hours"
per = 50
round = "up"
cost = "noon_monitor"
"""
TABLE = '[salary_table]\nfile = "salaries.csv"\nsource = "HR salary schedule 2025-26, averages by job class"'
INLINE = """
[costs.principal]
label = "Principal"
salary = 152_000
benefits = 48_500.25
[costs.noon_monitor]
label = "Noon monitor"
per_hour = 21.50
days = 180
"""
ROWS = 'key,label,label_es,salary,benefits,per_hour,days\nprincipal,Principal,Director,"$152,000.00","48,500.25",,\nnoon_monitor,Noon monitor,Monitor,,,21.50,180\n'


@pytest.fixture
def district(tmp_path: Path) -> Path:
    (tmp_path / "schools.csv").write_text("school_id,name,enrollment\nA,Alpha,120\nB,Beta,400\n")
    (tmp_path / "salaries.csv").write_text(ROWS)
    (tmp_path / "formula.toml").write_text(FORMULA.format(table=TABLE))
    (tmp_path / "inline.toml").write_text(FORMULA.format(table=INLINE))
    return tmp_path


def test_a_salary_table_costs_as_the_same_costs_written_inline(district: Path) -> None:
    from_file = allocate_files(district / "formula.toml", schools=district / "schools.csv")
    inline = allocate_files(district / "inline.toml", schools=district / "schools.csv")
    assert from_file.table.drop("school_id").equals(inline.table.drop("school_id"))
    assert from_file.cents["principal"].to_list() == [20_050_025, 20_050_025]
    assert from_file.formula.model.costs["principal"].labels == {"es": "Director"}
    assert from_file.formula.model.costs["principal"].source.startswith("HR salary schedule")


def test_its_hash_is_recorded_and_it_cannot_be_overwritten(district: Path, run) -> None:
    out = district / "out" / "allocations.csv"
    assert run("allocate", district / "formula.toml", "--schools", district / "schools.csv", "-o", out).exit_code == 0
    tables = json.loads(out.with_name("allocations.csv.meta.json").read_text())["formula"]["tables"]
    assert tables == [{"file": "salaries.csv", "sha256": allocate_files(district / "formula.toml", schools=district / "schools.csv").formula.tables[0].sha256}]
    before = (district / "salaries.csv").read_bytes()
    result = run("allocate", district / "formula.toml", "--schools", district / "schools.csv", "-o", district / "salaries.csv")
    assert result.exit_code == 2 and "salary table" in result.stderr and "overwrite" in result.stderr
    assert (district / "salaries.csv").read_bytes() == before
    book = district / "book.xlsx"
    assert run("workbook", district / "formula.toml", "--schools", district / "schools.csv", "-o", book).exit_code == 0
    cells = [c for row in openpyxl.load_workbook(book)["Inputs"].iter_rows(values_only=True) for c in row]
    assert "salaries.csv" in cells


@pytest.mark.parametrize(("rows", "expected"), [
    ("key,label,salary\nprincipal,Principal,152\nnoon_monitor,Noon,40000\n", ["salaries.csv", "row 2", "costs.principal", "did you mean 152,000"]),
    ("key,label,salary\nprincipal,Principal,abc\n", ["salaries.csv", "column salary", "not a number", "row 2"]),
    ("key,label,salary\nprincipal,Principal,1\nprincipal,Again,2\n", ["salaries.csv", "column key", "duplicate"]),
    ("key,label\nprincipal,Principal\n", ["salaries.csv", "no cost column"]),
    ("key,label,salary,per_hour,days\nprincipal,Principal,150000,,\nnoon_monitor,Noon,40000,21.5,180\n", ["row 3", "costs.noon_monitor", "give `salary`"]),
])
def test_a_bad_row_is_named_by_file_and_row(district: Path, rows: str, expected: list[str]) -> None:
    (district / "salaries.csv").write_text(rows)
    with pytest.raises(WsfError) as caught:
        allocate_files(district / "formula.toml", schools=district / "schools.csv")
    for fragment in expected:
        assert fragment in str(caught.value), str(caught.value)


def test_a_missing_table_or_a_cost_in_both_places_is_refused(district: Path) -> None:
    (district / "missing.toml").write_text(FORMULA.format(table=TABLE.replace("salaries.csv", "nowhere.csv")))
    with pytest.raises(WsfError, match="the salary table 'nowhere.csv' does not exist"):
        allocate_files(district / "missing.toml", schools=district / "schools.csv")
    (district / "both.toml").write_text(FORMULA.format(table=TABLE + "\n" + INLINE))
    with pytest.raises(WsfError, match="costs.noon_monitor is in the formula and in the salary table salaries.csv"):
        allocate_files(district / "both.toml", schools=district / "schools.csv")

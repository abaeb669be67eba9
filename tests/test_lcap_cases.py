"""LCAP worked examples as data: each tests/lcap/cases/*.toml is an LEA's grants, its actions (and
last year's, with estimated actuals) and the CDE template's numbered fields worked out by hand,
the arithmetic in the file's comments. The tables must give exactly those values, as written
(money to the cent, percentages to a thousandth of a point)."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import write_csv

from wsf.lcap.numbers import points
from wsf.lcap.report import summary
from wsf.lcap.run import lcap_tables

CASES = sorted((Path(__file__).parent / "lcap" / "cases").glob("*.toml"))
LEA = "99999990000000"  # a district's 14-digit CDS code (no real LEA has it)


def grants_file(path: Path, grants: dict, year: str) -> Path:
    """The grants as `wsf lcap percentages` writes them, the percentage computed exactly."""
    cents = {k: int(Decimal(str(grants[k])) * 100) for k in ("base", "supplemental", "concentration")}
    row = {"lea": LEA, "name": "Example Unified", "fiscal_year": year, **{k: f"{Decimal(v).scaleb(-2):.2f}" for k, v in cents.items()},
           "percentage": f"{points(Fraction(cents['supplemental'] + cents['concentration'], cents['base']))}",
           "unduplicated_percentage": grants.get("unduplicated_percentage", "")}
    return write_csv(path, [row])


def actions_file(path: Path, rows: list[dict], update: bool = False) -> Path:
    shown = [{k: f"{Decimal(str(v)):.2f}" if isinstance(v, float) else v for k, v in row.items()} for row in rows]
    columns = ["goal", "action", "title", "student_groups", "contributing", "scope", "unduplicated_groups", "location", "time_span",
               "total_personnel", "lcff_funds", "other_state_funds", "local_funds", "federal_funds", "planned_percentage",
               *(["estimated_actual_funds", "estimated_actual_lcff", "estimated_actual_percentage"] if update else [])]
    return write_csv(path, [{c: "" for c in columns} | row for row in shown], fill="")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, tmp_path: Path) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["case"]["description"]
    grants = data["grants"]
    update = data.get("update")
    options = {}
    if update is not None:
        options = {"update": actions_file(tmp_path / "last.csv", update["actions"], update=True),
                   "update_percentages": grants_file(tmp_path / "current.csv", update, "2023-24"),
                   "prior_carryover": update.get("prior_carryover")}
    elif "carryover" in grants:
        options = {"carryover": grants["carryover"]}
    run = lcap_tables(actions_file(tmp_path / "actions.csv", data["actions"]), LEA, grants_file(tmp_path / "grants.csv", grants, "2024-25"), **options)

    got = {(t, i): (v, u) for t, i, v, u in summary(run.tables).select("table", "item", "value", "unit").iter_rows()}
    for table, items in data["expected"].items():
        for item, want in items.items():
            value, unit = got[(table, item)]
            if isinstance(want, str):
                assert unit == "percent" and f"{value}%" == want, f"{path.name}: {table} {item} is {value}%, expected {want}"
            else:
                assert unit == "dollars" and Decimal(value) == Decimal(str(want)).quantize(Decimal("0.01")), f"{path.name}: {table} {item} is {value}, expected {want}"

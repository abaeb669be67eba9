"""The finance workbook recalculated by a real spreadsheet application (LibreOffice, headless:
see tests/libreoffice.py for the route): for every shipped formula, every school's total equals the engine's within a cent,
the pot's scale equals the engine's, and after a rate cell is changed (edited with openpyxl,
then recalculated) every school equals `wsf allocate` of the formula file with that rate."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT
from libreoffice import recalculated, soffice
from test_language import RUNS

from wsf.api import allocate_files
from wsf.engine.allocate import Allocation
from wsf.render.workbook import write_workbook

pytestmark = pytest.mark.usefixtures("libreoffice")

HAYWARD = (ROOT / "formulas" / "hayward" / "unduplicated-2018-19.toml", ROOT / "fixtures" / "california" / "hayward-2018-19-schools.csv")
CASES = {  # formula, schools: the district a rate is changed in
    "example": (EXAMPLE_FORMULA, EXAMPLE / "schools.csv"),  # spans, adjustments, count and share weights, conditions
    "hayward": HAYWARD,  # LCFF's shape: dollar add-ons by span, the average base
}


@pytest.fixture(scope="module")
def libreoffice() -> None:
    soffice()  # skips without LibreOffice


def live(allocation: Allocation, folder: Path, edit: dict[str, float] | None = None, counts: dict[tuple[str, str], float] | None = None):
    """The workbook's Allocations rows as LibreOffice computes them, after setting named rates
    (`edit`) and data cells on the Inputs sheet (`counts`: (school_id, column) -> value)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "book.xlsx"
    write_workbook(allocation, path)
    if edit or counts:
        book = openpyxl.load_workbook(path)
        inputs = book["Inputs"]
        header = [cell.value for cell in inputs[1]]
        rows = {row[0].value: row for row in inputs.iter_rows(min_row=2) if row[0].value}
        for (school, column), value in (counts or {}).items():
            rows[school][header.index(column)].value = value
        sheet = book["Formula"]
        names = {row[6].value: row[1] for row in sheet.iter_rows(min_row=3) if row[6].value}
        for name, value in (edit or {}).items():
            destination = book.defined_names[name].attr_text
            assert destination == f"Formula!$B${names[name].row}", name  # the name is the cell on its row
            names[name].value = value
        book.save(path)  # openpyxl keeps the formulas and drops every cached value: only a recalculation gives numbers
    sheet = recalculated(path, folder)["Allocations"]
    keys = [cell.value for cell in sheet[2]]
    rows = [dict(zip(keys, row)) for row in sheet.iter_rows(min_row=3, max_row=2 + allocation.table.height, values_only=True)]
    return rows, sheet, keys


def check_equal(allocation: Allocation, rows: list[dict]) -> None:
    """Every school's total within a cent of the engine's (within a dollar where the formula rounds
    each school's total to the dollar: the live total is the unrounded one), nothing an error value."""
    rounding = allocation.formula.model.rounding
    within = 100 if rounding.unit_cents == 100 and rounding.by_line is None else 1
    assert [row["school_id"] for row in rows] == allocation.table["school_id"].to_list()
    for row, want in zip(rows, allocation.cents.iter_rows(named=True)):
        assert not any(isinstance(v, str) and v.startswith(("#", "Err:")) for v in row.values()), row
        assert abs(row["total"] * 100 - want["total"]) < within, (row["school_id"], row["total"], want["total"])
        if want["per_pupil"] is not None:
            assert abs(row["per_pupil"] * 100 - want["per_pupil"]) <= within, row["school_id"]


@pytest.mark.parametrize("formula", list(RUNS))
def test_every_shipped_formula_recalculates_to_the_engines_totals(formula: str, tmp_path: Path) -> None:
    """Every shipped formula on the data it was written for (test_language's list)."""
    schools, prior, mapping = RUNS[formula](tmp_path)
    allocation = allocate_files(ROOT / "formulas" / formula, schools=schools, prior=prior, mapping=mapping)
    rows, sheet, keys = live(allocation, tmp_path / "book")
    check_equal(allocation, rows)
    if allocation.formula.model.pot is not None:
        total = keys.index("total") + 1
        last = allocation.table.height + 2
        assert sheet.cell(last + 1, total).value == pytest.approx(allocation.formula.model.pot.amount, abs=0.01)
        assert sheet.cell(last + 3, total).value == 0  # total minus pot
        assert sheet.cell(last + 2, total).value == allocation.formula.model.pot.amount
        scale = {row[6]: row[1] for row in sheet.parent["Formula"].iter_rows(values_only=True) if row[6]}["pot.scale"]
        assert scale == pytest.approx(allocation.scale, rel=1e-12)


def edited(text: str, header: str, key: str, value: float) -> str:
    """The formula file's text with the first `key = ...` after the table `header` set to `value`."""
    start = text.index(header + "\n")
    line = re.compile(rf"^{re.escape(key)} = .*$", re.M).search(text, start)
    assert line is not None, (header, key)
    return text[: line.start()] + f"{key} = {value!r}" + text[line.end() :]


EDITS = {  # (case, the named cells changed, the formula file's same change as (section, key, value))
    "example-poverty": ("example", {"weights.poverty.weight": 0.35}, [("[weights.poverty]", "weight", 0.35)]),
    "example-small-school": ("example", {"foundations.small_school.amount": 200_000.0, "base.TK_3": 5_500.0},
                             [("[foundations.small_school]", "amount", 200_000.0), ("[base]", '"TK-3"', 5_500.0)]),
    "example-concentration": ("example", {"weights.concentration.above_share": 0.45, "base_adjustment_0.rate": 0.12},
                              [("[weights.concentration]", "above_share", 0.45), ("[[base_adjustment]]", "rate", 0.12)]),
    "hayward-concentration": ("hayward", {"weights.concentration.weight": 0.65, "base_adjustment_0.per_pupil": 900.0, "pot.amount": 95_000_000.0},
                              [("[weights.concentration]", "weight", 0.65), ("[[base_adjustment]]", "per_pupil", 900.0), ("[pot]", "amount", 95_000_000.0)]),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_change_a_rate_and_every_school_follows_as_wsf_allocate(edit: str, tmp_path: Path) -> None:
    """The example district without its transition (a transition's solved gain cap is a value
    computed by wsf, which does not follow a changed rate: the sheet says so)."""
    case, cells, changes = EDITS[edit]
    formula, schools = CASES[case]
    text = formula.read_text(encoding="utf-8")
    text = text.replace("[transition]\nmax_loss = 0.05\n", "")  # the example's transition, left out
    before = tmp_path / "before.toml"
    before.write_text(text, encoding="utf-8")
    for section, key, value in changes:
        text = edited(text, section, key, value)
    after = tmp_path / "after.toml"
    after.write_text(text, encoding="utf-8")
    allocation = allocate_files(before, schools)
    assert allocation.formula.model.transition is None
    changed = allocate_files(after, schools)
    assert changed.cents["total"].to_list() != allocation.cents["total"].to_list()  # the change moves money
    rows, sheet, _ = live(allocation, tmp_path / "book", cells)
    check_equal(changed, rows)
    detail = [row[3] for row in sheet.parent["Detail"].iter_rows(min_row=3, values_only=True) if row[0] == "Total"]
    assert len(detail) == changed.table.height  # the Detail sheet follows the changed rate too
    for got, want in zip(detail, changed.cents["total"].to_list()):
        assert abs(got * 100 - want) < 1


def test_change_a_count_and_its_school_follows(tmp_path: Path) -> None:
    """More kindergartners at one school on the Inputs sheet: its enrollment, base and lines follow,
    the small-school supplement stops where it passes 300 pupils, and the pot's scale moves every school."""
    text = EXAMPLE_FORMULA.read_text(encoding="utf-8").replace("[transition]\nmax_loss = 0.05\n", "")
    formula = tmp_path / "formula.toml"
    formula.write_text(text, encoding="utf-8")
    allocation = allocate_files(formula, EXAMPLE / "schools.csv")
    frame = allocation.inputs.select(pl.col("*").exclude("enrollment"))
    small = allocation.inputs.filter(pl.col("enrollment") < 300).filter(pl.col("enrollment") > 260)["school_id"][0]
    changes = {(small, "grade_K"): 120, ("EX101", "frl"): 200}
    for (school, column), value in changes.items():
        frame = frame.with_columns(pl.when(pl.col("school_id") == school).then(value).otherwise(pl.col(column)).alias(column))
    frame.write_csv(tmp_path / "schools.csv")
    changed = allocate_files(formula, tmp_path / "schools.csv")
    assert changed.cents.filter(pl.col("school_id") == small)["small_school"][0] == 0  # no longer a small school
    rows, _, _ = live(allocation, tmp_path / "book", counts=changes)
    check_equal(changed, rows)


def test_the_poverty_and_change_charts_draw_live_columns(tmp_path: Path) -> None:
    """The Poverty chart's x (each school's poverty share) and the Change chart's bars (its total
    less last year's) are Workings columns LibreOffice computes to the engine's numbers."""
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    path = tmp_path / "book.xlsx"
    write_workbook(allocation, path)
    assert {"Poverty", "Change"} <= set(openpyxl.load_workbook(path).sheetnames)
    sheet = recalculated(path, tmp_path)["Workings"]
    keys = [cell.value for cell in sheet[2]]
    rows = [dict(zip(keys, row)) for row in sheet.iter_rows(min_row=3, max_row=2 + allocation.table.height, values_only=True)]
    poverty = allocation.formula.model.column_for("poverty")
    prior = dict(zip(allocation.inputs["school_id"].to_list(), allocation.inputs["_prior"].to_list()))
    for row, want in zip(rows, allocation.cents.join(allocation.inputs.select("school_id", poverty), on="school_id").iter_rows(named=True)):
        assert row["school_id"] == want["school_id"]
        assert row["poverty_share"] == pytest.approx(want[poverty] / want["enrollment"])
        last = prior[want["school_id"]]  # a new school has none: no change drawn
        assert abs(row["change"] * 100 - (0 if last is None else want["total"] - round(last * 100))) < 1

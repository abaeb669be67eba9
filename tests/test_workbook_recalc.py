"""The finance workbook recalculated by a real spreadsheet application (LibreOffice, headless:
see tests/libreoffice.py for the route): every school's total equals the engine's within a cent,
the pot's scale equals the engine's, and after a rate cell is changed (edited with openpyxl,
then recalculated) every school equals `wsf allocate` of the formula file with that rate."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT
from libreoffice import recalculated, soffice

from wsf.api import allocate_files
from wsf.engine.allocate import Allocation
from wsf.render.workbook import write_workbook

pytestmark = pytest.mark.usefixtures("libreoffice")

HAYWARD = (ROOT / "formulas" / "hayward" / "unduplicated-2018-19.toml", ROOT / "fixtures" / "california" / "hayward-2018-19-schools.csv")
CASES = {  # formula, schools, prior: every kind the shipped formulas use
    "example": (EXAMPLE_FORMULA, EXAMPLE / "schools.csv", EXAMPLE / "prior.csv"),  # spans, adjustments, count and share weights, conditions, transition
    "hayward": (*HAYWARD, None),  # LCFF's shape: dollar add-ons by span, the average base
    "sfusd": (ROOT / "formulas" / "sfusd" / "wsf-2022-23.toml", ROOT / "fixtures" / "sfusd" / "wsf-2022-23-schools.csv", None),  # schedules, per_line
    "staffing": (ROOT / "formulas" / "sfusd" / "staffing-2024-25.toml", ROOT / "fixtures" / "sfusd" / "staffing-2024-25-schools.csv", None),
}


@pytest.fixture(scope="module")
def libreoffice() -> None:
    soffice()  # skips without LibreOffice


def live(allocation: Allocation, folder: Path, edit: dict[str, float] | None = None) -> list[dict]:
    """The workbook's Allocations rows as LibreOffice computes them, after setting named rates."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "book.xlsx"
    write_workbook(allocation, path)
    if edit:
        book = openpyxl.load_workbook(path)
        sheet = book["Formula"]
        names = {row[6].value: row[1] for row in sheet.iter_rows(min_row=3) if row[6].value}
        for name, value in edit.items():
            destination = book.defined_names[name].attr_text
            assert destination == f"Formula!$B${names[name].row}", name  # the name is the cell on its row
            names[name].value = value
        book.save(path)  # openpyxl keeps the formulas and drops every cached value: only a recalculation gives numbers
    sheet = recalculated(path, folder)["Allocations"]
    keys = [cell.value for cell in sheet[2]]
    rows = [dict(zip(keys, row)) for row in sheet.iter_rows(min_row=3, max_row=2 + allocation.table.height, values_only=True)]
    return rows, sheet, keys


def check_equal(allocation: Allocation, rows: list[dict]) -> None:
    """Every school's total within a cent of the engine's, and nothing is an error value."""
    assert [row["school_id"] for row in rows] == allocation.table["school_id"].to_list()
    for row, want in zip(rows, allocation.cents.iter_rows(named=True)):
        assert not any(isinstance(v, str) and v.startswith(("#", "Err:")) for v in row.values()), row
        assert abs(row["total"] * 100 - want["total"]) < 1, (row["school_id"], row["total"], want["total"])
        if want["per_pupil"] is not None:
            assert abs(row["per_pupil"] * 100 - want["per_pupil"]) <= 1, row["school_id"]


@pytest.mark.parametrize("case", list(CASES))
def test_recalculated_totals_equal_the_engines_within_a_cent(case: str, tmp_path: Path) -> None:
    formula, schools, prior = CASES[case]
    allocation = allocate_files(formula, schools, prior=prior)
    rows, sheet, keys = live(allocation, tmp_path)
    check_equal(allocation, rows)
    if allocation.formula.model.pot is not None:
        total = keys.index("total") + 1
        last = allocation.table.height + 2
        assert sheet.cell(last + 1, total).value == pytest.approx(allocation.formula.model.pot.amount, abs=0.01)
        assert sheet.cell(last + 3, total).value == 0  # total minus pot
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
    formula, schools, _ = CASES[case]
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
    rows, _, _ = live(allocation, tmp_path / "book", cells)
    check_equal(changed, rows)

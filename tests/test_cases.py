"""Worked examples as data: each tests/cases/*.toml is a formula (inline, or a shipped
`formula_file`), a tiny district and the per-school amounts worked out by hand (the arithmetic
is in the file's comments)."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT, every_grade, write_csv

from wsf.api import allocate_files
from wsf.engine.components import components
from wsf.engine.components.positions import FTE, PositionComponent

CASES = sorted((Path(__file__).parent / "cases").glob("*.toml"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, tmp_path: Path) -> None:
    data = tomllib.loads(path.read_text())
    case = data.pop("case")
    assert case["description"]
    if "formula_file" in case:
        formula = ROOT / case["formula_file"]
    else:
        formula = tmp_path / "formula.toml"
        formula.write_text(path.read_text().split("[formula]", 1)[1].join(["[formula]", ""]))
    schools = write_csv(tmp_path / "schools.csv", every_grade(case["schools"]))
    prior = write_csv(tmp_path / "prior.csv", case["prior"]) if "prior" in case else None

    result = allocate_files(formula, schools=schools, prior=prior)

    table = {row["school_id"]: row for row in result.table.iter_rows(named=True)}
    assert set(table) == {s["school_id"] for s in case["schools"]}
    for school_id, expected in case["expected"].items():
        for column, value in expected.items():
            got = table[school_id][column]
            if column.endswith(FTE):  # a quantity: FTE or daily hours, exact
                assert got == pytest.approx(value, abs=1e-9), f"{path.name}: {school_id}.{column} is {got}, expected {value}"
                continue
            want = None if value == "" else Decimal(str(value)).quantize(Decimal("0.01"))
            assert got == want, f"{path.name}: {school_id}.{column} is {got}, expected {want}"
    if "scale" in case:
        assert result.scale == pytest.approx(case["scale"], rel=1e-12)
    if "gain_cap" in case:
        assert result.gain_cap == pytest.approx(case["gain_cap"], rel=1e-9)
    for c in components(result.formula.model):  # every position: its line is FTE x cost, half up, to the cent
        if isinstance(c, PositionComponent):
            cost = Decimal(repr(c.per_unit or 0.0))
            for fte, cents in result.cents.select(c.quantity_column, c.key).iter_rows():
                assert cents == int((Decimal(repr(fte)) * cost * 100 + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))
    if result.formula.model.pot:
        assert result.cents["total"].sum() == round(result.formula.model.pot.amount * 100)

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
            want = None if value == "" else Decimal(str(value)).quantize(Decimal("0.01"))
            assert got == want, f"{path.name}: {school_id}.{column} is {got}, expected {want}"
    if "scale" in case:
        assert result.scale == pytest.approx(case["scale"], rel=1e-12)
    if "gain_cap" in case:
        assert result.gain_cap == pytest.approx(case["gain_cap"], rel=1e-9)
    if result.formula.model.pot:
        assert result.cents["total"].sum() == round(result.formula.model.pot.amount * 100)

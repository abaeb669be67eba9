"""Worked cases for every sizing rule kind (cases/*.toml, each with a sentence saying what it
shows): the rule's savings at the low and high end, to the cent, and the basis it gives."""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path

import pytest

from wsf.tradeoffs.catalog import REFERENCES, Catalog
from wsf.tradeoffs.drivers import District, Driver, Drivers
from wsf.tradeoffs.sizing import Inputs, round_cents, size

CASES = sorted((Path(__file__).parent / "cases").glob("*.toml"))


def cents(dollars: float | int) -> int:
    return round_cents(Fraction(repr(dollars)) * 100)


def catalog_for(case: dict) -> Catalog:
    drivers = {name: {"label": name, "unit": d["unit"]} for name, d in case.get("drivers", {}).items()}
    return Catalog.model_validate({
        "catalog": {"id": "case", "title": "a worked case", "source": "tests", "assembled": "by hand"},
        "budget": {"label": "the budget", "fund": ["01"]},
        "chart": {"name": "SACS", "source": "tests", "objects": [{"codes": ["1000-7499"], "major": "1000", "title": "all", "kind": "expenditure"}]},
        "areas": {"operations": "Operations"},
        "drivers": drivers,
        "benchmarks": case.get("benchmarks", {}),
        "opportunity": [{"id": 1, "area": "operations", "title": "case", "question": "Can it?", "spend": [{"function": ["1000"]}],
                         "sizing": case["rule"], "ease": "easy", "constraint": {"kind": "contract", "note": "none"}, "source": "tests"}],
    })


def test_every_rule_kind_has_a_worked_case() -> None:
    kinds = {tomllib.loads(p.read_text(encoding="utf-8"))["rule"]["kind"] for p in CASES}
    assert kinds == set(REFERENCES)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_worked_case(path: Path) -> None:
    case = tomllib.loads(path.read_text(encoding="utf-8"))
    assert case["description"]
    catalog = catalog_for(case)
    values = {name: Driver(value=d["value"], source="worked case") for name, d in case.get("drivers", {}).items() if "value" in d}
    sized = size(catalog.opportunity[0], Inputs(catalog, Drivers(District(name="case"), values), cents(case["current"]), cents(case["budget"])))
    expect = case["expect"]
    if "not_sized" in expect:
        assert not sized.sized and sized.low is None and sized.high is None
        assert expect["not_sized"] in sized.basis and sized.basis.startswith("not sized: ")
        return
    assert (sized.low, sized.high) == (cents(float(expect["low"])), cents(float(expect["high"]))), sized.basis
    for fragment in expect.get("basis", []):
        assert fragment in sized.basis, sized.basis

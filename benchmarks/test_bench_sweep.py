"""A 1,000-point sweep over the statewide schools (10,000 at full scale), beside what a user
would do without it: one allocation per point (timed on a few points, per point).

The sweep's points are checked against single allocations to the cent in
tests/test_scenarios.py; here a point is checked again at scale.
"""

from __future__ import annotations

import os

import pytest

from wsf.data.roster import read_students
from wsf.data.schools import read_schools
from wsf.engine.allocate import allocate
from wsf.engine.sweep import parse_axis, sweep
from wsf.formula.model import LoadedFormula, load_formula

POINTS = int(os.environ.get("WSF_BENCH_POINTS", "1000"))
GROUP = f"sweep: {POINTS:,} points of the EL weight over the statewide schools"
LOOP_POINTS = 5


@pytest.fixture(scope="session")
def statewide(roster):
    formula = load_formula(roster.formula)
    directory = read_schools(roster.schools, formula.model, directory=True)
    return formula, read_students(roster.students, formula.model, schools=directory)


def with_weight(formula: LoadedFormula, value: float) -> LoadedFormula:
    weights = dict(formula.model.weights)
    weights["english_learner"] = weights["english_learner"].model_copy(update={"weight": value})
    return LoadedFormula(model=formula.model.model_copy(update={"weights": weights}), path=formula.path, sha256=formula.sha256)


def test_sweep(benchmark, statewide) -> None:
    formula, data = statewide
    benchmark.group = GROUP
    benchmark.extra_info.update(contender="wsf sweep", points=POINTS, schools=data.frame.height)
    axes = [parse_axis(f"weights.english_learner.weight=0.1:0.5:{POINTS}", formula)]
    result = benchmark(sweep, formula, data, axes)
    assert result.height == POINTS
    middle = result.row(POINTS // 2, named=True)
    single = allocate(with_weight(formula, middle["weights.english_learner.weight"]), data)
    assert round(middle["total"] * 100) == single.summary()["total_cents"]


def test_one_allocation_per_point(benchmark, statewide) -> None:
    """The alternative: an allocation per point (LOOP_POINTS of them; extra_info gives per point)."""
    formula, data = statewide
    benchmark.group = GROUP
    benchmark.extra_info.update(contender=f"allocate x {LOOP_POINTS} (per point: divide by {LOOP_POINTS})", points=LOOP_POINTS, schools=data.frame.height)
    formulas = [with_weight(formula, 0.1 + 0.1 * i) for i in range(LOOP_POINTS)]
    results = benchmark(lambda: [allocate(f, data) for f in formulas])
    assert len(results) == LOOP_POINTS

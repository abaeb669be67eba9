"""Invariants that must hold for any formula and district (hypothesis generates both)."""

from __future__ import annotations

import tempfile
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import write_csv
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wsf.data.roster import read_students
from wsf.data.schools import Prior, SchoolData, read_schools
from wsf.engine.allocate import allocate
from wsf.errors import WsfError
from wsf.formula.grades import GRADES as ALL_GRADES
from wsf.formula.model import LoadedFormula, validate_formula

GRADES = ["K", "1", "2", "6", "7", "9", "12"]  # grades with pupils
FUNDED = [g for g in ALL_GRADES if g != "TK"]  # the formula's spans: each has a column, as in a real export
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def districts(draw, pot: bool | None = None, transition: bool | None = None):
    """A formula dict, school rows (with counts within enrollment) and prior rows."""
    n = draw(st.integers(1, 9))
    schools = []
    for i in range(n):
        grades = {f"grade_{g}": 0 for g in FUNDED} | {f"grade_{g}": draw(st.integers(0, 120)) for g in draw(st.lists(st.sampled_from(GRADES), max_size=4, unique=True))}
        enrollment = sum(grades.values())
        frl = draw(st.integers(0, enrollment))
        el = draw(st.integers(0, enrollment))
        unduplicated = draw(st.integers(max(frl, el), min(enrollment, frl + el)))
        level = draw(st.sampled_from(["elementary", "middle", "high"]))
        schools.append({"school_id": f"S{i:02d}", "name": f"School {i}", "level": level, **grades,
                        "frl": frl, "el": el, "unduplicated": unduplicated, "sped": draw(st.integers(0, enrollment))})
    money = st.integers(1_000, 12_000)
    formula = {
        "formula": {"id": "property", "source": "hypothesis"},
        "base": {"K-5": draw(money), "6-8": draw(money), "9-12": draw(money)},
        "base_adjustment": [{"span": "K-3", "rate": draw(st.sampled_from([0.0, 0.104, 0.2])), "label": "K-3"}],
        "weights": {
            "poverty": {"label": "Poverty", "count": "frl", "weight": draw(st.floats(0, 1, allow_nan=False))},
            "english_learner": {"label": "EL", "count": "el", "weight": draw(st.floats(0, 1, allow_nan=False)), "of": "K-5"},
            "sped": {"label": "SpEd", "count": "sped", "per_pupil": draw(st.integers(0, 9_000))},
            "concentration": {"label": "Conc", "count": "unduplicated", "weight": draw(st.floats(0, 1, allow_nan=False)),
                              "above_share": draw(st.floats(0, 1, allow_nan=False))},
        },
        "foundations": {
            "leadership": {"label": "Leadership", "amount": draw(st.integers(0, 300_000))},
            "small": {"label": "Small", "amount": 100_000, "when": {"enrollment_below": 100}},
            "high": {"label": "High", "amount": 50_000, "when": {"level": ["high"]}},
        },
        "positions": positions(draw),
        "rounding": {"to": draw(st.sampled_from(["cent", "dollar"]))},
    }
    if pot if pot is not None else draw(st.booleans()):
        formula["pot"] = {"amount": draw(st.integers(1_000_000, 60_000_000))}
    priors = []
    if transition if transition is not None else draw(st.booleans()):
        formula["transition"] = {"max_loss": draw(st.floats(0, 0.2, allow_nan=False))}
        if "pot" not in formula or draw(st.booleans()):
            formula["transition"]["max_gain"] = draw(st.floats(0, 0.5, allow_nan=False))
        priors = [{"school_id": s["school_id"], "prior": draw(st.integers(0, 5_000_000))} for s in schools if draw(st.booleans())]
    return formula, schools, priors


def positions(draw) -> dict:
    """A fixed position, a ratio of K-3 pupils rounded any way, and bands, each at a cost with cents."""
    cost = st.integers(3_000_000, 25_000_000).map(lambda cents: cents / 100)
    rounding = draw(st.sampled_from(["none", "up", "down", "nearest"]))
    teachers = {"label": "Teachers", "per": draw(st.sampled_from([20, 22, 24.75, 30])), "of": "K-3", "round": rounding, "cost": draw(cost)}
    if rounding != "none":
        teachers["step"] = draw(st.sampled_from([1.0, 0.5, 0.1]))
    edge = draw(st.integers(1, 400))
    return {
        "principal": {"label": "Principal", "fte": draw(st.sampled_from([0.5, 1.0])), "cost": draw(cost)},
        "teachers": teachers,
        "assistant_principal": {"label": "AP", "bands": [{"below": edge, "fte": 0.0}, {"fte": 1.0}], "cost": draw(cost)},
    }


def run(formula: dict, schools: list[dict], priors: list[dict], shuffle_seed: int | None = None):
    model = validate_formula(formula)
    loaded = LoadedFormula(model=model, path=Path("property.toml"), sha256="0" * 64)
    with tempfile.TemporaryDirectory() as tmp:
        data = read_schools(write_csv(Path(tmp) / "schools.csv", schools), model)
    frame = data.frame if shuffle_seed is None else data.frame.sample(fraction=1.0, shuffle=True, seed=shuffle_seed)
    return allocate(loaded, SchoolData(frame, data.pupil_columns), accepted(formula, schools, priors))


def run_in_memory(formula: dict, schools: list[dict], priors: list[dict]):
    """As `run`, without the CSV round trip (the same frame `read_schools` returns): fast enough
    for thousands of examples. A formula the data cannot satisfy (the fixed parts or the floor
    cost more than the pot) is a user error: the example is discarded, never passed."""
    model = validate_formula(formula)
    loaded = LoadedFormula(model=model, path=Path("property.toml"), sha256="0" * 64)
    pupils = [f"grade_{g}" for g in FUNDED]
    frame = pl.DataFrame(schools).with_columns(pl.col(c).cast(pl.Float64) for c in [*pupils, "frl", "el", "unduplicated", "sped"])
    frame = frame.with_columns(pl.sum_horizontal(pupils).alias("enrollment"))
    try:
        return allocate(loaded, SchoolData(frame, tuple(pupils)), accepted(formula, schools, priors))
    except WsfError:
        assume(False)


def accepted(formula: dict, schools: list[dict], priors: list[dict]) -> Prior | None:
    """Random priors, each accepted as it is (a person would be asked about one 3x its formula amount)."""
    if "transition" not in formula:
        return None
    frame = pl.DataFrame(priors, schema={"school_id": pl.String, "prior": pl.Float64})
    return Prior(frame, accepted=frozenset(s["school_id"] for s in schools))


def solvable(formula: dict, schools: list[dict]) -> bool:
    return "pot" not in formula or sum(s.get(c, 0) for s in schools for c in s if c.startswith("grade_")) > 0


@SETTINGS
@given(districts())
def test_every_school_once_and_totals_reconcile(district) -> None:
    formula, schools, priors = district
    try:
        result = run(formula, schools, priors)
    except WsfError:  # a pot the fixed parts exceed is a user error, not a failure; anything else fails
        assume(False)
    cents = result.cents
    assert sorted(cents["school_id"]) == sorted(s["school_id"] for s in schools)
    keys = result.component_keys
    assert (cents.select(pl.sum_horizontal(keys)).to_series() == cents["total"]).all()
    if "pot" in formula:
        assert cents["total"].sum() == formula["pot"]["amount"] * 100
    unit = 100 if formula["rounding"]["to"] == "dollar" else 1
    assert all((cents[k] % unit == 0).all() for k in [*keys, "total"])
    for key, position in formula["positions"].items():  # FTE x cost is the line, half up, to the rounding unit
        cost = Decimal(repr(position["cost"])) * 100 / unit
        for fte, line in cents.select(f"{key}_fte", key).iter_rows():
            assert line == unit * int((Decimal(repr(fte)) * cost + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR))


@SETTINGS
@given(districts(), st.integers(0, 2**32 - 1))
def test_shuffling_rows_changes_nothing(district, seed) -> None:
    formula, schools, priors = district
    assume(solvable(formula, schools))
    try:
        first = run(formula, schools, priors)
    except WsfError:
        assume(False)
    assert first.cents.equals(run(formula, schools, priors, shuffle_seed=seed).cents)


@SETTINGS
@given(districts(pot=False), st.data())
def test_more_need_never_lowers_an_amount_without_a_pot(district, data) -> None:
    formula, schools, priors = district
    before = run(formula, schools, priors)
    i = data.draw(st.integers(0, len(schools) - 1))
    school = dict(schools[i])
    enrollment = sum(v for k, v in school.items() if k.startswith("grade_"))
    column = data.draw(st.sampled_from(["frl", "el", "sped", "unduplicated"]))
    if school[column] >= enrollment:
        return
    school[column] += 1
    if column in ("frl", "el"):
        school["unduplicated"] = max(school["unduplicated"], school[column])
    after = run(formula, [*schools[:i], school, *schools[i + 1:]], priors)
    key = pl.col("school_id") == school["school_id"]
    assert after.cents.filter(key)["total"][0] >= before.cents.filter(key)["total"][0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(districts(transition=False), st.randoms(use_true_random=False))
def test_roster_gives_the_same_allocation_as_school_counts(district, rng) -> None:
    """Pupils with flags, aggregated, equal the school table's counts: same cents."""
    formula, schools, _ = district
    formula["counts"] = {"unduplicated": {"any_of": ["frl", "el"]}}
    if not solvable(formula, schools) or not any(v for s in schools for k, v in s.items() if k.startswith("grade_")):
        return
    pupils = []
    for school in schools:
        grades = [g.removeprefix("grade_") for g, n in school.items() if g.startswith("grade_") for _ in range(n)]
        n = len(grades)
        # frl on the first pupils, el on the last ones, overlapping exactly as `unduplicated` says
        overlap = school["frl"] + school["el"] - school["unduplicated"]
        el_start = school["frl"] - overlap
        sped = set(rng.sample(range(n), school["sped"]))
        for j, grade in enumerate(grades):
            pupils.append({"student_id": f"{school['school_id']}-{j}", "school_id": school["school_id"], "grade": grade,
                           "frl": str(j < school["frl"]).lower(), "el": str(el_start <= j < el_start + school["el"]).lower(),
                           "sped": str(j in sped).lower()})
    rng.shuffle(pupils)
    model = validate_formula(formula)
    loaded = LoadedFormula(model=model, path=Path("property.toml"), sha256="0" * 64)
    with tempfile.TemporaryDirectory() as tmp:
        directory = read_schools(write_csv(Path(tmp) / "schools.csv", schools), model, directory=True)
        roster = write_csv(Path(tmp) / "students.csv", pupils)
        from_roster = read_students(roster, model, schools=directory)
        from_table = read_schools(write_csv(Path(tmp) / "schools.csv", schools), model)
    try:
        expected = allocate(loaded, from_table)
    except WsfError:
        assume(False)
    assert allocate(loaded, from_roster).cents.equals(expected.cents)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(districts(pot=True, transition=True))
def test_with_a_pot_the_transition_moves_money_and_adds_none(district) -> None:
    """Components sum to totals and totals to the pot, to the cent; where the gain cap is solved,
    the transition column sums to exactly zero (it once summed to -$0.01 in 42 of 77 districts),
    the cap is the gain of the schools it holds back, and without a lifted school there is none."""
    formula, schools, priors = district
    assume(any(s[c] for s in schools for c in s if c.startswith("grade_")))
    result = run_in_memory(formula, schools, priors)
    cents = result.cents
    assert (cents.select(pl.sum_horizontal(result.component_keys)).to_series() == cents["total"]).all()
    assert cents["total"].sum() == formula["pot"]["amount"] * 100
    pieces = result.pieces.select(pl.sum_horizontal("phase_in", "hold_harmless", "gain_cap")).to_series()
    assert (pieces == cents["transition"]).all()
    if "max_gain" in formula["transition"]:
        return
    assert cents["transition"].sum() == 0
    amounts = result.amounts.join(result.inputs.select("school_id", "_prior"), on="school_id")
    old = amounts.filter(pl.col("_prior") > 0)
    lifted = old.filter(pl.col("_formula_total") < (1 - formula["transition"]["max_loss"]) * pl.col("_prior"))
    if lifted.height == 0:
        assert result.gain_cap is None
        assert (cents["transition"] == 0).all()
    else:
        assert result.gain_cap is not None and result.gain_cap >= -1
        gains = old.select(pl.col("_final_total") / pl.col("_prior") - 1).to_series()
        assert gains.max() == pytest.approx(result.gain_cap, rel=1e-9, abs=1e-9)

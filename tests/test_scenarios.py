"""Scenarios: a sweep point is a single allocation, glide paths arrive, comparisons add up."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

import wsf.engine.sweep
from wsf.api import load_schools
from wsf.data.growth import Growth
from wsf.data.schools import Prior, read_prior
from wsf.engine.allocate import allocate
from wsf.engine.params import key_parts
from wsf.engine.scenarios import compare, glide
from wsf.engine.sweep import parse_axis, sweep, weighted_spread
from wsf.equity import measures
from wsf.formula.model import LoadedFormula, validate_formula


@pytest.fixture(scope="module")
def example():
    formula, data = load_schools(EXAMPLE_FORMULA, EXAMPLE / "schools.csv")
    prior = read_prior(EXAMPLE / "prior.csv", data).frame
    return formula, data, prior


def with_values(formula: LoadedFormula, values: dict[str, float], drop: tuple[str, ...] = ()) -> LoadedFormula:
    data = formula.model.model_dump(exclude_none=True)
    for key in drop:
        data.pop(key)
    for path, value in values.items():
        node, parts = data, key_parts(path)
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return LoadedFormula(model=validate_formula(data), path=formula.path, sha256=formula.sha256)


@pytest.mark.parametrize("drop", [(), ("transition",), ("transition", "pot")], ids=["pot+transition", "pot", "neither"])
def test_a_sweep_point_is_a_single_allocation_to_the_cent(example, drop) -> None:
    formula, data, prior = example
    base = with_values(formula, {}, drop)
    axes = [parse_axis("weights.english_learner.weight=0.1:0.5:3", base), parse_axis("foundations.leadership.amount=200000:300000:2", base)]
    if "pot" not in drop:
        axes.append(parse_axis("pot.amount=240000000:250000000:2", base))
    points = sweep(base, data, axes, prior)
    assert points.height == 3 * 2 * (2 if "pot" not in drop else 1)
    for row in points.iter_rows(named=True):
        values = {a.path: row[a.path] for a in axes}
        single = allocate(with_values(base, values), data, prior if "transition" not in drop else None)
        summary = single.summary()
        assert round(row["total"] * 100) == summary["total_cents"]
        assert row["scale"] == summary["scale"]
        if "transition" not in drop:
            assert row["gain_cap"] == summary["gain_cap"]
            assert row["hold_harmless"] == round(summary["hold_harmless_total"], 2)
        final = single.amounts["_final_total"].to_numpy()[None, :]
        cv, gini = weighted_spread(final, single.inputs["enrollment"].to_numpy().astype(float))
        assert row["cv"] == pytest.approx(cv[0], rel=1e-12) and row["gini"] == pytest.approx(gini[0], rel=1e-12)
        last_year = single.inputs.join(prior, on="school_id", how="left")["prior"].fill_null(0).to_numpy()
        assert row["schools_losing_over_5%"] == int(((final[0] < 0.95 * last_year) & (last_year > 0)).sum())


STAFFING = """
[formula]
id = "sweep-staffing"
source = "test"
[base]
all = 1_000
[positions.teachers]
label = "Teachers"
rules = [
  { when = { level = ["ES"] }, per = 24, of = "enrollment_capacity", less = { tk_teacher_fte = 20 }, round = "nearest" },
  { when = { level = ["HS"] }, per = 25, round = "up" },
]
cost = 100_000.50
[positions.noon]
label = "Noon monitor"
unit = "hours"
per = 50
round = "up"
min = 4
cost = 3_870
[weights.concentration]
label = "Concentration"
share = "upp"
above_share = 0.55
rates = [{ when = { level = ["HS"] }, per_pupil = 1_000, pupils_at_most = 200 }, { per_pupil = 1_000 }]
"""


def test_a_sweep_of_staffing_rules_is_a_single_allocation_to_the_cent(tmp_path) -> None:
    """Rates of positions swept (one per so many, a step of `rules` and its `less`) and a capped schedule
    step: the quantities are recomputed at every point, and each point is `allocate` with that value."""
    formula = tmp_path / "staffing.toml"
    formula.write_text(STAFFING)
    schools = tmp_path / "schools.csv"
    schools.write_text("school_id,name,level,enrollment,enrollment_capacity,tk_teacher_fte,upp\n"
                       "E1,Elementary,ES,380,424,1,0.8\nE2,Elementary,ES,300,419,0,0.5\nH1,High,HS,1221,1274,0,0.6547\n")
    loaded, data = load_schools(formula, schools)
    axes = [parse_axis(a, loaded) for a in ("positions.noon.per=40:60:3", "positions.teachers.rules[0].less.tk_teacher_fte=10:40:3",
                                            "positions.teachers.rules[1].per=20:30:2", "weights.concentration.rates[0].per_pupil=500:1000:2")]
    points = sweep(loaded, data, axes, None)
    assert points.height == 3 * 3 * 2 * 2 and points["total"].n_unique() > 1
    for row in points.iter_rows(named=True):
        single = allocate(with_values(loaded, {a.path: row[a.path] for a in axes}), data, None)
        assert round(row["total"] * 100) == single.summary()["total_cents"]


def test_sweep_refuses_bad_axes(example) -> None:
    from wsf.errors import WsfError

    formula, _, _ = example
    with pytest.raises(WsfError, match="not KEY=START:STOP:STEPS"):
        parse_axis("weights.english_learner.weight=0.1..0.5", formula)
    with pytest.raises(WsfError, match="the formula sets no rate 'weights.nope.weight' to sweep"):
        parse_axis("weights.nope.weight=0.1:0.5:3", formula)
    with pytest.raises(WsfError, match="makes the formula invalid.*must be >= 0"):
        parse_axis("weights.english_learner.weight=-0.1:0.5:3", formula)
    with pytest.raises(WsfError, match="the formula sets no rate 'formula.id' to sweep"):
        parse_axis("formula.id=1:2:2", formula)


def test_weighted_spread_of_equal_amounts_is_zero() -> None:
    cv, gini = weighted_spread(np.array([[100.0, 200.0, 0.0]]), np.array([10.0, 20.0, 0.0]))
    assert cv[0] == pytest.approx(0) and gini[0] == pytest.approx(0)
    # two schools, 1 pupil at $1 and 1 pupil at $3: mean 2, |1-3| x 2 / (2 x 4 x 2) = 0.25
    assert weighted_spread(np.array([[1.0, 3.0]]), np.array([1.0, 1.0]))[1][0] == pytest.approx(0.25)


def test_glide_path_reaches_formula_and_keeps_the_pot_every_year(example) -> None:
    formula, data, prior = example
    table, reached = glide(formula, data, prior, years=10)
    years = [c for c in table.columns if c.startswith("year_")]
    assert reached == len(years) < 10
    assert (table[f"year_{reached}"] == table["formula"]).all()
    for column in years:
        assert table[column].sum() == 244_500_000_00
    # each year no school loses more than 5% of the year before
    previous = table["prior"]
    for column in years:
        held = previous.is_not_null()
        assert (table[column].filter(held) >= (0.95 * previous.filter(held)).floor() - 1).all()
        previous = table[column]


def test_glide_with_gap_closure_ends_at_formula_in_the_last_year(example) -> None:
    formula, data, prior = example
    closing = with_values(formula, {}, ("transition",))
    closing = LoadedFormula(model=closing.model.model_copy(update={"transition": validate_formula(
        {"formula": {"id": "x", "source": "t"}, "base": {"all": 1}, "transition": {"gap_closure": 0.5}}).transition}), path=formula.path, sha256="")
    table, reached = glide(closing, data, prior, years=4)
    assert reached == 4
    assert (table["year_4"] == table["formula"]).all()
    assert all(table[f"year_{y}"].sum() == 244_500_000_00 for y in range(1, 5))


def test_floor_and_cap_lines_sum_to_zero_with_a_pot(example) -> None:
    formula, data, prior = example
    result = allocate(formula, data, prior)
    assert result.amounts["_hold_harmless"].sum() > 1_000_000
    assert result.amounts["_hold_harmless"].sum() + result.amounts["_gain_cap"].sum() == pytest.approx(0, abs=1e-4)
    assert result.cents["transition"].sum() == 0


def test_compare_two_counting_rules_on_hayward() -> None:
    a_path, b_path = (ROOT / f"formulas/hayward/{c}-2018-19.toml" for c in ("unduplicated", "additive"))
    schools = ROOT / "fixtures/california/hayward-2018-19-schools.csv"
    a, b = (allocate(*load_schools(p, schools)) for p in (a_path, b_path))
    table = compare(a, b)
    assert table.height == 31
    assert (table["change"] == table["total_b"] - table["total_a"]).all()
    assert table["change"].sum() == 0  # same pot


def test_cli_scenarios(run, tmp_path: Path) -> None:
    data = ["--schools", EXAMPLE / "schools.csv", "--prior", EXAMPLE / "prior.csv"]
    out = tmp_path / "sweep.csv"
    result = run("sweep", EXAMPLE_FORMULA, *data, "--vary", "weights.english_learner.weight=0.1:0.5:41", "-o", out)
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert table.height == 41 and {"total", "scale", "gain_cap", "schools_losing_over_5%", "hold_harmless", "cv", "gini"} <= set(table.columns)
    result = run("glide", EXAMPLE_FORMULA, *data, "--years", "8", "-o", tmp_path / "glide.csv")
    assert result.exit_code == 0, result.output
    assert "every school at 100% of formula in year 4" in result.output
    hayward = ["--schools", ROOT / "fixtures/california/hayward-2018-19-schools.csv"]
    first, second = tmp_path / "c1.csv", tmp_path / "c2.csv"
    for target in (first, second):
        result = run("compare", ROOT / "formulas/hayward/unduplicated-2018-19.toml", ROOT / "formulas/hayward/additive-2018-19.toml", *hayward, "-o", target)
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()
    assert "largest gains:" in result.output
    bad = run("sweep", EXAMPLE_FORMULA, *data, "--vary", "weights.english_learner.weight=-1:0.5:3")
    assert bad.exit_code == 2 and "makes the formula invalid" in bad.stderr


def test_blocks_and_cores_do_not_change_a_sweep(example, monkeypatch) -> None:
    """Blocks of points are shared among threads; neither the blocks nor the number of cores
    may change a byte of the money, and the statistics agree to rounding."""
    formula, data, prior = example
    axes = [parse_axis("weights.english_learner.weight=0.1:0.5:7", formula), parse_axis("pot.amount=240000000:250000000:3", formula)]
    whole = sweep(formula, data, axes, prior)
    monkeypatch.setattr(wsf.engine.sweep, "BLOCK_VALUES", data.frame.height * 2)  # 2 points a block: 11 blocks
    runs = {}
    for cores in (1, 2, 3):
        monkeypatch.setattr(wsf.engine.sweep, "cores", lambda cores=cores: cores)
        runs[cores] = sweep(formula, data, axes, prior)
    assert runs[1].equals(runs[2]) and runs[1].equals(runs[3])
    statistics = ["cv", "gini"]
    assert runs[1].drop(statistics).equals(whole.drop(statistics))
    for column in statistics:
        assert runs[1][column].to_numpy() == pytest.approx(whole[column].to_numpy(), rel=1e-12)


def test_a_school_with_no_pupils_is_swept_but_has_no_per_pupil_amount(example, monkeypatch) -> None:
    """A school with a prior but no enrollment reported stays in every point (its prior counts
    toward losses) and is left out of CV and Gini, in blocks on several threads."""
    formula, data, prior = example
    empty = data.frame["school_id"][0]
    numbers = [c for c, dtype in data.frame.schema.items() if dtype.is_numeric()]
    data = replace(data, frame=data.frame.with_columns(pl.when(pl.col("school_id") == empty).then(0).otherwise(pl.col(c)).cast(data.frame.schema[c]).alias(c) for c in numbers))
    monkeypatch.setattr(wsf.engine.sweep, "BLOCK_VALUES", data.frame.height * 2)
    monkeypatch.setattr(wsf.engine.sweep, "cores", lambda: 2)
    axes = [parse_axis("weights.english_learner.weight=0.1:0.5:5", formula)]
    known = Prior(prior, accepted=frozenset([empty]))  # its pupils are gone: its prior is far from its formula amount, and right
    for row in sweep(formula, data, axes, prior).iter_rows(named=True):
        single = allocate(with_values(formula, {a.path: row[a.path] for a in axes}), data, known)
        assert round(row["total"] * 100) == single.summary()["total_cents"]
        final = single.amounts["_final_total"].to_numpy()
        pupils = single.inputs["enrollment"].to_numpy().astype(float)
        assert pupils[single.inputs["school_id"].to_list().index(empty)] == 0
        cv, gini = weighted_spread(final[None, pupils > 0], pupils[pupils > 0])
        assert row["cv"] == pytest.approx(cv[0], rel=1e-12) and row["gini"] == pytest.approx(gini[0], rel=1e-12)
        last_year = single.inputs.join(prior, on="school_id", how="left")["prior"].fill_null(0).to_numpy()
        assert row["schools_losing_over_5%"] == int(((final < 0.95 * last_year) & (last_year > 0)).sum())
        assert row["hold_harmless"] == round(single.summary()["hold_harmless_total"], 2)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(100, 50_000), st.integers(0, 2_000) | st.floats(0.01, 2_000)), min_size=2, max_size=40), st.floats(0.5, 2.0))
def test_sweep_statistics_agree_with_the_equity_measures(schools, k) -> None:
    """The sweep's per-point CV and Gini are the equity module's, computed for many points at
    once, for whole pupils (summed as integers) and for average daily attendance (fractions)."""
    per_pupil = np.array([x for x, _ in schools])
    pupils = np.array([float(w) for _, w in schools])
    if pupils.sum() == 0:
        return
    totals = np.vstack([per_pupil * pupils, k * per_pupil * pupils])
    cv, gini = weighted_spread(totals, pupils)
    keep = pupils > 0
    for row in range(2):
        x = totals[row][keep] / pupils[keep]
        assert cv[row] == pytest.approx(measures.cv(x, pupils[keep]), rel=1e-9, abs=1e-12)
        assert gini[row] == pytest.approx(measures.gini(x, pupils[keep]), rel=1e-9, abs=1e-12)


def test_compare_lists_as_losses_only_schools_that_lose(run, tmp_path) -> None:
    """It listed the smallest gains under "largest losses" when every school gained."""
    schools = tmp_path / "schools.csv"
    schools.write_text("school_id,name,enrollment,frl\nA,Alpha,100,10\nB,Beta,100,60\nC,Gamma,100,0\n")
    body = '[formula]\nid = "{id}"\nsource = "test"\n[base]\nall = 5_000\n[weights.poverty]\nlabel = "Poverty"\ncount = "frl"\nper_pupil = {rate}\n'
    (tmp_path / "a.toml").write_text(body.format(id="a", rate=1_000))
    (tmp_path / "b.toml").write_text(body.format(id="b", rate=1_500))
    result = run("compare", tmp_path / "a.toml", tmp_path / "b.toml", "--schools", schools)
    assert result.exit_code == 0, result.output
    gains, losses = result.output.split("largest gains:")[1].split("largest losses:")
    assert [line.split()[0] for line in gains.strip().splitlines()] == ["B", "A"]  # C gains nothing: not a gain
    assert losses.strip() == "none (no school loses money under B)"


@pytest.mark.parametrize("drop", [(), ("transition",), ("transition", "pot")], ids=["pot+transition", "pot", "neither"])
def test_per_school_rows_are_allocate_at_each_point(example, drop) -> None:
    from wsf.engine.sweep import sweep_per_school

    formula, data, prior = example
    base = with_values(formula, {}, drop)
    given = prior if "transition" not in drop else None
    axes = [parse_axis("weights.english_learner.weight=0.1:0.5:5", base), parse_axis("foundations.leadership.amount=200000:300000:2", base)]
    points, long = sweep_per_school(base, data, axes, given)
    assert long.height == points.height * data.frame.height
    as_given = allocate(base, data, given).cents.select("school_id", "total")
    for point in (0, 3, points.height - 1):  # sampled: the first, one inside, the last
        values = {a.path: points[a.path][point] for a in axes}
        single = allocate(with_values(base, values), data, given).cents
        rows = long.filter(*[pl.col(k) == v for k, v in values.items()])
        assert rows["school_id"].to_list() == single["school_id"].to_list()
        assert rows["amount"].to_list() == single["total"].to_list()
        assert rows["per_pupil"].to_list() == single["per_pupil"].to_list()
        assert (rows["amount"] - as_given["total"]).to_list() == rows["change"].to_list()
        assert int(rows["amount"].sum()) == round(points["total"][point] * 100)


@pytest.mark.parametrize("threshold", [0.05, 0.02, 0.10])
def test_losers_before_the_floor_and_what_the_floor_pays_them(example, threshold) -> None:
    """Under a 5% floor no school loses more than 5% after it: the count before the floor is the one that means something."""
    formula, data, prior = example
    axes = [parse_axis("weights.english_learner.weight=0.1:0.5:3", formula)]
    points = sweep(formula, data, axes, prior, threshold)
    before, pays = f"schools_losing_over_{threshold:.0%}_before_floor", "floor_pays_them"
    assert points[before].max() > 0
    for row in points.iter_rows(named=True):
        single = allocate(with_values(formula, {axes[0].path: row[axes[0].path]}), data, prior)
        amounts = single.amounts
        last_year = single.inputs.join(prior, on="school_id", how="left")["prior"].fill_null(0).to_numpy()
        target = (amounts["_formula_total"] + amounts["_phase_in"]).to_numpy()
        losing = (target < (1 - threshold) * last_year) & (last_year > 0)
        assert row[before] == int(losing.sum())
        assert row[pays] == pytest.approx(float(amounts["_hold_harmless"].to_numpy()[losing].sum()), abs=0.005)
    assert "floor_pays_them" not in sweep(with_values(formula, {}, ("transition",)), data, axes, prior).columns


def test_glide_with_enrollment_growth_is_each_year_allocated_at_its_enrollment(example) -> None:
    formula, data, prior = example
    table, reached = glide(formula, data, prior, years=10, growth=Growth(0.02))
    assert 1 < reached < 10
    no_transition = with_values(formula, {}, ("transition",))
    grown = replace(data, frame=data.frame.with_columns((pl.col(c).cast(pl.Float64) * 1.02).round(6)
                                                          for c in [*data.pupil_columns, "enrollment", *formula.model.count_columns]
                                                          if c in data.frame.columns))
    assert table["enrollment_2"].to_list() == grown.frame["enrollment"].to_list()
    assert table["formula_2"].to_list() == allocate(no_transition, grown, None).cents["total"].to_list()
    year_1 = table.select("school_id", (pl.col("year_1") / 100).alias("prior"))
    if reached > 2:
        assert table["year_2"].to_list() == allocate(formula, grown, year_1).cents["total"].to_list()
    assert (table[f"year_{reached}"] == table[f"formula_{reached}"]).all()
    assert all(table[f"year_{y}"].sum() == 244_500_000_00 for y in range(1, reached + 1))  # the pot is held
    assert table[f"enrollment_{reached}"].sum() > data.frame["enrollment"].sum()

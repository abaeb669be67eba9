"""Scenarios: two formulas side by side, a weight swept over many values, a glide path.

A sweep runs every point at once: the points are cross-joined with the schools, the formula's
expressions read the swept rates as columns, and `wsf.solve` solves all points together. A
point therefore computes exactly what `wsf allocate` computes for that formula.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from wsf.allocate import Allocation, allocate, component_frame, prior_reference, rules, school_inputs
from wsf.errors import WsfError
from wsf.expressions import BASE, Params, components, fixed_keys, key_parts, lookup, scaled_keys
from wsf.formula import LoadedFormula, validate_formula
from wsf.inputs import SchoolData
from wsf.solve import fold, half_up, row_sums, solve

SOLVE_PATHS = ("pot.amount", "transition.max_loss", "transition.max_gain", "transition.gap_closure")
SWEEPABLE = re.compile(
    r"^(base\.[A-Za-z0-9-]+(\.weight)?|per_capita\.amount|base_adjustment\[\d+\]\.(rate|per_pupil)"
    r"|weights\.[a-z0-9_]+\.(weight|per_pupil|above_share)|foundations\.[a-z0-9_]+\.(amount|per_pupil_short|cap|cap_share_of_base)"
    r"|pot\.amount|transition\.(max_loss|max_gain|gap_closure))$"
)


# -- compare ------------------------------------------------------------------------------


def compare(a: Allocation, b: Allocation) -> pl.DataFrame:
    """Per school: totals under A and B, the change in dollars, per pupil and percent."""
    left = a.cents.select("school_id", "name", "enrollment", pl.col("total").alias("total_a"), pl.col("per_pupil").alias("per_pupil_a"))
    right = b.cents.select("school_id", pl.col("total").alias("total_b"), pl.col("per_pupil").alias("per_pupil_b"))
    joined = left.join(right, on="school_id", how="full", coalesce=True, validate="1:1")
    missing = joined.filter(pl.col("total_a").is_null() | pl.col("total_b").is_null())["school_id"].to_list()
    if missing:
        raise WsfError(f"schools allocated by one formula but not the other: {', '.join(missing[:5])}", fix="give both formulas the same schools")
    return joined.with_columns(
        (pl.col("total_b") - pl.col("total_a")).alias("change"),
        (pl.col("per_pupil_b") - pl.col("per_pupil_a")).alias("change_per_pupil"),
        pl.when(pl.col("total_a") != 0).then((pl.col("total_b") - pl.col("total_a")) / pl.col("total_a")).alias("change_percent"),
    )


def compare_summary(table: pl.DataFrame, threshold: float) -> dict[str, int]:
    return {
        "total_a": int(table["total_a"].sum()),
        "total_b": int(table["total_b"].sum()),
        "gaining": int((table["change_percent"] > threshold).sum()),
        "losing": int((table["change_percent"] < -threshold).sum()),
    }


# -- sweep --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    path: str
    values: np.ndarray


def parse_axis(text: str, formula: LoadedFormula) -> Axis:
    """`weights.english_learner.weight=0.1:0.5:41` -> 41 evenly spaced values, validated."""
    match = re.fullmatch(r"\s*([^=\s]+)\s*=\s*([-+0-9.e_]+):([-+0-9.e_]+):(\d+)\s*", text)
    if not match:
        raise WsfError(f"--vary {text!r} is not KEY=START:STOP:STEPS", key="--vary", fix="e.g. --vary weights.english_learner.weight=0.1:0.5:41")
    path, start, stop, steps = match.group(1), float(match.group(2)), float(match.group(3)), int(match.group(4))
    if not SWEEPABLE.match(path):
        raise WsfError(f"--vary: {path!r} is not a rate that can be swept", key="--vary",
                       fix="sweep a weight's weight/per_pupil/above_share, a base span, a base_adjustment, a foundation amount, pot.amount or a transition bound")
    try:
        current = lookup(formula.model, path)
    except (KeyError, AttributeError, IndexError):
        current = None
    if current is None:
        raise WsfError(f"--vary: the formula has no {path!r}", file=formula.path, key="--vary", fix="name a key the formula sets")
    if not 1 <= steps <= 100_000:
        raise WsfError("--vary: STEPS must be between 1 and 100,000", key="--vary")
    values = np.linspace(start, stop, steps)
    for value in (start, stop):  # every constraint is an interval, so the ends decide
        _with_value(formula, path, value)
    return Axis(path, values)


def _with_value(formula: LoadedFormula, path: str, value: float) -> None:
    """Validate the formula with one key set to `value`, as the user would have written it."""
    data = formula.model.model_dump(exclude_none=True)
    node = data
    parts = key_parts(path)
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    try:
        validate_formula(data, path=formula.path)
    except WsfError as error:
        raise WsfError(f"--vary {path}={value:g} makes the formula invalid: {error}", key="--vary") from None


def sweep(formula: LoadedFormula, schools: SchoolData, axes: list[Axis], prior: pl.DataFrame | None = None, threshold: float = 0.05) -> pl.DataFrame:
    """One row per point: the swept values, total, scale, schools losing more than `threshold`,
    hold-harmless cost, and the pupil-weighted CV and Gini of per-pupil amounts."""
    model = formula.model
    if model.rounding.per_span:
        raise WsfError("a sweep cannot reproduce per-span rounding", file=formula.path, key="rounding.per_span", fix="sweep a copy of the formula without per_span")
    grid = list(itertools.product(*(axis.values for axis in axes)))
    points = pl.DataFrame({f"_p{i}": [g[i] for g in grid] for i in range(len(axes))}, schema={f"_p{i}": pl.Float64 for i in range(len(axes))})
    n_points = points.height
    expression_axes = {a.path: pl.col(f"_p{i}") for i, a in enumerate(axes) if a.path not in SOLVE_PATHS}
    solve_axes = {a.path: points[f"_p{i}"].to_numpy() for i, a in enumerate(axes) if a.path in SOLVE_PATHS}
    if model.transition is not None and prior is None:
        raise WsfError("the formula has a [transition], which needs last year's allocations", file=formula.path, key="transition", fix="pass --prior FILE")
    has_prior = prior is not None
    inputs = school_inputs(schools, prior)
    n = inputs.height
    amounts = _amounts_by_point(model, inputs, points, schools.pupil_columns, expression_axes)
    variable = fold([amounts[k] for k in scaled_keys(model)], (n_points, n))
    fixed = fold([amounts[k] for k in fixed_keys(model)], (n_points, n))
    prior_amount, reference = prior_reference(model, inputs)
    solution = solve(formula.path, variable, fixed, rules(model, n_points, solve_axes), prior_amount, reference)
    final = solution.final
    enrollment = inputs["enrollment"].to_numpy().astype(float)

    if has_prior:
        last_year = np.nan_to_num(inputs["_prior"].to_numpy().astype(float), nan=0.0)[None, :]
    else:  # no prior: losses are measured against the formula as written
        last_year = allocate(formula, schools).amounts["_final_total"].to_numpy()[None, :]
    compared = last_year > 0
    losing = ((final < (1 - threshold) * last_year) & compared).sum(axis=1)
    if model.transition is not None:
        hold_harmless = row_sums(np.maximum(final - solution.target, 0.0))
    else:
        hold_harmless = row_sums(np.where(compared, np.maximum((1 - threshold) * last_year - final, 0.0), 0.0))
    unit = model.rounding.unit_cents
    if model.pot is not None and "pot.amount" not in solve_axes:
        total_cents = np.full(n_points, round(model.pot.amount * 100))
    elif "pot.amount" in solve_axes:
        total_cents = np.round(solve_axes["pot.amount"] * 100).astype(np.int64)
    else:
        total_cents = half_up(final * (100 / unit)).sum(axis=1).astype(np.int64) * unit  # whole units: the float sum is exact
    cv, gini = weighted_spread(final, enrollment)
    out = points.rename({f"_p{i}": a.path for i, a in enumerate(axes)}).with_columns(
        pl.Series("total", total_cents / 100),
        pl.Series("scale", solution.scale),
        pl.Series("gain_cap", solution.gain_cap if solution.gain_cap is not None else np.full(n_points, np.nan)),
        pl.Series(f"schools_losing_over_{threshold:.0%}", losing.astype(np.int64)),
        pl.Series("hold_harmless", np.round(hold_harmless, 2)),
        pl.Series("cv", cv),
        pl.Series("gini", gini),
    )
    return out if model.transition is not None or model.pot is not None else out.drop("gain_cap")


def _amounts_by_point(model, inputs: pl.DataFrame, points: pl.DataFrame, pupil_columns: tuple[str, ...],
                      swept: dict[str, pl.Expr]) -> dict[str, np.ndarray]:
    """Each component's dollars: per school (schools,) where no swept rate touches it, else per
    point and school (points, schools). Only the touched components are evaluated per point,
    on just the columns they read, gathered point-major (row p * n + i is school i at point p)."""
    n, n_points = inputs.height, points.height
    once = component_frame(model, Params(model), inputs.lazy(), pupil_columns).collect()
    amounts = {k: once[k].to_numpy() for k in once.columns if k != "school_id"}
    touched = [k for k in amounts if _touched(model, k, swept)]
    if not touched:
        return amounts
    reads = set().union(*(_reads(model, k, pupil_columns) for k in touched))
    tile = np.tile(np.arange(n), n_points)
    crossed = inputs.lazy().select([pl.col(c).gather(tile) for c in sorted(reads - {BASE})])
    crossed = crossed.with_columns(pl.Series(name, np.repeat(points[name].to_numpy(), n)) for name in points.columns)
    p = Params(model, swept)
    first, second = components(model, p, pupil_columns)
    crossed = crossed.with_columns(first) if BASE in touched else crossed.with_columns(pl.Series(BASE, amounts[BASE][tile]))
    crossed = crossed.with_columns([e for e in second if e.meta.output_name() in touched])
    per_point = crossed.select(touched).collect()
    return amounts | {k: per_point[k].to_numpy().reshape(n_points, n) for k in touched}


def _touched(model, key: str, swept: dict[str, pl.Expr]) -> bool:
    """Does sweeping these paths change this component? (Base rates reach weights on base.)"""
    on_base = any(path.startswith(("base.", "base_adjustment", "per_capita")) for path in swept)
    if key == BASE:
        return on_base
    if key in model.weights:
        weight = model.weights[key]
        return any(path.startswith(f"weights.{key}.") for path in swept) or (weight.weight is not None and on_base)
    foundation = model.foundations[key]
    return any(path.startswith(f"foundations.{key}.") for path in swept) or (foundation.cap_share_of_base is not None and on_base)


def _reads(model, key: str, pupil_columns: tuple[str, ...]) -> set[str]:
    """The input columns a component's expression reads."""
    if key == BASE:
        return set(pupil_columns)
    if key in model.weights:
        return {model.weights[key].column, "enrollment", BASE}
    when = model.foundations[key].when
    return {"enrollment", BASE} | ({"level"} if when is not None and when.level else set())


def weighted_spread(totals: np.ndarray, pupils: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pupil-weighted CV and Gini of per-pupil amounts, for each row (point) at once.

    Schools with no pupils have no per-pupil amount and are left out. Definitions as in the
    equity statistics: CV = sigma / mu; Gini = sum_i sum_j w_i w_j |x_i - x_j| / (2 W^2 mu),
    computed from each row sorted: sum_i w_i x_i (2 C_i - w_i - W) / (W sum_i w_i x_i), C the
    cumulative weight. (Statistics, not money: plain floating-point sums.)
    """
    keep = pupils > 0
    w = pupils[keep]
    dollars = totals[:, keep]
    x = dollars / w
    total_weight = w.sum()
    spent = dollars.sum(axis=1)
    mean = spent / total_weight
    cv = np.sqrt(((x - mean[:, None]) ** 2) @ w / total_weight) / mean  # two passes: E[x²] - μ² cancels
    # Gini: with w_i x_i = dollars_i, sum_i dollars_i (2 C_i - w_i - W) needs the sorted order
    # only for sum_i dollars_i C_i; the other two sums are the same in any order.
    ranked = np.array([dollars_row[order] @ np.cumsum(w[order]) for dollars_row, order in zip(dollars, _orders(x), strict=True)])
    gini = (2 * ranked - dollars @ w - total_weight * spent) / (total_weight * spent)
    return cv, gini


def _orders(x: np.ndarray):
    """Each row's ascending order. Neighbouring points differ a little, so each row is sorted
    starting from the previous row's order: nearly sorted input, which a stable sort takes in
    close to linear time."""
    order = np.argsort(x[0], kind="stable")
    for row in x:
        order = order[np.argsort(row[order], kind="stable")]
        yield order


# -- glide path ---------------------------------------------------------------------------


def glide(formula: LoadedFormula, schools: SchoolData, prior: pl.DataFrame, years: int) -> tuple[pl.DataFrame, int]:
    """Each school's amount year by year under the formula's transition until every school
    is at 100% of formula (to the cent), or until `years`, the year the phase-in ends at 100%.

    Enrollment and the formula are held at this year's. Returns the table and the year every
    school reached its formula amount."""
    model = formula.model
    if model.transition is None:
        raise WsfError("a glide path needs a [transition] in the formula", file=formula.path, fix="add [transition] (max_loss, max_gain or gap_closure)")
    at_formula = allocate(LoadedFormula(model=model.model_copy(update={"transition": None}), path=formula.path, sha256=formula.sha256), schools)
    target = at_formula.cents.select("school_id", pl.col("total").alias("formula"))
    last_year = prior.select("school_id", (pl.col("prior") * 100).round(0).cast(pl.Int64).alias("prior"))
    table = at_formula.cents.select("school_id", "name", "enrollment").join(last_year, on="school_id", how="left").join(target, on="school_id")
    last = prior.select("school_id", "prior", *[c for c in prior.columns if c == "prior_enrollment"])
    for year in range(1, years + 1):
        if year == years:
            cents = target.rename({"formula": f"year_{year}"})
        else:
            result = allocate(formula, schools, last)
            cents = result.cents.select("school_id", pl.col("total").alias(f"year_{year}"))
        table = table.join(cents, on="school_id")
        if (table[f"year_{year}"] == table["formula"]).all():
            return table, year
        last = cents.select("school_id", (pl.col(f"year_{year}") / 100).alias("prior"))
        if "prior_enrollment" in prior.columns:
            last = last.join(schools.frame.select("school_id", pl.col("enrollment").alias("prior_enrollment")), on="school_id")
    return table, years

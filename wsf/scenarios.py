"""Scenarios: two formulas side by side, a weight swept over many values, a glide path.

A sweep runs every point at once: the points are cross-joined with the schools, the formula's
expressions read the swept rates as columns, and `wsf.solve` solves all points together. A
point therefore computes exactly what `wsf allocate` computes for that formula.
"""

from __future__ import annotations

import itertools
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

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
    hold-harmless cost, and the pupil-weighted CV and Gini of per-pupil amounts.

    Points are independent, so they are taken in blocks small enough for a block's arrays
    (points x schools) to stay in the processor's cache, and the blocks run on every core.
    """
    model = formula.model
    if model.rounding.per_span:
        raise WsfError("a sweep cannot reproduce per-span rounding", file=formula.path, key="rounding.per_span", fix="sweep a copy of the formula without per_span")
    if model.transition is not None and prior is None:
        raise WsfError("the formula has a [transition], which needs last year's allocations", file=formula.path, key="transition", fix="pass --prior FILE")
    grid = list(itertools.product(*(axis.values for axis in axes)))
    points = pl.DataFrame({f"_p{i}": [g[i] for g in grid] for i in range(len(axes))}, schema={f"_p{i}": pl.Float64 for i in range(len(axes))})
    inputs = school_inputs(schools, prior)
    if prior is not None:
        last_year = np.nan_to_num(inputs["_prior"].to_numpy().astype(float), nan=0.0)
    else:  # no prior: losses are measured against the formula as written
        last_year = allocate(formula, schools).amounts["_final_total"].to_numpy()
    run = _Sweep(formula, inputs, points, axes, schools.pupil_columns, last_year, threshold)
    size = max(1, BLOCK_VALUES // max(inputs.height, 1))
    blocks = [slice(start, start + size) for start in range(0, points.height, size)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(run.block, blocks))
    columns = {key: np.concatenate([r[key] for r in results]) for key in results[0]}
    out = points.rename({f"_p{i}": a.path for i, a in enumerate(axes)}).with_columns(
        pl.Series("total", columns["total_cents"] / 100),
        pl.Series("scale", columns["scale"]),
        pl.Series("gain_cap", columns["gain_cap"]),
        pl.Series(f"schools_losing_over_{threshold:.0%}", columns["losing"]),
        pl.Series("hold_harmless", np.round(columns["hold_harmless"], 2)),
        pl.Series("cv", columns["cv"]),
        pl.Series("gini", columns["gini"]),
    )
    return out if model.transition is not None or model.pot is not None else out.drop("gain_cap")


BLOCK_VALUES = 400_000  # points x schools in a block: a few arrays of 3 MB, in cache


class _Sweep:
    """What every block shares: the components no swept rate touches, computed once."""

    def __init__(self, formula: LoadedFormula, inputs: pl.DataFrame, points: pl.DataFrame, axes: list[Axis],
                 pupil_columns: tuple[str, ...], last_year: np.ndarray, threshold: float) -> None:
        model = formula.model
        self.formula, self.inputs, self.points, self.pupil_columns = formula, inputs, points, pupil_columns
        self.swept = {a.path: pl.col(f"_p{i}") for i, a in enumerate(axes) if a.path not in SOLVE_PATHS}
        self.rules = rules(model, points.height, {a.path: points[f"_p{i}"].to_numpy() for i, a in enumerate(axes) if a.path in SOLVE_PATHS})
        once = component_frame(model, Params(model), inputs.lazy(), pupil_columns).collect()
        self.once = {k: once[k].to_numpy() for k in once.columns if k != "school_id"}
        self.touched = [k for k in self.once if _touched(model, k, self.swept)]
        reads = sorted(set().union(*(_reads(model, k, pupil_columns) for k in self.touched)) - {BASE})
        self.read_frame = inputs.select(reads) if BASE in self.touched else inputs.select(reads).with_columns(pl.Series(BASE, self.once[BASE]))
        self.prior, self.reference = prior_reference(model, inputs)
        self.pupils = inputs["enrollment"].to_numpy().astype(float)
        self.compared = last_year > 0
        self.loss_line = np.where(self.compared, (1 - threshold) * last_year, -np.inf)  # below it: losing more than threshold

    def block(self, rows: slice) -> dict[str, np.ndarray]:
        model = self.formula.model
        amounts = self.once | self._touched_amounts(self.points[rows])
        variable = fold([amounts[k] for k in scaled_keys(model)], self.inputs.height)
        fixed = fold([amounts[k] for k in fixed_keys(model)], self.inputs.height)
        block_rules = replace(self.rules, **{f: getattr(self.rules, f)[rows] for f in ("pot", "max_loss", "max_gain", "gap_closure") if getattr(self.rules, f) is not None})
        solution = solve(self.formula.path, variable, fixed, block_rules, self.prior, self.reference)
        final = solution.final
        target = solution.target if model.transition is not None else None
        statistics = np.empty((len(final), 5))
        order = None
        for i, row in enumerate(final):
            *statistics[i, :3], order = _spread(row, self.pupils, order)
            statistics[i, 3] = np.count_nonzero(row < self.loss_line)
            statistics[i, 4] = row_sums(np.maximum((row - target[i]) if target is not None else (self.loss_line - row), 0.0))
        unit = model.rounding.unit_cents
        if block_rules.pot is not None:
            total_cents = np.round(block_rules.pot * 100).astype(np.int64)
        else:
            total_cents = half_up(final * (100 / unit)).sum(axis=1).astype(np.int64) * unit  # whole units: the float sum is exact
        return {
            "total_cents": total_cents,
            "scale": solution.scale,
            "gain_cap": solution.gain_cap if solution.gain_cap is not None else np.full(len(final), np.nan),
            "losing": statistics[:, 3].astype(np.int64),
            "hold_harmless": statistics[:, 4],
            "cv": statistics[:, 0],
            "gini": statistics[:, 1],
        }

    def _touched_amounts(self, points: pl.DataFrame) -> dict[str, np.ndarray]:
        """The touched components' dollars, (points, schools): the points cross-joined with the
        columns they read, point-major (row p * n + i is school i at point p)."""
        if not self.touched:
            return {}
        model, n = self.formula.model, self.inputs.height
        first, second = components(model, Params(model, self.swept), self.pupil_columns)
        crossed = points.lazy().join(self.read_frame.lazy(), how="cross", maintain_order="left_right")
        if BASE in self.touched:
            crossed = crossed.with_columns(first)
        per_point = crossed.select([e for e in second if e.meta.output_name() in self.touched] + ([BASE] if BASE in self.touched else [])).collect()
        return {k: per_point[k].to_numpy().reshape(points.height, n) for k in self.touched}


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
    """Pupil-weighted CV and Gini of per-pupil amounts, for each row (point)."""
    cv, gini, order = np.empty(len(totals)), np.empty(len(totals)), None
    for i, row in enumerate(totals):
        cv[i], gini[i], _, order = _spread(row, pupils, order)
    return cv, gini


def _spread(dollars: np.ndarray, pupils: np.ndarray, order: np.ndarray | None) -> tuple[float, float, float, np.ndarray]:
    """CV and Gini of one point's per-pupil amounts, its spending, and their ascending order.

    Schools with no pupils have no per-pupil amount and are left out. Definitions as in the
    equity statistics: CV = sigma / mu; Gini = sum_i sum_j w_i w_j |x_i - x_j| / (2 W^2 mu),
    computed from the sorted row: sum_i w_i x_i (2 C_i - w_i - W) / (W sum_i w_i x_i), C the
    cumulative weight. (Statistics, not money: plain floating-point sums.) Neighbouring points
    differ a little, so `order`, the previous point's, leaves the row nearly sorted, which a
    stable sort takes in close to linear time.
    """
    if not pupils.all():
        keep = pupils > 0
        dollars, pupils = dollars[keep], pupils[keep]
    x = dollars / pupils
    order = x.argsort(kind="stable") if order is None else order.take(x.take(order).argsort(kind="stable"))
    x, w, spent_by_school = x.take(order), pupils.take(order), dollars.take(order)
    total_weight, spent = w.sum(), spent_by_school.sum()
    mean = spent / total_weight
    deviation = x - mean  # two passes: E[x²] - μ² cancels
    cv = np.sqrt(np.square(deviation, out=deviation) @ w / total_weight) / mean
    below = _running_total(w)  # C_i
    gini = (2 * (spent_by_school @ below) - spent_by_school @ w - total_weight * spent) / (total_weight * spent)
    return cv, gini, spent, order


def _running_total(pupils: np.ndarray) -> np.ndarray:
    """Cumulative pupils; whole counts are summed as integers (exact, and several times faster)."""
    whole = pupils.astype(np.int64)
    return (whole.cumsum() if (whole == pupils).all() else pupils.cumsum()).astype(float)


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

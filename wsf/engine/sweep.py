"""A sweep: one formula at many values of its rates, every point at once.

The points are cross-joined with the schools, the formula's expressions read the swept rates
as columns, and `wsf.engine.solve` solves all points together, so a point computes exactly what
`wsf allocate` computes for that formula.

Points are independent, so they are taken in blocks of consecutive points (one Polars query
each), handed to threads, one per core, as the threads free up. Each thread writes its blocks
into the same few buffers: a fresh multi-megabyte array per step would cost a page fault per
4 KiB, as much as the arithmetic on it. Block boundaries depend only on the number of points
and schools, never on the number of cores or on which thread took a block, so neither does a
byte of the output. Most of the time goes to sorting each point's schools for the Gini
(`Spread`).
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from wsf.data.schools import SchoolData
from wsf.engine.allocate import allocate, component_frame, per_pupil, prior_reference, rules, school_inputs
from wsf.engine.components import components, fixed_keys, rate_paths, scaled_keys, stages
from wsf.engine.params import BASE, BASE_PER_PUPIL, Params, key_parts
from wsf.engine.solve import Rules, Solution, fold, half_up, round_totals, row_sums, solve
from wsf.errors import WsfError
from wsf.formula.model import LoadedFormula, validate_formula

SOLVE_PATHS = ("pot.amount", "transition.max_loss", "transition.max_gain", "transition.gap_closure")
NUMBER = r"[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"  # what TOML and Python both read as a number
BLOCK_VALUES = 400_000  # points x schools in a block: one Polars query, buffers of 3.2 MB (larger measured slower)


@dataclass(frozen=True)
class Axis:
    path: str
    values: np.ndarray


def parse_axis(text: str, formula: LoadedFormula) -> Axis:
    """`weights.english_learner.weight=0.1:0.5:41` -> 41 evenly spaced values, validated."""
    match = re.fullmatch(r"\s*([^=\s]+)\s*=\s*({0}):({0}):(\d+)\s*".format(NUMBER), text)
    if not match:
        raise WsfError(f"{text!r} is not KEY=START:STOP:STEPS (START and STOP numbers such as 0.1 or 2e5, STEPS a whole number)",
                       key="--vary", fix="e.g. --vary weights.english_learner.weight=0.1:0.5:41")
    path, start, stop, steps = match.group(1), float(match.group(2)), float(match.group(3)), int(match.group(4))
    allowed = sweepable(formula.model)
    if path not in allowed:
        raise WsfError(f"the formula sets no rate {path!r} to sweep", file=formula.path, key="--vary",
                       fix=f"the rates of this formula are: {', '.join(allowed[:12])}{' ...' if len(allowed) > 12 else ''}")
    if not 1 <= steps <= 100_000:
        raise WsfError(f"STEPS must be between 1 and 100,000, got {steps:,}", key="--vary")
    values = np.linspace(start, stop, steps)
    for value in (start, stop):  # every constraint is an interval, so the ends decide
        _with_value(formula, path, value)
    return Axis(path, values)


def sweepable(model) -> list[str]:
    """The key paths a sweep may vary: every rate of a component, and the pot's and transition's."""
    solve = [p for p in SOLVE_PATHS if (model.pot is not None if p == "pot.amount" else
                                         model.transition is not None and getattr(model.transition, p.split(".")[1]) is not None)]
    return [*rate_paths(model), *solve]


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
        raise WsfError(f"{path}={value:g} makes the formula invalid: {error}", key="--vary") from None


def sweep(formula: LoadedFormula, schools: SchoolData, axes: list[Axis], prior: pl.DataFrame | None = None, threshold: float = 0.05) -> pl.DataFrame:
    """One row per point: the swept values, total, scale, schools losing more than `threshold`,
    hold-harmless cost, and the pupil-weighted CV and Gini of per-pupil amounts. With a
    transition, also the schools that would lose more than `threshold` before the floor (and the
    gain cap) and what the floor pays those schools: after the floor, a floor at or inside the
    threshold leaves no school losing more than it."""
    return _sweep(formula, schools, axes, prior, threshold, per_school=False)[0]


def sweep_per_school(formula: LoadedFormula, schools: SchoolData, axes: list[Axis], prior: pl.DataFrame | None = None,
                     threshold: float = 0.05) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The points (as `sweep`), and a long table, one row per point and school: the swept values,
    school_id, name, enrollment, the school's `amount` (cents, as `wsf allocate` rounds it at that
    point), its `change` from the formula as given (cents), `change_percent` and `per_pupil` (cents)."""
    out, cents = _sweep(formula, schools, axes, prior, threshold, per_school=True)
    inputs = school_inputs(schools, prior)
    written = allocate(formula, schools, prior).cents.select("school_id", pl.col("total").alias("_as_given"))
    roster = inputs.select("school_id", "name", "enrollment").join(written, on="school_id", how="left", maintain_order="left")
    enrollment = roster["enrollment"]
    if (enrollment == enrollment.round()).all():
        roster = roster.with_columns(pl.col("enrollment").cast(pl.Int64))
    long = (out.select([a.path for a in axes]).with_row_index("_point")
            .join(roster, how="cross", maintain_order="left_right")
            .with_columns(pl.Series("amount", cents.reshape(-1)))
            .with_columns((pl.col("amount") - pl.col("_as_given")).alias("change"))
            .with_columns(pl.when(pl.col("_as_given") != 0).then(pl.col("change") / pl.col("_as_given")).alias("change_percent"),
                          per_pupil("amount").alias("per_pupil"))
            .drop("_point", "_as_given"))
    return out, long


def _sweep(formula: LoadedFormula, schools: SchoolData, axes: list[Axis], prior: pl.DataFrame | None, threshold: float,
           per_school: bool) -> tuple[pl.DataFrame, np.ndarray | None]:
    model = formula.model
    paths = [axis.path for axis in axes]
    repeated = sorted({p for p in paths if paths.count(p) > 1})
    if repeated:
        raise WsfError(f"{repeated[0]} is varied twice", key="--vary", fix="give each key one --vary (its range can have any number of steps)")
    if model.rounding.by_line:
        rule = model.rounding.by_line
        raise WsfError(f"a sweep cannot reproduce lines rounded one by one ({rule})", file=formula.path, key=f"rounding.{rule}",
                       fix=f"sweep a copy of the formula without {rule}")
    if model.transition is not None and prior is None:
        raise WsfError("the formula has a [transition], which needs last year's allocations", file=formula.path, key="transition", fix="pass --prior FILE")
    grid = list(itertools.product(*(axis.values for axis in axes)))
    points = pl.DataFrame({f"_p{i}": [g[i] for g in grid] for i in range(len(axes))}, schema={f"_p{i}": pl.Float64 for i in range(len(axes))})
    plan = _Plan(formula, school_inputs(schools, prior), points, axes, schools.pupil_columns, threshold, per_school)
    size = max(1, BLOCK_VALUES // max(plan.schools, 1))
    blocks = [slice(start, min(start + size, points.height)) for start in range(0, points.height, size)]
    workers = min(cores(), len(blocks))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(plan.block, blocks))
    columns = {key: np.concatenate([r[key] for r in results]) for key in results[0]}
    cents = columns.pop("cents", None)
    out = points.rename({f"_p{i}": a.path for i, a in enumerate(axes)}).with_columns(
        pl.Series("total", columns["total_cents"] / 100),
        pl.Series("scale", columns["scale"]),
        pl.Series("gain_cap", columns["gain_cap"]),
        pl.Series(f"schools_losing_over_{threshold:.0%}", columns["losing"]),
        pl.Series("hold_harmless", np.round(columns["hold_harmless"], 2)),
        *([pl.Series(f"schools_losing_over_{threshold:.0%}_before_floor", columns["losing_before"]),
           pl.Series("floor_pays_them", np.round(columns["floor_pays_them"], 2))] if "losing_before" in columns else []),
        pl.Series("cv", columns["cv"]),
        pl.Series("gini", columns["gini"]),
    )
    # a cap exists only with a transition; where none binds, and where a measure is undefined, the cell is empty, not NaN
    out = out if model.transition is not None else out.drop("gain_cap")
    return out.with_columns(pl.col(pl.Float64).fill_nan(None)), cents


def cores() -> int:
    """The cores this process may run on (a container may allow fewer than the machine has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Buffers(threading.local):
    """Each thread's arrays (rows x schools), reused block after block."""

    def __init__(self) -> None:
        self._arrays: dict[tuple, np.ndarray] = {}

    def __call__(self, name: str, shape: tuple[int, int], dtype: type = float) -> np.ndarray:
        key = (name, shape[1], np.dtype(dtype))
        array = self._arrays.get(key)
        if array is None or len(array) < shape[0]:
            array = self._arrays[key] = np.empty(shape, dtype)
        return array[: shape[0]]


class _Plan:
    """What every block shares: the inputs, and the components no swept rate touches."""

    def __init__(self, formula: LoadedFormula, inputs: pl.DataFrame, points: pl.DataFrame, axes: list[Axis],
                 pupil_columns: tuple[str, ...], threshold: float, per_school: bool = False) -> None:
        model = formula.model
        self.per_school = per_school
        self.formula, self.points, self.schools = formula, points, inputs.height
        swept = {a.path: pl.col(f"_p{i}") for i, a in enumerate(axes) if a.path not in SOLVE_PATHS}
        self.rules = rules(model, points.height, {a.path: points[f"_p{i}"].to_numpy() for i, a in enumerate(axes) if a.path in SOLVE_PATHS})
        once = component_frame(model, Params(model), inputs.lazy(), pupil_columns).collect()
        self.once = {k: once[k].to_numpy() for k in once.columns if k != "school_id"}
        touched = [c for c in components(model) if c.moves_with(swept)]
        self.touched = [c.key for c in touched]
        base, per_pupil, rest = stages(model, Params(model, swept), pupil_columns, keys=set(self.touched))
        reads = inputs.select(sorted(set().union({"enrollment"}, *(c.reads(pupil_columns) for c in touched)) - {BASE, BASE_PER_PUPIL}))
        if BASE in self.touched:
            self.read_frame, self.stages = reads, [base, per_pupil, rest]
        else:  # the base and its amount per pupil are the same at every point: computed before the join;
            # a position's quantity may read a swept rate, so quantities come after it
            average, *quantities = per_pupil
            self.read_frame = reads.with_columns(pl.Series(BASE, self.once[BASE])).with_columns(average)
            self.stages = [quantities, rest] if quantities else [rest]
        self.prior, self.reference = prior_reference(model, inputs)
        if "_prior" in inputs.columns:
            last_year = inputs["_prior"].fill_null(0.0).to_numpy().astype(float)
        else:  # no prior: losses are measured against the formula as written, as `wsf allocate` computes it
            last_year = self.solve_points(self.once, rules(model), 1).final[0]
        self.loss_line = np.where(last_year > 0, (1 - threshold) * last_year, -np.inf)  # below it: losing more than threshold
        self.spread = Spread(inputs["enrollment"].to_numpy().astype(float), last_year)
        self.buffers = _Buffers()

    def solve_points(self, amounts: dict[str, np.ndarray], point_rules: Rules, points: int, buffers: _Buffers | None = None) -> Solution:
        """`wsf.engine.solve` on the components, as `allocate` calls it, in the thread's buffers."""
        model, shape = self.formula.model, (points, self.schools)
        space = buffers or (lambda name, shape: None)
        variable = fold([amounts[k] for k in scaled_keys(model)], self.schools, out=space("variable", shape))
        fixed = fold([amounts[k] for k in fixed_keys(model)], self.schools, out=space("fixed", shape))
        return solve(self.formula.path, variable, fixed, point_rules, self.prior, self.reference, out=space("variable", shape))  # in place

    def block(self, rows: slice) -> dict[str, np.ndarray]:
        model, shape, buffers = self.formula.model, (rows.stop - rows.start, self.schools), self.buffers
        block_rules = self.rules.select(rows)
        solution = self.solve_points(self.once | self._touched_amounts(self.points[rows], buffers), block_rules, shape[0], buffers)
        final = solution.final
        cv, gini = self.spread(final, buffers)
        work = buffers("scratch", shape)
        losing = np.count_nonzero(np.less(final, self.loss_line, out=buffers("flags", shape, bool)), axis=1)
        floor = {}
        if model.transition is not None:  # what the floor costs, as `wsf allocate` sums it
            lifted = np.maximum(final - solution.target, 0.0)
            before = np.less(solution.target, self.loss_line)  # losing more than the threshold before the floor (and the cap)
            floor = {"losing_before": np.count_nonzero(before, axis=1).astype(np.int64),
                     "floor_pays_them": row_sums(np.where(before, lifted, 0.0))}
            hold_harmless = row_sums(np.maximum(np.subtract(final, solution.target, out=work), 0.0, out=work), out=work)
        else:  # what a floor at the threshold would cost
            hold_harmless = np.maximum(np.subtract(self.loss_line, final, out=work), 0.0, out=work).sum(axis=1)
        unit = model.rounding.unit_cents
        if block_rules.pot is not None:
            total_cents = np.round(block_rules.pot * 100).astype(np.int64)
        else:  # whole units: the float sum is exact
            total_cents = half_up(np.multiply(final, 100 / unit, out=work), out=work).sum(axis=1).astype(np.int64) * unit
        per_school = {}
        if self.per_school:  # each school's cents as `allocate` rounds them: half up, or by largest remainder to the pot
            pot_units = None if block_rules.pot is None else np.round(block_rules.pot * 100).astype(np.int64) // unit
            per_school = {"cents": round_totals(final * (100 / unit), pot_units) * unit}
        return per_school | floor | {
            "total_cents": total_cents,
            "scale": solution.scale,
            "gain_cap": solution.gain_cap if solution.gain_cap is not None else np.full(shape[0], np.nan),
            "losing": losing.astype(np.int64),
            "hold_harmless": hold_harmless,
            "cv": cv,
            "gini": gini,
        }

    def _touched_amounts(self, points: pl.DataFrame, buffers: _Buffers) -> dict[str, np.ndarray]:
        """The touched components' dollars, (points, schools): the points cross-joined with the
        columns they read, point-major (row p * n + i is school i at point p)."""
        if not self.touched:
            return {}
        crossed = points.lazy().join(self.read_frame.lazy(), how="cross", maintain_order="left_right")
        for stage in self.stages:
            crossed = crossed.with_columns(stage)
        per_point = crossed.select(self.touched).collect()
        shape = (points.height, self.schools)
        return {k: np.concatenate([c.to_numpy() for c in per_point[k].get_chunks()], out=buffers(k, shape).reshape(-1)).reshape(shape) for k in self.touched}


# -- spread of per-pupil amounts ----------------------------------------------------------


def weighted_spread(totals: np.ndarray, pupils: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pupil-weighted CV and Gini of per-pupil amounts, for each row (point)."""
    return Spread(pupils)(totals, _Buffers())


class Spread:
    """Pupil-weighted CV and Gini of per-pupil amounts, many points at once.

    Schools with no pupils have no per-pupil amount and are left out. Definitions as in the
    equity statistics: CV = sigma / mu; Gini = sum_i sum_j w_i w_j |x_i - x_j| / (2 W^2 mu),
    computed from the ascending order: sum_i w_i x_i (2 C_i - w_i - W) / (W sum_i w_i x_i), C_i
    the pupils at or below school i. (Statistics, not money: plain floating-point sums.)

    Sorting is the cost. Each point is sorted starting from the previous point's order (the
    first of a block from a reference order): neighbouring points differ a little, so the row
    is nearly sorted, which a stable sort takes in close to linear time. The rest of a row's
    work is done while the row is in cache, a few array calls per row.
    """

    def __init__(self, pupils: np.ndarray, reference: np.ndarray | None = None) -> None:
        self.kept = None if pupils.all() else np.flatnonzero(pupils > 0)
        self.w = pupils if self.kept is None else pupils[self.kept]
        whole = self.w.astype(np.int64)
        self.counts = whole if (whole == self.w).all() else self.w  # whole pupils add up exactly, and faster, as integers
        self.total_weight = self.w.sum()
        if reference is None:
            self.start = np.arange(len(self.w))
        else:
            self.start = ((reference if self.kept is None else reference[self.kept]) / self.w).argsort(kind="stable")

    def __call__(self, totals: np.ndarray, buffers: _Buffers) -> tuple[np.ndarray, np.ndarray]:
        shape = (len(totals), len(self.w))
        dollars = totals if self.kept is None else np.take(totals, self.kept, axis=1, out=buffers("dollars", shape))
        x = np.divide(dollars, self.w, out=buffers("scratch", shape))
        row_shape = (1, shape[1])
        gathered, ascending, pupils, below = (buffers(name, row_shape, dtype)[0] for name, dtype in
                                              (("gathered", float), ("ascending", float), ("pupils", self.counts.dtype), ("below", self.counts.dtype)))
        ranked, order, orders = np.empty(shape[0]), self.start, buffers("order", (2, shape[1]), np.intp)
        for i, row in enumerate(x):  # (mode="wrap": the indices are in range, and "raise" copies through a buffer)
            perm = row.take(order, out=gathered, mode="wrap").argsort(kind="stable")
            order = order.take(perm, out=orders[i % 2], mode="wrap")  # the previous point's order is the other row
            self.counts.take(order, out=pupils, mode="wrap").cumsum(out=below)
            ranked[i] = gathered.take(perm, out=ascending, mode="wrap") @ np.multiply(pupils, below, out=below)
        spent = dollars.sum(axis=1)
        mean = spent / self.total_weight
        gini = (2 * ranked - dollars @ self.w - self.total_weight * spent) / (self.total_weight * spent)
        deviation = np.subtract(x, mean[:, None], out=x)  # two passes: E[x²] - μ² cancels
        cv = np.sqrt(np.square(deviation, out=deviation) @ self.w / self.total_weight) / mean
        return cv, gini

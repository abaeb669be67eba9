"""From school data and a formula to the allocation table, exact to the cent.

The steps, in order: formula components per school (Polars expressions) -> the pot solve
(one scale factor on the base and every weight that is a multiple of it) -> the transition
from last year's allocations (gap closure, a loss floor and a gain cap) -> rounding by largest
remainder, so components sum to each school's total and totals to the pot. The solves and the
rounding are `wsf.solve`'s, shared with scenario sweeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from wsf.errors import WsfError
from wsf.expressions import BASE, Params, components, fixed_keys, scaled_keys, share_counted, span_bases
from wsf.formula import Formula, LoadedFormula
from wsf.inputs import SchoolData
from wsf.solve import Rules, fold, round_totals, row_sums, solve, split
from wsf.tables import Table

TRANSITION = "transition"
LINES = ("_phase_in", "_hold_harmless", "_gain_cap")  # the transition, taken apart


@dataclass(frozen=True)
class Allocation:
    formula: LoadedFormula
    inputs: pl.DataFrame  # per school, sorted by school_id: the data (and `_prior`, `_prior_enrollment`)
    amounts: pl.DataFrame  # per school, unrounded: component dollars, `_formula_total`, `_final_total`, LINES
    cents: pl.DataFrame  # the allocation table with money as integer cents: the arithmetic truth
    scale: float
    gain_cap: float | None
    sources: tuple[Table, ...]

    @property
    def component_keys(self) -> list[str]:
        model = self.formula.model
        return ["base", *model.weights, *model.foundations, TRANSITION]

    @property
    def money_columns(self) -> list[str]:
        return [*self.component_keys, "total", "per_pupil"]

    @property
    def table(self) -> pl.DataFrame:
        """The allocation table of the spec, money as exact decimals (dollars and cents)."""
        return self.cents.with_columns(*[dollars(c) for c in self.money_columns])

    def summary(self) -> dict[str, float | int | None]:
        per_pupil = self.cents.filter(pl.col("per_pupil").is_not_null())["per_pupil"]
        return {
            "schools": self.cents.height,
            "pupils": float(self.cents["enrollment"].sum()),
            "total_cents": int(self.cents["total"].sum()),
            "scale": self.scale,
            "gain_cap": self.gain_cap,
            "per_pupil_min": per_pupil.min(),
            "per_pupil_median": None if per_pupil.is_empty() else int(per_pupil.median() + 0.5),  # to the cent, half up
            "per_pupil_max": per_pupil.max(),
            **{f"{line.strip('_')}_total": float(row_sums(self.amounts[line].to_numpy())) for line in LINES},
            "schools_held_harmless": int((self.amounts["_hold_harmless"] > 0.005).sum()) if "_hold_harmless" in self.amounts.columns else 0,
            "schools_capped": int((self.amounts["_gain_cap"] < -0.005).sum()) if "_gain_cap" in self.amounts.columns else 0,
        }


def dollars(column: str) -> pl.Expr:
    """Integer cents -> Decimal dollars, built from text: Polars' decimal division rounds."""
    cents = pl.col(column)
    whole = cents.abs()
    text = pl.concat_str(
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (whole // 100).cast(pl.String),
        pl.lit("."),
        (whole % 100).cast(pl.String).str.zfill(2),
    )
    return text.cast(pl.Decimal(20, 2)).alias(column)


def allocate(formula: LoadedFormula, schools: SchoolData, prior: pl.DataFrame | None = None, prior_source: Table | None = None) -> Allocation:
    model = formula.model
    _check_prior(formula, prior)
    inputs = school_inputs(schools, prior)
    amounts = component_frame(model, Params(model), inputs.lazy(), schools.pupil_columns).collect()
    if amounts.height != schools.frame.height:
        raise AssertionError("a school was lost or duplicated between input and allocation")
    prior_amount, reference = prior_reference(model, inputs)
    variable = fold([amounts[k].to_numpy() for k in scaled_keys(model)], amounts.height)
    fixed = fold([amounts[k].to_numpy() for k in fixed_keys(model)], amounts.height)
    solution = solve(formula.path, variable, fixed, rules(model), prior_amount, reference)
    scale = float(solution.scale[0])
    formula_total, target, final = solution.formula[0], solution.target[0], solution.final[0]
    amounts = amounts.with_columns(
        *[(pl.col(k) * scale) for k in scaled_keys(model)],
        pl.Series("_formula_total", formula_total),
        pl.Series("_final_total", final),
        pl.Series(TRANSITION, final - formula_total),
        pl.Series("_phase_in", target - formula_total),
        pl.Series("_hold_harmless", np.maximum(final - target, 0.0)),
        pl.Series("_gain_cap", np.minimum(final - target, 0.0)),
    )
    keys = ["base", *model.weights, *model.foundations, TRANSITION]
    unit = model.rounding.unit_cents
    if model.rounding.per_span:
        parts = _round_per_span(model, schools.pupil_columns, inputs, amounts, keys, scale, unit)
        totals = parts.sum(axis=1)
    else:
        pot_units = None if model.pot is None else np.array([round(model.pot.amount * 100) // unit])
        totals = round_totals(final[None, :] * (100 / unit), pot_units)[0]
        parts = split(amounts.select(keys).to_numpy() * (100 / unit), totals)
    enrollment = inputs["enrollment"]
    cents = inputs.select("school_id", "name").with_columns(
        (enrollment.cast(pl.Int64) if (enrollment == enrollment.round()).all() else enrollment).alias("enrollment"),
        *[pl.Series(k, parts[:, i] * unit) for i, k in enumerate(keys)],
        pl.Series("total", totals * unit),
    ).with_columns(
        pl.when(pl.col("enrollment") > 0)
        .then((pl.col("total") / pl.col("enrollment") + 0.5).floor().cast(pl.Int64))
        .otherwise(None)
        .alias("per_pupil")
    )
    cap = None if solution.gain_cap is None else float(solution.gain_cap[0])
    sources = (*schools.sources, *([prior_source] if prior_source else []))
    return Allocation(formula, inputs, amounts, cents, scale, cap, sources)


def _check_prior(formula: LoadedFormula, prior: pl.DataFrame | None) -> None:
    model = formula.model
    if model.transition is not None and prior is None:
        raise WsfError(
            "the formula has a [transition], which needs last year's allocations",
            file=formula.path,
            key="transition",
            fix="pass --prior FILE (columns school_id, prior), or remove [transition]",
        )
    if prior is not None and model.transition is None:
        raise WsfError(
            "prior allocations were given, but the formula has no [transition] to use them",
            file=formula.path,
            fix="add [transition] with max_loss (and max_gain), or leave out --prior",
        )
    if model.transition is not None and model.transition.basis == "per_pupil" and "prior_enrollment" not in prior.columns:
        raise WsfError(
            "transition.basis is per_pupil, so the prior allocations need last year's pupils",
            file=formula.path,
            key="transition.basis",
            fix="add a prior_enrollment column to the prior-allocation file",
        )


def school_inputs(schools: SchoolData, prior: pl.DataFrame | None) -> pl.DataFrame:
    """The school data in canonical order (by school_id), with last year's columns joined."""
    inputs = schools.frame.sort("school_id")
    if prior is None:
        return inputs
    renamed = prior.rename({c: f"_{c}" for c in prior.columns if c != "school_id"})
    return inputs.join(renamed, on="school_id", how="left", validate="1:1")


def component_frame(model: Formula, p: Params, frame: pl.LazyFrame, pupil_columns: tuple[str, ...]) -> pl.LazyFrame:
    """Unscaled component dollars per school, one column per formula key."""
    for stage in components(model, p, pupil_columns):
        frame = frame.with_columns(stage)
    return frame.select("school_id", "base", *model.weights, *model.foundations)


def rules(model: Formula, points: int = 1, swept: dict[str, np.ndarray] | None = None) -> Rules:
    """The solve parameters of each point: the formula's values, or the swept ones."""
    swept = swept or {}

    def value(path: str, default: float | None) -> np.ndarray | None:
        if path in swept:
            return swept[path]
        return None if default is None else np.full(points, float(default))

    transition = model.transition
    return Rules(
        pot=value("pot.amount", model.pot.amount if model.pot else None),
        max_loss=value("transition.max_loss", transition.max_loss) if transition else None,
        max_gain=value("transition.max_gain", transition.max_gain) if transition else None,
        gap_closure=value("transition.gap_closure", transition.gap_closure) if transition else None,
        transition=transition is not None,
    )


def prior_reference(model: Formula, inputs: pl.DataFrame) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Last year's amount per school, and what the floor and cap are fractions of."""
    if model.transition is None:
        return None, None
    prior = inputs["_prior"].fill_null(0.0).to_numpy().astype(float)
    if model.transition.basis == "total":
        return prior, prior
    pupils = inputs["_prior_enrollment"].fill_null(0.0).to_numpy().astype(float)
    per_pupil = np.divide(prior, pupils, out=np.zeros_like(prior), where=pupils > 0)
    prior = np.where(pupils > 0, prior, 0.0)  # no pupils last year: a new school for a per-pupil rule
    return prior, per_pupil * inputs["enrollment"].to_numpy()


def _round_per_span(model: Formula, pupil_columns, inputs: pl.DataFrame, amounts: pl.DataFrame, keys: list[str], scale: float, unit: int) -> np.ndarray:
    """CDE's rule: the base and each weight on it computed per grade span, each piece rounded
    half up, then summed; every other component rounded half up once. Totals are the sums."""
    to_units = 100 / unit
    p = Params(model)
    spans = [expr * scale for expr in span_bases(model, p, pupil_columns).values()]
    frame = pl.concat([inputs, amounts.select(pl.col(k).alias(f"_amount_{k}") for k in keys)], how="horizontal")
    rounded = []
    for key in keys:
        weight = model.weights.get(key)
        if key == BASE:
            pieces = spans
        elif weight is not None and weight.weight is not None and weight.of is None:
            pieces = [p(f"weights.{key}.weight") * share_counted(p, key, weight) * span for span in spans]
        else:
            pieces = [pl.col(f"_amount_{key}")]
        rounded.append(pl.sum_horizontal([_half_up(piece * to_units) for piece in pieces]).alias(key))
    return frame.select(rounded).to_numpy().astype(np.int64)


def _half_up(units: pl.Expr) -> pl.Expr:
    return (units.round(6) + 0.5).floor()

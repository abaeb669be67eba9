"""From school data and a formula to the allocation table, exact to the cent.

The steps, in order: formula components per school (Polars expressions) -> the pot solve
(one scale factor on the base and every weight that is a multiple of it) -> the transition
from last year's allocations (gap closure, a loss floor and a gain cap) -> rounding by largest
remainder, so components sum to each school's total and totals to the pot. The solves and the
rounding are `wsf.engine.solve`'s, shared with scenario sweeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from wsf.data.schools import Prior, SchoolData
from wsf.data.tables import Table
from wsf.engine.components import components, fixed_keys, scaled_keys, stages
from wsf.engine.components.base import span_bases
from wsf.engine.components.positions import FTE
from wsf.engine.params import Params
from wsf.engine.solve import Rules, fold, half_up, round_totals, row_sums, solve, split
from wsf.errors import WsfError
from wsf.formula.model import Formula, LoadedFormula

TRANSITION = "transition"
LINES = ("_phase_in", "_hold_harmless", "_gain_cap")  # the transition, taken apart
MICRO = 1_000_000  # fractional pupils (ADA) are exact to a millionth
MAX_CENTS = 10**14  # $1 trillion: a district total beyond it is a typo, and beyond ~$90 trillion floats lose cents


@dataclass(frozen=True)
class Allocation:
    formula: LoadedFormula
    inputs: pl.DataFrame  # per school, sorted by school_id: the data (and `_prior`, `_prior_enrollment`)
    amounts: pl.DataFrame  # per school, unrounded: component dollars, `_formula_total`, `_final_total`, LINES
    cents: pl.DataFrame  # the allocation table with money as integer cents: the arithmetic truth
    pieces: pl.DataFrame  # per school, cents: the transition taken apart (LINES, without "_"), summing to its line
    scale: float
    gain_cap: float | None
    sources: tuple[Table, ...]
    new_schools: tuple[str, ...] = ()  # with a transition: schools said to be new (funded at formula)
    no_prior_row: tuple[str, ...] = ()  # with a transition: schools the prior file does not list (funded at formula as new)
    pupil_columns: tuple[str, ...] = ()  # the inputs' pupil columns (grades, spans, or enrollment)

    @cached_property
    def schools_capped(self) -> int:
        return int((self.pieces["gain_cap"] < 0).sum())

    @property
    def component_keys(self) -> list[str]:
        model = self.formula.model
        return [*model.line_keys, TRANSITION]

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
            **{f"{line.strip('_')}_total": float(row_sums(self.amounts[line].to_numpy())) for line in LINES},  # exact, as a sweep reports it
            **{f"{line.strip('_')}_cents": int(self.pieces[line.strip("_")].sum()) for line in LINES},  # the schools' rounded lines
            "schools_phased_in": int((self.pieces["phase_in"] != 0).sum()),
            "schools_held_harmless": int((self.pieces["hold_harmless"] > 0).sum()),
            "schools_capped": self.schools_capped,
        }


def table_columns(model: Formula) -> list[str]:
    """The allocation table's columns in order: a position's quantity stands before its dollars."""
    quantities = set(model.quantity_columns)
    lines = [c for k in model.line_keys for c in ((k + FTE, k) if k + FTE in quantities else (k,))]
    return ["school_id", "name", "enrollment", *lines, TRANSITION, "total", "per_pupil"]


def per_pupil(cents: str, enrollment: str = "enrollment") -> pl.Expr:
    """Cents per pupil, rounded half up in exact integer arithmetic (null without pupils).

    Fractional enrollment (ADA) is taken to a millionth of a pupil, so 500,002,776 cents over
    300.16 ADA is exactly 1,665,787.5 and rounds up, where a float division gives 1,665,787.4999.
    """
    pupils = (pl.col(enrollment).cast(pl.Float64) * MICRO).round(0).cast(pl.Int128)
    amount = pl.col(cents).cast(pl.Int128) * MICRO
    return pl.when(pupils > 0).then(((2 * amount + pupils) // (2 * pupils)).cast(pl.Int64)).otherwise(None)


def round_allocation(model: Formula, parts: np.ndarray, formula_total: np.ndarray, final: np.ndarray, unit: int) -> tuple[np.ndarray, np.ndarray]:
    """Whole units per school: the totals, and the components (the formula's, then the transition).

    Totals are rounded half up, or with a pot by largest remainder so they sum to it. The
    transition is rounded as an allocation of its own: without a pot, the rounded total minus
    the rounded formula amount; with one, by largest remainder to its exact sum, so where the
    transition only moves money between schools its column sums to exactly zero, and a school
    it does not touch gets no cent of it. The formula's components are split to what remains.
    """
    to_units = 100 / unit
    pot_units = None if model.pot is None else np.array([round(model.pot.amount * 100) // unit])
    totals = round_totals(final[None, :] * to_units, pot_units)[0]
    if model.transition is None:
        moved = np.zeros(len(totals), dtype=np.int64)
    elif pot_units is None:
        moved = totals - round_totals(formula_total[None, :] * to_units, None)[0]
    else:
        exact = (final - formula_total)[None, :] * to_units
        moved = round_totals(exact, half_up(np.round(row_sums(exact), 6)).astype(np.int64))[0]
    fixed = np.array([k in model.positions for k in model.line_keys], dtype=bool)
    units, residual = split(parts * to_units, totals - moved, fixed)
    if residual.any():  # a school with no line that may take a unit: the transition takes it, or else any free line
        if model.transition is not None:
            moved = moved + residual
        else:  # a school of positions and zeros only: its first line that is not a position
            units[:, int(np.argmax(~fixed)) if (~fixed).any() else 0] += residual
    return totals, np.column_stack([units, moved])


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


def allocate(formula: LoadedFormula, schools: SchoolData, prior: Prior | pl.DataFrame | None = None, prior_source: Table | None = None) -> Allocation:
    model = formula.model
    if isinstance(prior, pl.DataFrame):
        prior = Prior(prior, prior_source)
    _check_prior(formula, prior.frame if prior is not None else None)
    inputs = school_inputs(schools, prior.frame if prior is not None else None)
    amounts = component_frame(model, Params(model), inputs.lazy(), schools.pupil_columns).collect()
    if amounts.height != schools.frame.height:
        raise AssertionError("a school was lost or duplicated between input and allocation")
    prior_amount, reference = prior_reference(model, inputs)
    variable = fold([amounts[k].to_numpy() for k in scaled_keys(model)], amounts.height)
    fixed = fold([amounts[k].to_numpy() for k in fixed_keys(model)], amounts.height)
    solution = solve(formula.path, variable, fixed, rules(model), prior_amount, reference)
    scale = float(solution.scale[0])
    formula_total, target, final = solution.formula[0], solution.target[0], solution.final[0]
    new_schools, no_prior_row = check_priors(formula, inputs, formula_total, prior) if prior is not None else ((), ())
    amounts = amounts.with_columns(
        *[(pl.col(k) * scale) for k in scaled_keys(model)],
        pl.Series("_formula_total", formula_total),
        pl.Series("_final_total", final),
        pl.Series(TRANSITION, final - formula_total),
        pl.Series("_phase_in", target - formula_total),
        pl.Series("_hold_harmless", np.maximum(final - target, 0.0)),
        pl.Series("_gain_cap", np.minimum(final - target, 0.0)),
    )
    keys = [*model.line_keys, TRANSITION]
    unit = model.rounding.unit_cents
    _check_magnitude(formula, inputs, final, formula_total)
    if model.rounding.by_line:
        parts = _round_by_line(model, schools.pupil_columns, inputs, amounts, keys, scale, unit)
        totals = parts.sum(axis=1)
    else:
        totals, parts = round_allocation(model, amounts.select(keys[:-1]).to_numpy(), formula_total, final, unit)
    enrollment = inputs["enrollment"]
    cents = inputs.select("school_id", "name").with_columns(
        (enrollment.cast(pl.Int64) if (enrollment == enrollment.round()).all() else enrollment).alias("enrollment"),
        *[pl.Series(k, parts[:, i] * unit) for i, k in enumerate(keys)],
        *[amounts[q] for q in model.quantity_columns],
        pl.Series("total", totals * unit),
    ).with_columns(per_pupil("total").alias("per_pupil")).select(table_columns(model))
    steps, residual = split(amounts.select(LINES).to_numpy() * (100 / unit), parts[:, -1])
    steps[:, 0] += residual  # a transition of a cent or two that no step of it explains: the first step's
    pieces = inputs.select("school_id").with_columns(pl.Series(line.strip("_"), column * unit) for line, column in zip(LINES, steps.T))
    cap = None if solution.gain_cap is None or np.isnan(solution.gain_cap[0]) else float(solution.gain_cap[0])
    sources = (*schools.sources, *([prior.table] if prior is not None and prior.table is not None else []))
    return Allocation(formula, inputs, amounts, cents, pieces, scale, cap, sources, new_schools, no_prior_row, schools.pupil_columns)


def _check_magnitude(formula: LoadedFormula, inputs: pl.DataFrame, *amounts: np.ndarray) -> None:
    """Refuse amounts no district has: beyond $1 trillion, floats stop being exact to the cent."""
    for values in amounts:
        cents = np.abs(values) * 100
        if np.isfinite(cents).all() and cents.max(initial=0) <= MAX_CENTS and row_sums(cents[None, :])[0] <= MAX_CENTS:
            continue
        worst = int(np.argmax(np.where(np.isfinite(cents), cents, np.inf)))
        raise WsfError(
            f"school {inputs['school_id'][worst]} would receive ${values[worst]:,.2f} and the district more than "
            f"${MAX_CENTS / 100:,.0f}, the most wsf computes exactly to the cent",
            file=formula.path,
            fix="check the rates (dollars, not cents) and the enrollment columns (pupils, not dollars)",
        )


SUSPECT = 3.0  # a prior more than 3 times this year's formula amount, or less than a third of it, is a typo until said otherwise


def check_priors(formula: LoadedFormula, inputs: pl.DataFrame, formula_total: np.ndarray, prior: Prior) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Last year's amounts a person should look at: a prior far from this year's formula amount is
    refused (a prior missing two zeros makes one school pay for the whole loss floor) unless
    accepted; schools without a prior row are named. Returns (said to be new, without a row)."""
    model = formula.model
    ids = inputs["school_id"]
    listed = set(prior.frame["school_id"].to_list())
    amount = inputs["_prior"].fill_null(0.0).to_numpy().astype(float)
    if model.transition is not None and model.transition.basis == "per_pupil":
        last = inputs["_prior_enrollment"].fill_null(0.0).to_numpy().astype(float)
        now = inputs["enrollment"].to_numpy().astype(float)
        mine = np.divide(amount, last, out=np.zeros_like(amount), where=last > 0)
        theirs = np.divide(formula_total, now, out=np.zeros_like(amount), where=now > 0)
        basis = " per pupil"
    else:
        mine, theirs, basis = amount, formula_total, ""
    ratio = np.divide(mine, theirs, out=np.ones_like(mine), where=(mine > 0) & (theirs > 0))
    far = (ratio > SUSPECT) | (ratio < 1 / SUSPECT)
    suspect = [i for i in np.flatnonzero(far) if ids[int(i)] not in prior.accepted]
    if suspect:
        shown = "; ".join(
            f"{ids[int(i)]} {inputs['name'][int(i)] or ''}: prior {_dollars(mine[i])}{basis}, formula {_dollars(theirs[i])}{basis} "
            f"({_times(ratio[i])})" for i in suspect[:5])
        more = f" and {len(suspect) - 5} more" if len(suspect) > 5 else ""
        raise WsfError(
            f"{len(suspect)} school{'s have priors' if len(suspect) > 1 else ' has a prior'} more than {SUSPECT:g} times, or less than "
            f"a third of, this year's formula amount: {shown}{more}",
            file=prior.table.path if prior.table is not None else None,
            key="column prior",
            fix="correct the prior (a digit or two zeros missing?); if it is right, say so with --accept-prior SCHOOL_ID",
        )
    new = tuple(i for i in ids.to_list() if i in prior.new)
    return new, tuple(i for i in ids.to_list() if i not in listed and i not in prior.new)


def _dollars(value: float) -> str:
    return f"${value:,.2f}"


def _times(ratio: float) -> str:
    return f"{ratio:,.1f} times the formula" if ratio >= 1 else f"{ratio:.1%} of the formula"


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
    for stage in stages(model, p, pupil_columns):
        frame = frame.with_columns(stage)
    return frame.select("school_id", *(c.key for c in components(model)), *model.quantity_columns)


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


def _round_by_line(model: Formula, pupil_columns, inputs: pl.DataFrame, amounts: pl.DataFrame, keys: list[str], scale: float, unit: int) -> np.ndarray:
    """The lines rounded one by one, as a published formula rounds them; totals are the sums.

    `per_line` (SFUSD): every component, from its unrounded rate, rounded half up on its own, so
    a line is round(rate x count) whatever the other lines are. `per_span` (CDE): the base and
    each weight on it computed per grade span, each piece rounded half up, then summed; every
    other component rounded half up once. Which pieces a component has is its own business
    (`per_span`). The transition, if any, is a line of its own here too."""
    to_units = 100 / unit
    p = Params(model)
    spans = [expr * scale for expr in span_bases(model, p, pupil_columns).values()] if model.rounding.per_span else []
    frame = pl.concat([inputs, amounts.select(pl.col(k).alias(f"_amount_{k}") for k in keys)], how="horizontal")
    by_key = {c.key: c for c in components(model)} if model.rounding.per_span else {}
    rounded = []
    for key in keys:
        pieces = by_key[key].per_span(p, spans) if key in by_key else None
        pieces = pieces if pieces is not None else [pl.col(f"_amount_{key}")]
        rounded.append(pl.sum_horizontal([_half_up(piece * to_units) for piece in pieces]).alias(key))
    return frame.select(rounded).to_numpy().astype(np.int64)


def _half_up(units: pl.Expr) -> pl.Expr:
    return (units.round(6) + 0.5).floor()

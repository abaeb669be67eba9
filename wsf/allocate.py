"""From school data and a formula to the allocation table, exact to the cent.

The steps, in order: formula components per school (Polars expressions) -> the pot solve
(one scale factor on the base and every weight that is a multiple of it) -> the transition
from last year's allocations (a loss floor and a gain cap, solved to keep the pot) -> rounding
by largest remainder, so components sum to each school's total and totals to the pot.

The solves and the rounding are vectorised over schools (NumPy); no loop visits a school.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from wsf.errors import WsfError
from wsf.expressions import BASE, components, fixed_keys, scaled_keys, share_counted, span_bases
from wsf.formula import LoadedFormula
from wsf.inputs import SchoolData
from wsf.tables import Table

TRANSITION = "transition"
BISECTIONS = 200


@dataclass(frozen=True)
class Allocation:
    formula: LoadedFormula
    inputs: pl.DataFrame  # per school, sorted by school_id: the data (and `_prior`)
    amounts: pl.DataFrame  # per school, unrounded: component dollars, `_formula_total`, `_final_total`
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
            "per_pupil_median": per_pupil.median(),
            "per_pupil_max": per_pupil.max(),
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
    inputs = schools.frame.sort("school_id")
    if prior is not None:
        inputs = inputs.join(prior.rename({"prior": "_prior"}), on="school_id", how="left", validate="1:1")
    frame = inputs.lazy()
    for stage in components(model, schools.pupil_columns):
        frame = frame.with_columns(stage)
    scaled, fixed = scaled_keys(model), fixed_keys(model)
    keys = ["base", *model.weights, *model.foundations]
    amounts = frame.select(
        "school_id",
        *keys,
        pl.sum_horizontal(scaled).alias("_variable"),
        (pl.sum_horizontal(fixed) if fixed else pl.lit(0.0)).alias("_fixed"),
    ).collect()
    if amounts.height != schools.frame.height:
        raise AssertionError("a school was lost or duplicated between input and allocation")

    variable = amounts["_variable"].to_numpy()
    fixed_amount = amounts["_fixed"].to_numpy()
    scale = _solve_scale(formula, variable, fixed_amount)
    gain_cap = None
    final = scale * variable + fixed_amount
    if model.transition is not None:
        scale, gain_cap, final = _transition(formula, variable, fixed_amount, scale, inputs["_prior"].to_numpy())
    amounts = amounts.with_columns(
        *[(pl.col(k) * scale) for k in scaled],
        pl.Series("_formula_total", scale * variable + fixed_amount),
        pl.Series("_final_total", final),
    ).with_columns((pl.col("_final_total") - pl.col("_formula_total")).alias(TRANSITION))

    keys.append(TRANSITION)
    unit = model.rounding.unit_cents
    if model.rounding.per_span:
        split = _round_per_span(model, schools.pupil_columns, inputs, amounts, keys, scale, unit)
        totals = split.sum(axis=1)
    else:
        parts = amounts.select(keys).to_numpy() * (100 / unit)
        pot_units = None if model.pot is None else round(model.pot.amount * 100) // unit
        totals = _round_totals(parts.sum(axis=1), pot_units)
        split = _split(parts, totals)
    split = split * unit
    enrollment = inputs["enrollment"]
    cents = inputs.select("school_id", "name").with_columns(
        (enrollment.cast(pl.Int64) if (enrollment == enrollment.round()).all() else enrollment).alias("enrollment"),
        *[pl.Series(k, split[:, i]) for i, k in enumerate(keys)],
        pl.Series("total", totals * unit),
    ).with_columns(
        pl.when(pl.col("enrollment") > 0)
        .then((pl.col("total") / pl.col("enrollment") + 0.5).floor().cast(pl.Int64))
        .otherwise(None)
        .alias("per_pupil")
    )
    sources = (*schools.sources, *([prior_source] if prior_source else []))
    return Allocation(formula, inputs, amounts, cents, float(scale), gain_cap, sources)


def _round_per_span(model, pupil_columns, inputs: pl.DataFrame, amounts: pl.DataFrame, keys: list[str], scale: float, unit: int) -> np.ndarray:
    """CDE's rule: the base and each weight on it computed per grade span, each piece rounded
    half up, then summed; every other component rounded half up once. Totals are the sums."""
    to_units = 100 / unit
    spans = [expr * scale for expr in span_bases(model, pupil_columns).values()]
    frame = pl.concat([inputs, amounts.select(pl.col(k).alias(f"_amount_{k}") for k in keys)], how="horizontal")
    rounded = []
    for key in keys:
        weight = model.weights.get(key)
        if key == BASE:
            pieces = spans
        elif weight is not None and weight.weight is not None and weight.of is None:
            pieces = [weight.weight * share_counted(weight) * span for span in spans]
        else:
            pieces = [pl.col(f"_amount_{key}")]
        rounded.append(pl.sum_horizontal([_half_up(piece * to_units) for piece in pieces]).alias(key))
    return frame.select(rounded).to_numpy().astype(np.int64)


def _half_up(units: pl.Expr) -> pl.Expr:
    return (units.round(6) + 0.5).floor()


def _solve_scale(formula: LoadedFormula, variable: np.ndarray, fixed: np.ndarray) -> float:
    pot = formula.model.pot
    if pot is None:
        return 1.0
    fixed_total = float(fixed.sum())
    if fixed_total > pot.amount:
        raise WsfError(
            f"the fixed parts (per-pupil weights and foundations) cost ${fixed_total:,.2f}, "
            f"more than the pot of ${pot.amount:,.2f}",
            file=formula.path,
            key="pot.amount",
            fix="raise pot.amount, or lower the foundations and per_pupil weights",
        )
    variable_total = float(variable.sum())
    if variable_total <= 0:
        raise WsfError(
            "nothing in the formula scales with the base (no pupils?), so the pot cannot be met",
            file=formula.path,
            key="pot",
            fix="check the enrollment columns, or remove [pot]",
        )
    return (pot.amount - fixed_total) / variable_total


def _transition(formula: LoadedFormula, variable: np.ndarray, fixed: np.ndarray, scale: float, prior: np.ndarray) -> tuple[float, float | None, np.ndarray]:
    """Loss floor and gain cap against last year. Returns (scale, gain cap, final totals).

    Schools with no prior (or a prior of 0) are new: they get their formula amount. With a
    pot and no explicit `max_gain`, the gain cap is solved so the floor is paid by the gains;
    with a pot and an explicit `max_gain`, both bounds are fixed and the base scale is
    re-solved so the transitioned total is the pot.
    """
    model = formula.model
    rules = model.transition
    assert rules is not None
    prior = np.nan_to_num(prior.astype(float), nan=0.0)
    old = prior > 0
    floor = np.where(old, (1 - rules.max_loss) * prior, -np.inf)

    def bounded(amount: np.ndarray, cap: float) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            ceiling = np.where(old, (1 + cap) * prior, np.inf)
        return np.maximum(floor, np.minimum(amount, ceiling))

    if model.pot is None:
        cap = rules.max_gain if rules.max_gain is not None else np.inf
        return scale, rules.max_gain, bounded(scale * variable + fixed, cap)
    pot = model.pot.amount
    if rules.max_gain is None:
        amount = scale * variable + fixed
        if float(np.where(old, floor, amount).sum()) > pot:
            raise WsfError(
                "the loss floor alone costs more than the pot",
                file=formula.path,
                key="transition.max_loss",
                fix="raise max_loss (allow larger losses) or raise pot.amount",
            )
        top = float(np.max(np.where(old, amount / np.where(old, prior, 1.0), 0.0), initial=0.0))
        cap = _bisect(lambda g: float(bounded(amount, g).sum()) - pot, -1.0, max(top, 0.0))
        return scale, cap, bounded(amount, cap)
    cap = rules.max_gain

    def spent(s: float) -> float:
        return float(bounded(s * variable + fixed, cap).sum())

    high = max(scale, 1.0)
    for _ in range(64):
        if spent(high) >= pot:
            break
        high *= 2
    if spent(0.0) > pot or spent(high) < pot:
        raise WsfError(
            f"with max_loss {rules.max_loss:g} and max_gain {cap:g} no base scale spends the pot exactly",
            file=formula.path,
            key="transition.max_gain",
            fix="remove max_gain to have the gain cap solved from the pot, or widen the bounds",
        )
    scale = _bisect(lambda s: spent(s) - pot, 0.0, high)
    return scale, cap, bounded(scale * variable + fixed, cap)


def _bisect(excess, low: float, high: float) -> float:
    """Smallest x in [low, high] with excess(x) >= 0, for a nondecreasing excess."""
    for _ in range(BISECTIONS):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if excess(middle) >= 0:
            high = middle
        else:
            low = middle
    return high


def _round_totals(totals: np.ndarray, pot_units: int | None) -> np.ndarray:
    """Whole units per school: half up, or by largest remainder so they sum to the pot."""
    totals = np.round(totals, 6)  # float noise below a millionth of a unit is not money
    if pot_units is None:
        return np.floor(totals + 0.5).astype(np.int64)
    floors = np.floor(totals).astype(np.int64)
    short = pot_units - int(floors.sum())
    if not 0 <= short <= len(totals):
        raise AssertionError(f"rounding to the pot is off by {short} units")
    order = np.lexsort((np.arange(len(totals)), -(totals - floors)))
    floors[order[:short]] += 1
    return floors


def _split(parts: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Round each school's components so they sum exactly to its rounded total."""
    parts = np.round(parts, 6)
    floors = np.floor(parts).astype(np.int64)
    short = totals - floors.sum(axis=1)
    if parts.size and ((short < 0) | (short > parts.shape[1])).any():
        raise AssertionError("component rounding cannot reach a school's total")
    order = np.argsort(-(parts - floors), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(parts.shape[1])[None, :].repeat(len(parts), axis=0), axis=1)
    return floors + (rank < short[:, None])

"""Equity analysis: the formula's amount for every school against what it spends today.

In: an `Allocation` (the formula) and a `Spending` (today). Out: an `Equity` with

- `schools`: one row per school, money as integer cents, so every gap is exact:
  `formula` is the school's amount at full formula (the allocation's total before the
  transition line), `current` today's spending, `gap = formula - current` (positive: the
  school gains), per-pupil amounts rounded half up to the cent, `gap_per_pupil` the
  difference of the two rounded per-pupil amounts, `percent_of_formula = 100 x current /
  formula`, and `rank` (1 = the largest gain per pupil). `allocation` and `transition` are
  this year's amount with the transition and the transition line itself.
- `statistics`: `measure, current, formula`, the measures of docs/equity.md over the schools
  that have pupils and both amounts, each school weighted by its pupils;
- `bands`: the schools in deciles (or quintiles) of poverty share, with pupil-weighted mean
  per-pupil dollars today and under the formula;
- `vertical`: the weights the formula gives to need, next to the weights implied by a
  regression of per-pupil dollars on need shares, today and under the formula.

A school in the school data with no current spending, or spending for a school the data does
not know, is an error naming them; with `allow_missing` they are listed in `missing` and
kept in `schools` with a `missing` note, outside every statistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from wsf.data.spending import Spending
from wsf.engine.allocate import TRANSITION, Allocation, per_pupil
from wsf.equity import measures
from wsf.errors import WsfError

MEASURES = (
    "range",
    "restricted_range",
    "federal_range_ratio",
    "cv",
    "mcloone",
    "verstegen",
    "gini",
    "theil",
    "correlation_poverty",
    "slope_poverty",
    "elasticity_poverty",
)
DOLLAR_MEASURES = {
    "range",
    "restricted_range",
    "slope_poverty",
    "mean",
    "median",
    "p5",
    "p95",
    "min",
    "max",
    "vertical_intercept",
    "total",
}
SPED = "sped"  # the names of the need shares in vertical.csv and statistics.csv
EL = "el"
SERIES = ("current", "formula")
POVERTY_STEP = 0.10  # the slope is reported per 10 percentage points more poverty: slope x 0.10
NO_CURRENT = "no current spending"
NOT_IN_DATA = "not in the school data"


@dataclass(frozen=True)
class Equity:
    allocation: Allocation
    spending: Spending
    poverty: str
    band_count: int
    schools: pl.DataFrame
    statistics: pl.DataFrame
    bands: pl.DataFrame
    vertical: pl.DataFrame
    missing: pl.DataFrame  # school_id, name, missing
    no_pupils: pl.DataFrame  # school_id, name: left out of every per-pupil statistic
    lines: dict[str, measures.Neutrality]  # per series: the pupil-weighted line on poverty share

    def stat(self, measure: str, series: str) -> float | None:
        row = self.statistics.filter(pl.col("measure") == measure)
        return None if row.height == 0 else row[series][0]

    def per_poverty_step(self, series: str) -> float | None:
        """Extra dollars per pupil for `POVERTY_STEP` (10 points) more poverty: the one place the
        slope (dollars for a share of 1.0 rather than 0.0) becomes what people read."""
        slope = self.stat("slope_poverty", series)
        return None if slope is None else slope * POVERTY_STEP

    @property
    def analysed(self) -> pl.DataFrame:
        """The schools every statistic is computed over: both amounts and at least one pupil."""
        return self.schools.filter(pl.col("missing").is_null() & (pl.col("enrollment") > 0))


def poverty_column(allocation: Allocation, poverty: str | None = None) -> str:
    """The count that measures poverty: the one asked for, else the one the formula says stands
    for poverty (a weight's `role`, or `[roles] poverty`). Never guessed from a column's name."""
    if poverty is not None:
        return poverty
    found = allocation.formula.model.column_for("poverty")
    if found is None:
        raise WsfError(
            "the formula does not say which count measures poverty, so today's spending cannot be compared by it",
            file=allocation.formula.path,
            key="roles",
            fix='add role = "poverty" to the weight that counts low-income pupils, or [roles] poverty = "frl" (a column '
                "of the school data); or pass --poverty COLUMN",
        )
    return found


def analyse(
    allocation: Allocation, spending: Spending, poverty: str | None = None, bands: int = 10, allow_missing: bool = False
) -> Equity:
    if bands not in (5, 10):
        raise WsfError(f"--bands must be 10 (deciles) or 5 (quintiles), got {bands}", key="--bands")
    poverty = poverty_column(allocation, poverty)
    needs = need_columns(allocation, poverty)
    schools = per_school(allocation, spending, poverty, needs)
    missing = schools.filter(pl.col("missing").is_not_null()).select("school_id", "name", "missing")
    if missing.height and not allow_missing:
        raise _missing_error(missing, spending)
    complete = schools.filter(pl.col("missing").is_null())
    no_pupils = complete.filter(pl.col("enrollment") <= 0).select("school_id", "name")
    analysed = complete.filter(pl.col("enrollment") > 0)
    if analysed.height == 0:
        raise WsfError("no school has both pupils and current spending, so there is nothing to compare", file=spending.path)
    w = analysed["enrollment"].cast(pl.Float64).to_numpy()
    share = analysed["poverty_share"].to_numpy()
    x = {s: analysed[s].cast(pl.Float64).to_numpy() / 100 / w for s in SERIES}
    lines = {s: measures.neutrality(x[s], w, share) for s in SERIES}
    shares = np.column_stack(
        [analysed.select(pl.sum_horizontal(cols) / pl.col("enrollment")).to_series().to_numpy() for cols in needs.values()]
    )
    fits = {s: measures.regress(x[s], w, shares) for s in SERIES}
    statistics = _statistics(x, w, lines, fits, needs, analysed)
    vertical = _vertical(allocation, analysed, needs, fits)
    return Equity(
        allocation,
        spending,
        poverty,
        bands,
        schools,
        statistics,
        poverty_bands(analysed, bands),
        vertical,
        missing,
        no_pupils,
        lines,
    )


def need_columns(allocation: Allocation, poverty: str) -> dict[str, list[str]]:
    """Need shares for vertical equity: poverty, English learners, special education (summed), the
    last two as the formula's roles say."""
    inputs = allocation.inputs
    model = allocation.formula.model
    counts = sorted({w.count for w in model.weights.values() if w.count} | set(model.roles.values()))
    if poverty not in inputs.columns or poverty in ("school_id", "name", "level", "enrollment") or poverty.startswith("grade_"):
        raise WsfError(
            f"the school data has no count column {poverty!r} to measure poverty by",
            key="--poverty",
            fix=(
                "only the columns the formula counts are kept from the school data; choose one of: "
                f"{', '.join(c for c in counts if c in inputs.columns)}"
            ),
        )
    needs = {poverty: [poverty]}
    for need, role in ((EL, "english_learner"), (SPED, "special_education")):
        columns = [c for c in model.columns_for(role) if c in inputs.columns and c != poverty]
        if columns:
            needs[need] = columns
    return needs


def per_school(allocation: Allocation, spending: Spending, poverty: str, needs: dict[str, list[str]]) -> pl.DataFrame:
    """Formula and current side by side, joined on school_id without dropping anyone."""
    need_cols = sorted({c for cols in needs.values() for c in cols})
    formula = allocation.cents.select(
        "school_id",
        "name",
        "enrollment",
        (pl.col("total") - pl.col(TRANSITION)).alias("formula"),
        pl.col("total").alias("allocation"),
        TRANSITION,
    ).join(allocation.inputs.select("school_id", *need_cols), on="school_id", how="left", validate="1:1")
    formula = formula.with_columns(pl.lit(True).alias("_in_data"))
    current = spending.frame.with_columns(pl.lit(True).alias("_in_spending"))
    joined = formula.join(current, on="school_id", how="full", coalesce=True, validate="1:1")
    per_pupil_of = {s: per_pupil(s) for s in SERIES}
    return (
        joined.with_columns(
            pl.when(pl.col("_in_spending").is_null())
            .then(pl.lit(NO_CURRENT))
            .when(pl.col("_in_data").is_null())
            .then(pl.lit(NOT_IN_DATA))
            .otherwise(None)
            .alias("missing"),
            pl.when(pl.col("enrollment") > 0).then(pl.col(poverty) / pl.col("enrollment")).otherwise(None).alias("poverty_share"),
            (pl.col("formula") - pl.col("current")).alias("gap"),
            *[e.alias(f"{s}_per_pupil") for s, e in per_pupil_of.items()],
            pl.when(pl.col("formula") > 0)
            .then((100 * pl.col("current") / pl.col("formula")).round(2))
            .otherwise(None)
            .alias("percent_of_formula"),
        )
        .with_columns((pl.col("formula_per_pupil") - pl.col("current_per_pupil")).alias("gap_per_pupil"))
        .with_columns(
            pl.when(pl.col("missing").is_null())
            .then(pl.col("gap_per_pupil").rank("min", descending=True))
            .otherwise(None)
            .cast(pl.Int64)
            .alias("rank")
        )
        .select(
            "school_id",
            "name",
            "enrollment",
            "poverty_share",
            *need_cols,
            "current",
            "formula",
            "gap",
            "current_per_pupil",
            "formula_per_pupil",
            "gap_per_pupil",
            "percent_of_formula",
            "rank",
            "allocation",
            TRANSITION,
            *spending.detail_columns,
            "missing",
        )
        .sort("school_id")
    )


def poverty_bands(analysed: pl.DataFrame, bands: int) -> pl.DataFrame:
    """Equal numbers of schools per band by poverty share (tied schools share a band)."""
    n = analysed.height
    ranked = analysed.with_columns(((pl.col("poverty_share").rank("min") - 1) * bands // n + 1).cast(pl.Int64).alias("band"))
    return (
        ranked.group_by("band")
        .agg(
            pl.col("poverty_share").min().alias("poverty_from"),
            pl.col("poverty_share").max().alias("poverty_to"),
            pl.len().cast(pl.Int64).alias("schools"),
            pl.col("enrollment").sum().alias("pupils"),
            pl.col("current").sum().alias("_current"),
            pl.col("formula").sum().alias("_formula"),
        )
        .with_columns(
            per_pupil("_current", "pupils").alias("current_per_pupil"),
            per_pupil("_formula", "pupils").alias("formula_per_pupil"),
            pl.col("poverty_from", "poverty_to").round(4),
        )
        .with_columns((pl.col("formula_per_pupil") - pl.col("current_per_pupil")).alias("difference_per_pupil"))
        .drop("_current", "_formula")
        .sort("band")
    )


def _statistics(x, w, lines, fits, needs, analysed) -> pl.DataFrame:
    rows: dict[str, dict[str, float]] = {}
    for series in SERIES:
        values = x[series]
        stats = {name: fn(values, w) for name, fn in measures.DISPERSION.items()}
        line = lines[series]
        stats |= {"correlation_poverty": line.correlation, "slope_poverty": line.slope, "elasticity_poverty": line.elasticity}
        p5, median, p95 = measures.percentile(values, w, [0.05, 0.5, 0.95])
        stats |= {
            "mean": measures.mean(values, w),
            "median": median,
            "p5": p5,
            "p95": p95,
            "min": values.min(),
            "max": values.max(),
        }
        fit = fits[series]
        stats["vertical_intercept"] = fit.intercept
        for need, slope, implied in zip(needs, fit.slopes, fit.implied_weights):
            stats[f"vertical_slope_{need}"] = slope
            stats[f"implied_weight_{need}"] = implied
        stats["vertical_r2"] = fit.r_squared
        stats["schools"] = float(analysed.height)
        stats["pupils"] = float(w.sum())
        stats["total"] = float(analysed[series].sum()) / 100
        for name, value in stats.items():
            rows.setdefault(name, {})[series] = _rounded(name, float(value))
    order = [*MEASURES, *(k for k in rows if k not in MEASURES)]
    return pl.DataFrame(
        {"measure": order, **{s: [rows[m][s] for m in order] for s in SERIES}},
        schema={"measure": pl.String, "current": pl.Float64, "formula": pl.Float64},
    )


def _rounded(name: str, value: float) -> float | None:
    if not np.isfinite(value):
        return None
    places = 2 if name in DOLLAR_MEASURES or name.startswith("vertical_slope_") else 6
    return round(value, places) + 0.0  # + 0.0 turns -0.0 into 0.0


def _vertical(allocation: Allocation, analysed: pl.DataFrame, needs: dict[str, list[str]], fits) -> pl.DataFrame:
    """The formula's weight for each need as a multiple of the average base per pupil.

    Dollars of the formula's weights counting that need's columns, per counted pupil, over
    the district's base dollars per pupil (schools analysed only); next to the implied
    weights (regression coefficient / intercept) of today's and the formula's dollars.
    """
    model = allocation.formula.model
    cents = allocation.cents.join(analysed.select("school_id"), on="school_id", how="semi")
    base_per_pupil = cents["base"].sum() / cents["enrollment"].sum()
    rows = []
    for i, (need, cols) in enumerate(needs.items()):
        keys = [k for k, wt in model.weights.items() if wt.count in cols]
        pupils = analysed.select(pl.sum_horizontal(cols).sum()).item()
        dollars = sum(cents[k].sum() for k in keys)
        weight = dollars / pupils / base_per_pupil if keys and pupils and base_per_pupil else None
        rows.append(
            {
                "need": need,
                "columns": " + ".join(cols),
                "formula_weights": " + ".join(keys),
                "formula_weight": None if weight is None else round(weight, 4),
                "implied_current": _rounded("", fits["current"].implied_weights[i]),
                "implied_formula": _rounded("", fits["formula"].implied_weights[i]),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "need": pl.String,
            "columns": pl.String,
            "formula_weights": pl.String,
            "formula_weight": pl.Float64,
            "implied_current": pl.Float64,
            "implied_formula": pl.Float64,
        },
    ).with_columns(pl.col("implied_current", "implied_formula").round(4))


def _missing_error(missing: pl.DataFrame, spending: Spending) -> WsfError:
    fix = (
        "every school needs both school data and current spending: add the missing rows or correct the "
        "school_id; or pass --allow-missing to list them in the output instead"
    )
    parts = []
    for problem, text in (
        (NO_CURRENT, "in the school data {has} no current spending in " + spending.path.name),
        (NOT_IN_DATA, "in " + spending.path.name + " {is} not in the school data"),
    ):
        rows = missing.filter(pl.col("missing") == problem)
        if rows.height == 0:
            continue
        names = [f"{sid} ({name})" if name else sid for sid, name in rows.select("school_id", "name").iter_rows()]
        listed = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        one = rows.height == 1
        verbs = {"has": "has" if one else "have", "is": "is" if one else "are"}
        parts.append(f"{rows.height} school{'' if one else 's'} {text.format(**verbs)}: {listed}")
    errors = [
        WsfError(p, file=spending.path, key="school_id", fix=fix if i == len(parts) - 1 else None) for i, p in enumerate(parts)
    ]
    return WsfError.many(errors)

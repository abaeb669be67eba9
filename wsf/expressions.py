"""The formula as Polars expressions: one named expression per formula key.

Every expression here is unscaled and unrounded dollars per school. The key of a weight or
foundation is the expression's alias, so it becomes the allocation table's column, the
workbook header, the packet line and the `explain` line without being renamed anywhere.
"""

from __future__ import annotations

import polars as pl

from wsf.errors import WsfError
from wsf.formula import Formula, Foundation, Weight
from wsf.grades import GRADES, parse_span

BASE = "base"


def pupil_rates(formula: Formula, pupil_columns: tuple[str, ...]) -> dict[str, float]:
    """Adjusted base per pupil for each pupil column of the data (grade columns or enrollment)."""
    if pupil_columns == ("enrollment",):
        if any(parse_span(adj.span) != GRADES for adj in formula.base_adjustment):
            raise WsfError(
                "a base_adjustment applies to some grades only, but the data gives one enrollment column",
                key="base_adjustment",
                fix="give enrollment per grade (grade_TK .. grade_12)",
            )
        return {"enrollment": formula.grade_rate[GRADES[0]]}
    return {column: formula.grade_rate[column.removeprefix("grade_")] for column in pupil_columns}


def base_expr(rates: dict[str, float]) -> pl.Expr:
    return pl.sum_horizontal([pl.col(c) * rate for c, rate in rates.items()]).alias(BASE)


def average_base() -> pl.Expr:
    """Adjusted base per pupil, enrollment-weighted over the school's grades (0 for no pupils)."""
    return pl.when(pl.col("enrollment") > 0).then(pl.col(BASE) / pl.col("enrollment")).otherwise(0.0)


def counted(weight: Weight) -> pl.Expr:
    """Pupils a weight pays for; with `above_share`, only those above that share of enrollment."""
    count = pl.col(weight.count)
    if weight.above_share is None:
        return count
    return pl.max_horizontal(count - weight.above_share * pl.col("enrollment"), pl.lit(0.0))


def weight_rate(formula: Formula, weight: Weight) -> pl.Expr:
    """Dollars per counted pupil, before any pot scaling."""
    if weight.per_pupil is not None:
        return pl.lit(weight.per_pupil)
    assert weight.weight is not None
    if weight.of is not None:
        return pl.lit(weight.weight * formula.span_rate(weight.of))
    return weight.weight * average_base()


def weight_expr(formula: Formula, key: str, weight: Weight) -> pl.Expr:
    return (counted(weight) * weight_rate(formula, weight)).alias(key)


def applies(foundation: Foundation) -> pl.Expr:
    condition = pl.lit(True)
    when = foundation.when
    if when is None:
        return condition
    if when.enrollment_below is not None:
        condition &= pl.col("enrollment") < when.enrollment_below
    if when.enrollment_at_least is not None:
        condition &= pl.col("enrollment") >= when.enrollment_at_least
    if when.level is not None:
        condition &= pl.col("level").is_in([lvl.lower() for lvl in when.level]).fill_null(False)
    return condition


def foundation_expr(key: str, foundation: Foundation) -> pl.Expr:
    return pl.when(applies(foundation)).then(pl.lit(foundation.amount)).otherwise(0.0).alias(key)


def scaled_keys(formula: Formula) -> list[str]:
    """Components a pot solve scales: the base and every weight expressed as a multiple of it."""
    return [BASE, *(k for k, w in formula.weights.items() if w.scales_with_base)]


def fixed_keys(formula: Formula) -> list[str]:
    return [*(k for k, w in formula.weights.items() if not w.scales_with_base), *formula.foundations]


def components(formula: Formula, pupil_columns: tuple[str, ...]) -> list[list[pl.Expr]]:
    """Expression stages: the base first, then weights (which read it) and foundations."""
    rates = pupil_rates(formula, pupil_columns)
    return [
        [base_expr(rates)],
        [weight_expr(formula, k, w) for k, w in formula.weights.items()]
        + [foundation_expr(k, f) for k, f in formula.foundations.items()],
    ]

"""The formula as Polars expressions: one named expression per formula key.

Every expression here is unscaled and unrounded dollars per school. The key of a weight or
foundation is the expression's alias, so it becomes the allocation table's column, the
workbook header, the packet line and the `explain` line without being renamed anywhere.
"""

from __future__ import annotations

import polars as pl

from wsf.errors import WsfError
from wsf.formula import Formula, Foundation, Weight
from wsf.grades import parse_span
from wsf.inputs import SPAN_PREFIX

BASE = "base"


def pupil_rates(formula: Formula, pupil_columns: tuple[str, ...]) -> dict[str, float]:
    """Adjusted base per pupil for each pupil column of the data (grades, spans or enrollment)."""
    return {column: formula.span_rate(column_span(formula, column)) if not column.startswith("grade_")
            else formula.grade_rate[column.removeprefix("grade_")] for column in pupil_columns}


def column_span(formula: Formula, column: str) -> str:
    """The [base] span a pupil column belongs to; a span column must have one rate for all its grades."""
    if column.startswith("grade_"):
        return formula.grade_span[column.removeprefix("grade_")]
    span = next(iter(formula.base)) if column == "enrollment" else column.removeprefix(SPAN_PREFIX)
    if len({formula.grade_rate[g] for g in parse_span(span)}) > 1:
        raise WsfError(
            f"a base_adjustment covers only part of span {span!r}, but the data gives that span's enrollment in one column",
            key="base_adjustment",
            fix="give enrollment per grade (grade_TK .. grade_12), or adjust whole spans",
        )
    return span


def base_expr(rates: dict[str, float]) -> pl.Expr:
    return pl.sum_horizontal([pl.col(c) * rate for c, rate in rates.items()]).alias(BASE)


def average_base() -> pl.Expr:
    """Adjusted base per pupil, enrollment-weighted over the school's grades (0 for no pupils)."""
    return pl.when(pl.col("enrollment") > 0).then(pl.col(BASE) / pl.col("enrollment")).otherwise(0.0)


def counted(weight: Weight) -> pl.Expr:
    """Pupils a weight pays for; with `above_share`, only those above that share of enrollment."""
    if weight.share is not None:
        return share_counted(weight) * pl.col("enrollment")
    count = pl.col(weight.column)
    if weight.above_share is None:
        return count
    return pl.max_horizontal(count - weight.above_share * pl.col("enrollment"), pl.lit(0.0))


def share_counted(weight: Weight) -> pl.Expr:
    """The share of enrollment a weight pays for (LCFF: UPP, or UPP above 55%)."""
    if weight.share is None:
        return pl.when(pl.col("enrollment") > 0).then(counted(weight) / pl.col("enrollment")).otherwise(0.0)
    share = pl.col(weight.share)
    return share if weight.above_share is None else pl.max_horizontal(share - weight.above_share, pl.lit(0.0))


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


def foundation_amount(foundation: Foundation) -> pl.Expr:
    """A flat amount, or (Houston) dollars per pupil short of a threshold, capped."""
    if foundation.amount is not None:
        return pl.lit(foundation.amount)
    short = pl.max_horizontal(foundation.threshold - pl.col("enrollment"), pl.lit(0.0))
    caps = [short * foundation.per_pupil_short]
    if foundation.cap is not None:
        caps.append(pl.lit(foundation.cap))
    if foundation.cap_share_of_base is not None:
        caps.append(foundation.cap_share_of_base * pl.col(BASE))
    return pl.min_horizontal(caps)


def foundation_expr(key: str, foundation: Foundation) -> pl.Expr:
    return pl.when(applies(foundation)).then(foundation_amount(foundation)).otherwise(0.0).alias(key)


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


def span_bases(formula: Formula, pupil_columns: tuple[str, ...]) -> dict[str, pl.Expr]:
    """Unscaled base dollars of each [base] span: the pieces CDE rounds one by one."""
    rates = pupil_rates(formula, pupil_columns)
    spans: dict[str, list[pl.Expr]] = {}
    for column, rate in rates.items():
        spans.setdefault(column_span(formula, column), []).append(pl.col(column) * rate)
    return {span: pl.sum_horizontal(parts) for span, parts in spans.items()}

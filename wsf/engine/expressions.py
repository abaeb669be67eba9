"""The formula as Polars expressions: one named expression per formula key.

Every expression here is unscaled and unrounded dollars per school. The key of a weight or
foundation is the expression's alias, so it becomes the allocation table's column, the
workbook header, the packet line and the `explain` line without being renamed anywhere.

Every rate is read through `Params`: a literal for an ordinary run, or a column when a sweep
varies it over many points at once. The expressions have the same structure either way, so a
sweep point computes exactly what a single run of that formula computes.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from wsf.data.schools import SPAN_PREFIX
from wsf.errors import WsfError
from wsf.formula.grades import parse_span
from wsf.formula.model import PER_CAPITA, Formula, Foundation, GradeWeight, Weight

BASE = "base"
BASE_PER_PUPIL = "_base_per_pupil"


class Params:
    """Rates by key path (`weights.poverty.weight`): the formula's value, or a swept column."""

    def __init__(self, formula: Formula, swept: dict[str, pl.Expr] | None = None) -> None:
        self.formula = formula
        self.swept = swept or {}

    def __call__(self, path: str) -> pl.Expr:
        if path in self.swept:
            return self.swept[path]
        return pl.lit(float(lookup(self.formula, path)))


def lookup(formula: Formula, path: str) -> Any:
    """The value at a key path such as `weights.el.weight`, `base.K-3` or `base_adjustment[0].rate`."""
    node: Any = formula
    for part in key_parts(path):
        if isinstance(part, int) or isinstance(node, dict):
            node = node[part]
        else:
            node = getattr(node, part)
    return node


def key_parts(path: str) -> list[str | int]:
    head, _, rest = path.partition(".")
    parts: list[str | int] = []
    if "[" in head:
        name, index = head.rstrip("]").split("[")
        parts += [name, int(index)]
    else:
        parts.append(head)
    if head == "base" and rest:
        span, _, field = rest.partition(".")  # spans contain no dots, but may contain '-'
        return [*parts, span, *([field] if field else [])]
    return [*parts, *rest.split(".")] if rest else parts


def span_dollars(formula: Formula, p: Params, span: str) -> pl.Expr:
    """A [base] span's dollars per pupil: a number, or a grade weight x the per-capita base."""
    if isinstance(formula.base[span], GradeWeight):
        return p(f"base.{span}.weight") * p("per_capita.amount")
    return p(f"base.{span}")


def grade_rate(formula: Formula, p: Params, grade: str) -> pl.Expr:
    """Adjusted base per pupil of a grade: span dollars x (1 + rates) + dollar add-ons."""
    span = formula.grade_span[grade]
    rates, add_ons = [], []
    for i, adj in enumerate(formula.base_adjustment):
        if grade in parse_span(adj.span):
            if adj.rate is not None:
                rates.append(p(f"base_adjustment[{i}].rate"))
            else:
                add_ons.append(p(f"base_adjustment[{i}].per_pupil"))
    rate = span_dollars(formula, p, span)
    if rates:
        rate = rate * (1 + pl.sum_horizontal(rates))
    if add_ons:
        rate = rate + pl.sum_horizontal(add_ons)
    return rate


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


def column_rate(formula: Formula, p: Params, column: str) -> pl.Expr:
    """Adjusted base per pupil of one pupil column (a grade, a span, or all of enrollment)."""
    if column.startswith("grade_"):
        return grade_rate(formula, p, column.removeprefix("grade_"))
    return grade_rate(formula, p, parse_span(column_span(formula, column))[0])


def span_bases(formula: Formula, p: Params, pupil_columns: tuple[str, ...]) -> dict[str, pl.Expr]:
    """Unscaled base dollars of each [base] span: the pieces CDE rounds one by one."""
    spans: dict[str, list[pl.Expr]] = {}
    for column in pupil_columns:
        spans.setdefault(column_span(formula, column), []).append(pl.col(column) * column_rate(formula, p, column))
    return {span: pl.sum_horizontal(parts) for span, parts in spans.items()}


def base_expr(formula: Formula, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
    return pl.sum_horizontal([pl.col(c) * column_rate(formula, p, c) for c in pupil_columns]).alias(BASE)


def base_per_pupil() -> pl.Expr:
    """Adjusted base per pupil, enrollment-weighted over the school's grades (0 for no pupils):
    a stage of its own, so that a sweep computes it once per school, not once per point."""
    return pl.when(pl.col("enrollment") > 0).then(pl.col(BASE) / pl.col("enrollment")).otherwise(0.0).alias(BASE_PER_PUPIL)


def counted(p: Params, key: str, weight: Weight) -> pl.Expr:
    """Pupils a weight pays for; with `above_share`, only those above that share of enrollment."""
    if weight.share is not None:
        return share_counted(p, key, weight) * pl.col("enrollment")
    count = pl.col(weight.column)
    if weight.above_share is None:
        return count
    return pl.max_horizontal(count - p(f"weights.{key}.above_share") * pl.col("enrollment"), pl.lit(0.0))


def share_counted(p: Params, key: str, weight: Weight) -> pl.Expr:
    """The share of enrollment a weight pays for (LCFF: UPP, or UPP above 55%)."""
    if weight.share is None:
        return pl.when(pl.col("enrollment") > 0).then(counted(p, key, weight) / pl.col("enrollment")).otherwise(0.0)
    share = pl.col(weight.share)
    return share if weight.above_share is None else pl.max_horizontal(share - p(f"weights.{key}.above_share"), pl.lit(0.0))


def weight_rate(formula: Formula, p: Params, key: str, weight: Weight) -> pl.Expr:
    """Dollars per counted pupil, before any pot scaling."""
    if weight.per_pupil is not None:
        return p(f"weights.{key}.per_pupil")
    if weight.of == PER_CAPITA:
        return p(f"weights.{key}.weight") * p("per_capita.amount")
    if weight.of is not None:
        return p(f"weights.{key}.weight") * grade_rate(formula, p, parse_span(weight.of)[0])
    return p(f"weights.{key}.weight") * pl.col(BASE_PER_PUPIL)


def weight_expr(formula: Formula, p: Params, key: str, weight: Weight) -> pl.Expr:
    return (counted(p, key, weight) * weight_rate(formula, p, key, weight)).alias(key)


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


def foundation_amount(p: Params, key: str, foundation: Foundation) -> pl.Expr:
    """A flat amount, or (Houston) dollars per pupil short of a threshold, capped."""
    if foundation.amount is not None:
        return p(f"foundations.{key}.amount")
    short = pl.max_horizontal(foundation.threshold - pl.col("enrollment"), pl.lit(0.0))
    caps = [short * p(f"foundations.{key}.per_pupil_short")]
    if foundation.cap is not None:
        caps.append(p(f"foundations.{key}.cap"))
    if foundation.cap_share_of_base is not None:
        caps.append(p(f"foundations.{key}.cap_share_of_base") * pl.col(BASE))
    return pl.min_horizontal(caps)


def foundation_expr(p: Params, key: str, foundation: Foundation) -> pl.Expr:
    return pl.when(applies(foundation)).then(foundation_amount(p, key, foundation)).otherwise(0.0).alias(key)


def scaled_keys(formula: Formula) -> list[str]:
    """Components a pot solve scales: the base and every weight expressed as a multiple of it."""
    return [BASE, *(k for k, w in formula.weights.items() if w.scales_with_base)]


def fixed_keys(formula: Formula) -> list[str]:
    return [*(k for k, w in formula.weights.items() if not w.scales_with_base), *formula.foundations]


def components(formula: Formula, p: Params, pupil_columns: tuple[str, ...]) -> list[list[pl.Expr]]:
    """Expression stages: the base first, its amount per pupil, then weights (which read them)
    and foundations."""
    return [
        [base_expr(formula, p, pupil_columns)],
        [base_per_pupil()],
        [weight_expr(formula, p, k, w) for k, w in formula.weights.items()]
        + [foundation_expr(p, k, f) for k, f in formula.foundations.items()],
    ]

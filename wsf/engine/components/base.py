"""The base: dollars per pupil by grade span, adjusted by span, and what it means at a school.

The `[base]` spans (a number of dollars, or a grade weight of the `[per_capita]` base), the
`[[base_adjustment]]` add-ons and the per-capita base are the schema here; the functions that
turn them into a grade's adjusted base per pupil are what every weight "of" the base reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
from pydantic import field_validator, model_validator

from wsf.engine.components.cells import Cells, added
from wsf.engine.components.lines import Count, Factor, Label, Line, Money, Phrase, Share, Term, Words
from wsf.engine.params import BASE, BASE_PER_PUPIL, Params, School
from wsf.errors import WsfError
from wsf.formula.grades import GRADES, SPAN_PREFIX, parse_span
from wsf.formula.types import Labels, Rate, Strict, check_usual
from wsf.formula.types import Money as Dollars

if TYPE_CHECKING:
    from wsf.formula.model import Formula

PER_CAPITA = "per_capita"


class BaseAdjustment(Strict):
    span: str
    rate: Rate | None = None
    per_pupil: Dollars | None = None  # a dollar add-on, as CDE publishes LCFF's ($776 for K-3)
    label: str
    labels: Labels = {}
    source: str | None = None
    unusual: bool = False  # a rate beyond USUAL is meant

    @model_validator(mode="after")
    def _one_rate(self) -> BaseAdjustment:
        if (self.rate is None) == (self.per_pupil is None):
            raise ValueError("give exactly one of `rate` (a share of the base) or `per_pupil` (dollars)")
        check_usual(self.rate, "rate", "rate", "this [[base_adjustment]]", self.unusual)
        return self

    @field_validator("span")
    @classmethod
    def _span(cls, value: str) -> str:
        parse_span(value)
        return value


class PerCapita(Strict):
    """One per-capita base that grade spans and weights are multiples of (New York, Boston)."""

    amount: Dollars
    label: str = "Per-capita base"
    labels: Labels = {}
    source: str | None = None


class GradeWeight(Strict):
    """A [base] span written as a multiple of [per_capita]: `"6-8" = { weight = 1.08 }`."""

    weight: Rate
    unusual: bool = False  # a grade weight beyond USUAL is meant

    @model_validator(mode="after")
    def _usual(self) -> GradeWeight:
        check_usual(self.weight, "grade_weight", "weight", "this span's table", self.unusual)
        return self


# -- adjusted base per pupil, as expressions --------------------------------------------------


def span_dollars(formula: Formula, p: Params, span: str) -> pl.Expr:
    """A [base] span's dollars per pupil: a number, or a grade weight x the per-capita base."""
    if isinstance(formula.base[span], GradeWeight):
        return p(f"base.{span}.weight") * p("per_capita.amount")
    return p(f"base.{span}")


def grade_rate(formula: Formula, p: Params, grade: str) -> pl.Expr:
    """Adjusted base per pupil of a grade: span dollars x (1 + rates) + dollar add-ons."""
    rates, add_ons = [], []
    for i, adj in enumerate(formula.base_adjustment):
        if grade in parse_span(adj.span):
            (rates if adj.rate is not None else add_ons).append(p(f"base_adjustment[{i}].{'rate' if adj.rate is not None else 'per_pupil'}"))
    rate = span_dollars(formula, p, formula.grade_span[grade])
    if rates:
        rate = rate * (1 + pl.sum_horizontal(rates))
    if add_ons:
        rate = rate + pl.sum_horizontal(add_ons)
    return rate


def grade_rate_cell(formula: Formula, cells: Cells, grade: str) -> str:
    """`grade_rate` as a spreadsheet formula over the named rates."""
    span = formula.grade_span[grade]
    if isinstance(formula.base[span], GradeWeight):
        rate = f"{cells.rate(f'base.{span}.weight')}*{cells.rate(PER_CAPITA + '.amount')}"
    else:
        rate = cells.rate(f"base.{span}")
    rates, add_ons = [], []
    for i, adj in enumerate(formula.base_adjustment):
        if grade in parse_span(adj.span):
            (rates if adj.rate is not None else add_ons).append(cells.rate(f"base_adjustment[{i}].{'rate' if adj.rate is not None else 'per_pupil'}"))
    if rates:
        rate = f"({rate})*(1+{added(rates)})"
    if add_ons:
        rate = f"{rate}+{added(add_ons)}"
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


def column_grade(formula: Formula, column: str) -> str:
    """A grade standing for a pupil column's rate (every grade of a span column has the same)."""
    return column.removeprefix("grade_") if column.startswith("grade_") else parse_span(column_span(formula, column))[0]


def span_bases(formula: Formula, p: Params, pupil_columns: tuple[str, ...]) -> dict[str, pl.Expr]:
    """Unscaled base dollars of each [base] span: the pieces CDE rounds one by one."""
    spans: dict[str, list[pl.Expr]] = {}
    for column in pupil_columns:
        spans.setdefault(column_span(formula, column), []).append(pl.col(column) * grade_rate(formula, p, column_grade(formula, column)))
    return {span: pl.sum_horizontal(parts) for span, parts in spans.items()}


def base_per_pupil() -> pl.Expr:
    """Adjusted base per pupil, enrollment-weighted over the school's grades (0 for no pupils):
    a stage of its own, so that a sweep computes it once per school, not once per point."""
    return pl.when(pl.col("enrollment") > 0).then(pl.col(BASE) / pl.col("enrollment")).otherwise(0.0).alias(BASE_PER_PUPIL)


def on_base(paths) -> bool:
    """Does sweeping any of these key paths change the base (and so every multiple of it)?"""
    return any(path.startswith(("base.", "base_adjustment", PER_CAPITA)) for path in paths)


# -- the component ---------------------------------------------------------------------------


class Base:
    """Pupils x the adjusted base of their grade, scaled by the pot."""

    key = BASE
    scaled = True

    def __init__(self, formula: Formula) -> None:
        self.formula = formula

    def quantities(self, p: Params, pupil_columns: tuple[str, ...]) -> list[pl.Expr]:
        return []

    def expression(self, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        return pl.sum_horizontal([pl.col(c) * grade_rate(self.formula, p, column_grade(self.formula, c)) for c in pupil_columns]).alias(BASE)

    def cell(self, cells: Cells, pupil_columns: tuple[str, ...]) -> str:
        """Its unscaled dollars as a spreadsheet formula: each pupil column x its grade's rate."""
        f = self.formula
        return added([f"{cells.data(c)}*({grade_rate_cell(f, cells, column_grade(f, c))})" for c in pupil_columns])

    def rates(self) -> list[str]:
        """The key paths a sweep may vary."""
        f = self.formula
        paths = [f"base.{span}.weight" if isinstance(v, GradeWeight) else f"base.{span}" for span, v in f.base.items()]
        paths += [PER_CAPITA + ".amount"] if f.per_capita is not None else []
        return paths + [f"base_adjustment[{i}].{'rate' if a.rate is not None else 'per_pupil'}" for i, a in enumerate(f.base_adjustment)]

    def moves_with(self, paths) -> bool:
        return on_base(paths)

    def reads(self, pupil_columns: tuple[str, ...]) -> set[str]:
        return set(pupil_columns)

    def needs(self) -> dict[str, str]:
        return {}  # its pupil columns are the data's enrollment, found by the reader

    def per_span(self, p: Params, spans: list[pl.Expr]) -> list[pl.Expr] | None:
        """The pieces CDE's per-span rule rounds one by one: the base of each span."""
        return spans

    def line(self, school: School) -> Line:
        f = self.formula
        rule = Phrase.of("base_scaled", scale=Factor(school.scale, 6, fixed=True)) if f.pot else Phrase("base")
        return Line(
            BASE, "", school.cents[BASE], Count(school.enrollment), Money(school.average_base, None), (rule,),
            tuple(self._runs(school)), Phrase.of("line_base", count=Count(school.enrollment), rate=Money(school.average_base, 0)),
            f.formula.source or "", named=True,
        )

    def _runs(self, school: School):
        """The base by runs of grades with one span and rate: `Grades K-3: 240 x $5,740.80 (K-3 base ...)`."""
        f, scale = self.formula, school.scale
        runs: list[list] = []  # [span, rate, grades, pupils, last grade index]
        for column in school.pupil_columns:
            if column.startswith("grade_"):
                grade = column.removeprefix("grade_")
                key, at = (f.grade_span[grade], f.grade_rate[grade]), GRADES.index(grade)
                if runs and tuple(runs[-1][:2]) == key and runs[-1][4] == at - 1:
                    runs[-1][2].append(grade)
                    runs[-1][3] += school.inputs[column] or 0
                    runs[-1][4] = at
                    continue
                runs.append([*key, [grade], school.inputs[column] or 0, at])
            else:
                span = column_span(f, column)
                runs.append([span, f.grade_rate[parse_span(span)[0]], [GRADES[0] + "-" + GRADES[-1] if span == "all" else span],
                             school.inputs[column] or 0, -1])
        for span, rate, grades, pupils, _ in runs:
            if not pupils:
                continue
            parts = [Phrase.of("grade_base", span=span, amount=Money(f.base_dollars[span]))]
            for adj in f.base_adjustment:
                covered = set(parse_span(adj.span))
                if set(g for grade in grades for g in parse_span(grade)) <= covered:
                    size = Share(adj.rate, 1) if adj.rate is not None else Money(adj.per_pupil or 0.0)
                    parts.append(Phrase.of("grade_adjustment", rate=size, label=Label(adj.label, adj.labels)))
            if f.pot:
                parts.append(Phrase.of("grade_scale", scale=Factor(scale, 6, fixed=True)))
            name = grades[0] if len(grades) == 1 else f"{grades[0]}\u2013{grades[-1]}"
            yield Phrase.of("grade_run", grades=name, pupils=Count(pupils), rate=Money(rate * scale, None), parts=Words(tuple(parts), "list"))

    def terms(self, scale: float) -> list[Term]:
        f = self.formula
        source = f.formula.source or ""
        terms = []
        if f.per_capita is not None:
            pc = f.per_capita
            terms.append(Term(PER_CAPITA, pc.label, "base", Money(pc.amount), "per_pupil", Money(pc.amount * scale), "", pc.source or source,
                              PER_CAPITA + ".amount"))
        for span, dollars in f.base_dollars.items():
            path = None if isinstance(f.base[span], GradeWeight) else f"base.{span}"  # a grade weight's dollars are not its value
            terms.append(Term(BASE, Phrase.of("term_base_span", span=span), "base", Money(dollars), "per_pupil", Money(dollars * scale),
                              Phrase.of("grades_of", span=span), source, path))
        for i, adj in enumerate(f.base_adjustment):
            value, unit = (Share(adj.rate, 1), "share_of_base") if adj.rate is not None else (Money(adj.per_pupil), "per_pupil")
            terms.append(Term(BASE, adj.label, "base_adjustment", value, unit, None, Phrase.of("grades_of", span=adj.span), f.source_of(adj),
                              f"base_adjustment[{i}].{'rate' if adj.rate is not None else 'per_pupil'}"))
        return terms

"""Need weights: what each kind counts, what it pays per counted pupil, and how it says so.

A weight is two choices, each a small class here: **what it pays** per counted pupil (a
multiple of the school's average adjusted base, of one span's, of the per-capita base, or flat
dollars) and **what it counts** (a count column, or a share of enrollment; either with only the
pupils above a share of enrollment). Each choice owns its expression, the key paths a sweep may
vary, how CDE's per-span rule rounds it and the parts of its line. The schema of a
`[weights.KEY]` table is here too, so a new kind of weight is one module's change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import polars as pl
from pydantic import Field, model_validator

from wsf.engine.components.base import PER_CAPITA, grade_rate, grade_rate_cell, on_base
from wsf.engine.components.cells import Cells, text
from wsf.engine.components.conditions import Step, check_steps, first_match, first_match_cell, matching, pupils, pupils_cell
from wsf.engine.components.lines import Count, Factor, Line, Money, Phrase, Share, Term, Words
from wsf.engine.params import BASE_PER_PUPIL, Params, School
from wsf.formula.grades import parse_span
from wsf.formula.objects import Funding
from wsf.formula.types import Key, Labels, Rate, check_usual
from wsf.formula.types import Money as Dollars
from wsf.formula.types import Share as Fraction

if TYPE_CHECKING:
    from wsf.formula.model import Formula

# What a weight's count stands for, so equity, packets and the workbook find poverty, English
# learners and special education from the formula, never from a column's name.
# `unduplicated`: pupils who are any of low-income, English learners or foster youth, counted once
# (LCFF); `concentration`: a school's share of high-need pupils above a threshold.
Role = Literal["poverty", "english_learner", "special_education", "unduplicated", "concentration", "foster", "homeless", "gifted"]


class Weight(Funding):
    """A `[weights.KEY]` table (with `objects` and `resource`, what its money may buy: `Funding`)."""

    label: str
    labels: Labels = {}
    count: Key | None = None
    share: Key | None = None  # a column holding a share of enrollment (LCFF's UPP) instead of a count
    at_levels: Annotated[list[str], Field(min_length=1)] | None = None  # or: every pupil of a school of these levels
    weight: Rate | None = None
    per_pupil: Dollars | None = None
    rates: Annotated[list[Step], Field(min_length=1)] | None = None  # or dollars per counted pupil by a schedule
    of: str | None = None
    above_share: Fraction | None = None
    role: Role | None = None
    # what the count column holds, when it is not whole pupils within enrollment (SFUSD prints both kinds):
    may_exceed_enrollment: bool = False  # instances or seats: a pupil may count twice, so a school's count may pass its enrollment
    fractional: bool = False  # the district's own computed count, with fractions of a pupil (pupils above 55%, to a twentieth)
    source: str | None = None
    unusual: bool = False  # a weight beyond USUAL is meant

    @model_validator(mode="after")
    def _one_rate(self) -> Weight:
        if sum(x is not None for x in (self.weight, self.per_pupil, self.rates)) != 1:
            raise ValueError("give exactly one of `weight` (a multiple of base), `per_pupil` (dollars) or `rates` "
                             "(dollars per pupil by a schedule: [{ when = {...}, per_pupil = 500 }, ...])")
        if self.rates is not None:
            check_steps(self.rates, ("per_pupil",))
        check_usual(self.weight, "weight", "weight", "this weight's table", self.unusual)
        if self.of is not None and self.weight is None:
            raise ValueError("`of` only applies to `weight`, not to `per_pupil`")
        if sum(x is not None for x in (self.count, self.share, self.at_levels)) != 1:
            raise ValueError("give exactly one of `count` (a column of pupils), `share` (a column of shares of enrollment) "
                             "or `at_levels` (every pupil of a school of these levels)")
        if self.at_levels is not None and self.above_share is not None:
            raise ValueError("`above_share` counts pupils above a share of enrollment; with `at_levels` every pupil counts")
        if self.count is not None and any(step.pupils_at_most is not None for step in self.rates or []):
            raise ValueError("`pupils_at_most` caps the enrollment a `share` (or `at_levels`) weight counts; "
                             "a `count` column is counted as it is")
        for flag in ("may_exceed_enrollment", "fractional"):
            if getattr(self, flag) and self.count is None:
                raise ValueError(f"`{flag}` says what a `count` column holds; this weight has no `count`")
        return self

    @property
    def column(self) -> str:
        return self.count or self.share or ("level" if self.at_levels else "")

    @property
    def scales_with_base(self) -> bool:
        return self.weight is not None


# -- what a weight pays per counted pupil ----------------------------------------------------


class Pays:
    """Dollars per counted pupil."""

    scaled = True  # multiplied by the pot's scale

    def __init__(self, formula: Formula, key: str, spec: Weight) -> None:
        self.formula, self.key, self.spec = formula, key, spec

    def path(self) -> str:
        return f"weights.{self.key}.weight"

    def paths(self) -> list[str]:
        return [self.path()]

    def moves_with(self, paths) -> bool:
        return self.path() in paths or on_base(paths)

    def needs(self) -> dict[str, str]:
        return {}

    def terms(self) -> list[tuple]:
        """(value as written, unit, rate used before the pot's scale, whom it applies to or None), per rate."""
        return [(*self.term(), None)]


class OfAverageBase(Pays):
    """A multiple of the school's average adjusted base per pupil (LCFF's grants)."""

    def expression(self, p: Params) -> pl.Expr:
        return p(self.path()) * pl.col(BASE_PER_PUPIL)

    def cell(self, cells: Cells) -> str:
        return f"{cells.rate(self.path())}*{cells.base_per_pupil}"

    def at(self, school: School) -> float:
        return self.spec.weight * school.average_base

    def phrase(self, school: School) -> Phrase:
        return Phrase.of("weight_average", weight=Factor(self.spec.weight))

    def per_span(self, p: Params, share: pl.Expr, spans: list[pl.Expr]) -> list[pl.Expr] | None:
        return [p(self.path()) * share * span for span in spans]

    def term(self) -> tuple:
        return Factor(self.spec.weight), "multiple_of_average", None


class OfSpan(Pays):
    """A multiple of one span's adjusted base (`of = "K-5"`)."""

    def expression(self, p: Params) -> pl.Expr:
        return p(self.path()) * grade_rate(self.formula, p, parse_span(self.spec.of)[0])

    def cell(self, cells: Cells) -> str:
        return f"{cells.rate(self.path())}*({grade_rate_cell(self.formula, cells, parse_span(self.spec.of)[0])})"

    def at(self, school: School) -> float:
        return self.spec.weight * self.formula.span_rate(self.spec.of) * school.scale

    def phrase(self, school: School) -> Phrase:
        return Phrase.of("weight_of", weight=Factor(self.spec.weight), span=self.spec.of)

    def per_span(self, p, share, spans):
        return None

    def term(self) -> tuple:
        return Factor(self.spec.weight), Phrase.of("multiple_of_span", span=self.spec.of), self.spec.weight * self.formula.span_rate(self.spec.of)


class OfPerCapita(OfSpan):
    """A multiple of the per-capita base (`of = "per_capita"`: New York, Boston)."""

    def expression(self, p: Params) -> pl.Expr:
        return p(self.path()) * p(PER_CAPITA + ".amount")

    def cell(self, cells: Cells) -> str:
        return f"{cells.rate(self.path())}*{cells.rate(PER_CAPITA + '.amount')}"

    def phrase(self, school: School) -> Phrase:
        return Phrase.of("weight_per_capita", weight=Factor(self.spec.weight))

    def term(self) -> tuple:
        return Factor(self.spec.weight), "multiple_of_per_capita", self.spec.weight * self.formula.span_rate(PER_CAPITA)


class Flat(Pays):
    """Dollars per counted pupil, the same at every school and never scaled."""

    scaled = False

    def path(self) -> str:
        return f"weights.{self.key}.per_pupil"

    def moves_with(self, paths) -> bool:
        return self.path() in paths

    def expression(self, p: Params) -> pl.Expr:
        return p(self.path())

    def cell(self, cells: Cells) -> str:
        return cells.rate(self.path())

    def at(self, school: School) -> float:
        return self.spec.per_pupil

    def phrase(self, school: School) -> Phrase:
        return Phrase("per_pupil")

    def per_span(self, p, share, spans):
        return None

    def term(self) -> tuple:
        return Money(self.spec.per_pupil), "per_pupil", self.spec.per_pupil


class Scheduled(Flat):
    """Dollars per counted pupil by a schedule: the first step whose conditions hold (SFUSD: $500 per
    UPP pupil up to 55% UPP, $750 above, $700 at high schools)."""

    def paths(self) -> list[str]:
        return [f"weights.{self.key}.rates[{i}].per_pupil" for i in range(len(self.spec.rates))]

    def moves_with(self, paths) -> bool:
        return any(path in paths for path in self.paths())

    def expression(self, p: Params) -> pl.Expr:
        return first_match(self.spec.rates, [p(path) for path in self.paths()])

    def step(self, school: School) -> int | None:
        return matching(self.spec.rates, school.inputs)

    def at(self, school: School) -> float:
        i = self.step(school)
        return 0.0 if i is None else self.spec.rates[i].per_pupil

    def at_most(self, school: School) -> float | None:
        """The most pupils the school's step pays on (None: all of them)."""
        i = self.step(school)
        return None if i is None else self.spec.rates[i].pupils_at_most

    def phrase(self, school: School) -> Phrase:
        i = self.step(school)
        if i is None:
            return Phrase("schedule_none")
        when = self.spec.rates[i].when
        return Phrase.of("schedule_step", rate=Money(self.spec.rates[i].per_pupil), conditions=when.phrases()) if when else Phrase("schedule_rest")

    def needs(self) -> dict[str, str]:
        return {column: kind for step in self.spec.rates if step.when is not None for column, kind in step.when.needs().items()}

    def terms(self) -> list[tuple]:
        out = []
        for step in self.spec.rates:
            where = Phrase.of("conditions", conditions=step.when.phrases()) if step.when else Phrase("schedule_other")
            if step.pupils_at_most is not None:
                where = Phrase.of("capped_where", where=where, count=Count(step.pupils_at_most))
            out.append((Money(step.per_pupil), "per_pupil", step.per_pupil, where))
        return out


# -- what a weight counts ----------------------------------------------------------------------


class Counts:
    """The pupils a weight pays for at a school."""

    def __init__(self, key: str, spec: Weight) -> None:
        self.key, self.spec = key, spec

    def above(self, p: Params) -> pl.Expr:
        return p(f"weights.{self.key}.above_share")

    def paths(self) -> list[str]:
        return [f"weights.{self.key}.above_share"] if self.spec.above_share is not None else []


class CountColumn(Counts):
    """A count column (school data) or a true/false flag summed per school (a roster)."""

    def expression(self, p: Params, at_most: float | None = None) -> pl.Expr:
        count = pl.col(self.spec.count)
        if self.spec.above_share is None:
            return count
        return pl.max_horizontal(count - self.above(p) * pl.col("enrollment"), pl.lit(0.0))

    def share(self, p: Params) -> pl.Expr:
        return pl.when(pl.col("enrollment") > 0).then(self.expression(p) / pl.col("enrollment")).otherwise(0.0)

    def cell(self, cells: Cells, at_most: float | None = None) -> str:
        count = cells.data(self.spec.count)
        if self.spec.above_share is None:
            return count
        return f"MAX({count}-{cells.rate(self.paths()[0])}*{cells.enrollment},0)"

    def at(self, school: School, at_most: float | None = None) -> float:
        count = school.inputs[self.spec.count]
        return max(count - self.spec.above_share * school.enrollment, 0.0) if self.spec.above_share is not None else count

    def phrases(self, school: School, at_most: float | None = None) -> list[Phrase]:
        if self.spec.above_share is None:
            return []
        return [above_share(self.spec.above_share, school.inputs[self.spec.count], self.spec.above_share * school.enrollment)]

    def described(self) -> Phrase:
        return Phrase.of("counted_column", column=self.spec.count)

    def needs(self) -> dict[str, str]:
        return {self.spec.count: "count"}


class ShareColumn(Counts):
    """A column holding a share of enrollment (LCFF's unduplicated pupil percentage)."""

    def share(self, p: Params) -> pl.Expr:
        share = pl.col(self.spec.share)
        return share if self.spec.above_share is None else pl.max_horizontal(share - self.above(p), pl.lit(0.0))

    def expression(self, p: Params, at_most: float | None = None) -> pl.Expr:
        return self.share(p) * pupils(at_most)

    def cell(self, cells: Cells, at_most: float | None = None) -> str:
        share = cells.data(self.spec.share)
        if self.spec.above_share is not None:
            share = f"MAX({share}-{cells.rate(self.paths()[0])},0)"
        return f"{share}*{pupils_cell(cells, at_most)}"

    def at(self, school: School, at_most: float | None = None) -> float:
        share = school.inputs[self.spec.share]
        return max(share - (self.spec.above_share or 0.0), 0.0) * counted_pupils(school, at_most)

    def phrases(self, school: School, at_most: float | None = None) -> list[Phrase]:
        share, enrollment = school.inputs[self.spec.share], counted_pupils(school, at_most)
        parts = [Phrase.of("share_of", column=self.spec.share, share=Share(share, 2), enrollment=Count(school.enrollment))]
        if at_most is not None:
            parts.append(Phrase.of("pupils_at_most", count=Count(at_most), pupils=Count(enrollment)))
        if self.spec.above_share is not None:
            parts.append(above_share(self.spec.above_share, share * enrollment, self.spec.above_share * enrollment))
        return parts

    def described(self) -> Phrase:
        return Phrase.of("counted_share", column=self.spec.share)

    def needs(self) -> dict[str, str]:
        return {self.spec.share: "share"}


class AtLevels(Counts):
    """Every pupil of a school whose level is one of `at_levels` (a weight for high schools)."""

    def levels(self) -> list[str]:
        return [level.lower() for level in self.spec.at_levels]

    def expression(self, p: Params, at_most: float | None = None) -> pl.Expr:
        return pl.when(pl.col("level").is_in(self.levels()).fill_null(False)).then(pupils(at_most)).otherwise(0.0)

    def share(self, p: Params) -> pl.Expr:
        return pl.when(pl.col("level").is_in(self.levels()).fill_null(False)).then(1.0).otherwise(0.0)

    def cell(self, cells: Cells, at_most: float | None = None) -> str:
        level = cells.data("level")
        return "IF(OR(" + ",".join(f"{level}={text(lvl)}" for lvl in self.levels()) + f"),{pupils_cell(cells, at_most)},0)"

    def at(self, school: School, at_most: float | None = None) -> float:
        return counted_pupils(school, at_most) if (school.inputs.get("level") or "") in self.levels() else 0.0

    def conditions(self) -> Words:
        return Words((Phrase.of("level", levels=Words(tuple(self.spec.at_levels), "or")),), "and")

    def phrases(self, school: School, at_most: float | None = None) -> list[Phrase]:
        applied = (school.inputs.get("level") or "") in self.levels()
        capped = [Phrase.of("pupils_at_most", count=Count(at_most), pupils=Count(counted_pupils(school, at_most)))] if at_most is not None else []
        return [Phrase.of("applies" if applied else "does_not_apply", conditions=self.conditions()), *capped]

    def described(self) -> Phrase:
        return Phrase.of("conditions", conditions=self.conditions())

    def needs(self) -> dict[str, str]:
        return {"level": "text"}


def counted_pupils(school: School, at_most: float | None) -> float:
    return school.enrollment if at_most is None else min(school.enrollment, at_most)


# -- the component ---------------------------------------------------------------------------


def pays(formula: Formula, key: str, spec: Weight) -> Pays:
    if spec.rates is not None:
        return Scheduled(formula, key, spec)
    if spec.per_pupil is not None:
        return Flat(formula, key, spec)
    if spec.of == PER_CAPITA:
        return OfPerCapita(formula, key, spec)
    if spec.of is not None:
        return OfSpan(formula, key, spec)
    return OfAverageBase(formula, key, spec)


class WeightComponent:
    """Counted pupils x dollars per counted pupil."""

    def __init__(self, formula: Formula, key: str, spec: Weight) -> None:
        self.formula, self.key, self.spec = formula, key, spec
        self.pays = pays(formula, key, spec)
        self.counts: Counts = (ShareColumn if spec.share is not None else AtLevels if spec.at_levels is not None else CountColumn)(key, spec)
        self.scaled = self.pays.scaled

    def quantities(self, p: Params, pupil_columns: tuple[str, ...]) -> list[pl.Expr]:
        return []

    def expression(self, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        if isinstance(self.pays, Scheduled):  # each step's rate on its own count (a step may cap the pupils counted)
            values = [self.counts.expression(p, step.pupils_at_most) * p(path) for step, path in zip(self.spec.rates, self.pays.paths())]
            return first_match(self.spec.rates, values).alias(self.key)
        return (self.counts.expression(p) * self.pays.expression(p)).alias(self.key)

    def cell(self, cells: Cells, pupil_columns: tuple[str, ...]) -> str:
        """Its unscaled dollars as a spreadsheet formula: what it counts x what it pays."""
        if isinstance(self.pays, Scheduled):
            values = [f"({self.counts.cell(cells, step.pupils_at_most)})*{cells.rate(path)}" for step, path in zip(self.spec.rates, self.pays.paths())]
            return first_match_cell(self.spec.rates, values, cells)
        return f"({self.counts.cell(cells)})*({self.pays.cell(cells)})"

    def rates(self) -> list[str]:
        return [*self.pays.paths(), *self.counts.paths()]

    def moves_with(self, paths) -> bool:
        return self.pays.moves_with(paths) or any(path in paths for path in self.counts.paths())

    def reads(self, pupil_columns: tuple[str, ...]) -> set[str]:
        return {*self.counts.needs(), *self.pays.needs(), "enrollment", BASE_PER_PUPIL}

    def needs(self) -> dict[str, str]:
        """The data columns it reads, by kind: a count of pupils, a share of enrollment, or text."""
        return self.counts.needs() | self.pays.needs()

    def per_span(self, p: Params, spans: list[pl.Expr]) -> list[pl.Expr] | None:
        return self.pays.per_span(p, self.counts.share(p), spans)

    def line(self, school: School) -> Line:
        at_most = self.pays.at_most(school) if isinstance(self.pays, Scheduled) else None
        count, rate = self.counts.at(school, at_most), self.pays.at(school)
        rule = (self.pays.phrase(school), *self.counts.phrases(school, at_most))
        if self.spec.above_share is not None:
            plain = Phrase.of("line_above_share", share=Share(self.spec.above_share, 0), rate=Money(rate, 0))
        else:
            plain = Phrase.of("line_weight", count=Count(count), rate=Money(rate, 0))
        return Line(self.key, self.spec.label, school.cents[self.key], Count(count), Money(rate, None), rule, (), plain,
                    self.formula.source_of(self.spec), self.spec.labels)

    def terms(self, scale: float) -> list[Term]:
        counted = self.counts.described()
        if self.spec.above_share is not None:
            counted = Phrase.of("counted_above", counted=counted, share=Share(self.spec.above_share, 0))
        out = []
        for (value, unit, rate, where), path in zip(self.pays.terms(), self.pays.paths()):
            used = None if rate is None else Money(rate * (scale if self.scaled else 1.0))
            applies = counted if where is None else Phrase.of("counted_where", counted=counted, where=where)
            out.append(Term(self.key, self.spec.label, "weight", value, unit, used, applies, self.formula.source_of(self.spec), path))
        return out


def above_share(share: float, count: float, threshold: float) -> Phrase:
    """The pupils above a share of enrollment; "none" where the count is not above it (not "214.98 − 295.9")."""
    kind = "above_share" if count > threshold else "above_share_none"
    return Phrase.of(kind, share=Share(share, 0), count=Count(count), threshold=Count(threshold))

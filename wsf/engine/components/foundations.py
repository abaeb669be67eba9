"""Foundations: flat dollars per school, or a small-school subsidy, each perhaps conditional.

The schema of a `[foundations.KEY]` table and its `when` condition are here, with what each
kind computes and how its line reads: a flat amount ("a fixed amount for each school that
qualifies") or Houston's subsidy (dollars for each pupil below a threshold, capped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import polars as pl
from pydantic import Field, model_validator

from wsf.engine.components.base import on_base
from wsf.engine.components.cells import Cells
from wsf.engine.components.conditions import Step, When, check_steps, first_match, first_match_cell, matching, pupils, pupils_cell
from wsf.engine.components.lines import Count, Line, Money, Phrase, Share, Term
from wsf.engine.params import BASE, Params, School
from wsf.formula.objects import Funding
from wsf.formula.types import Labels
from wsf.formula.types import Money as Dollars
from wsf.formula.types import Share as Fraction

if TYPE_CHECKING:
    from wsf.formula.model import Formula


class Foundation(Funding):
    """A `[foundations.KEY]` table: a flat amount per school, or a small-school subsidy (dollars
    per pupil short of a threshold); `objects` and `resource` as every line (`Funding`)."""

    label: str
    labels: Labels = {}
    amount: Dollars | None = None
    per_pupil_short: Dollars | None = None
    threshold: Annotated[int, Field(ge=0)] | None = None
    cap: Dollars | None = None
    cap_share_of_base: Fraction | None = None
    rates: Annotated[list[Step], Field(min_length=1)] | None = None  # or by a schedule: [{ when = {...}, amount = 5000, per_pupil = 200 }]
    when: When | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Foundation:
        subsidy = self.per_pupil_short is not None or self.threshold is not None
        if sum((self.amount is not None, subsidy, self.rates is not None)) != 1:
            raise ValueError("give one of `amount`, `per_pupil_short` with `threshold` (a small-school subsidy), or `rates` "
                             "(a schedule: [{ when = {...}, amount = 5000, per_pupil = 200 }, ...])")
        if self.rates is not None:
            check_steps(self.rates, ("amount", "per_pupil"))
        if subsidy and (self.per_pupil_short is None or self.threshold is None):
            raise ValueError("a small-school subsidy needs both `per_pupil_short` and `threshold`")
        if not subsidy and (self.cap is not None or self.cap_share_of_base is not None):
            raise ValueError("`cap` and `cap_share_of_base` only apply to a small-school subsidy")
        return self


class FlatFoundation:
    """A fixed amount for each school that qualifies."""

    scaled = False

    def __init__(self, formula: Formula, key: str, spec: Foundation) -> None:
        self.formula, self.key, self.spec = formula, key, spec

    def condition(self) -> pl.Expr:
        return self.spec.when.expression() if self.spec.when is not None else pl.lit(True)

    def amount(self, p: Params) -> pl.Expr:
        return p(f"foundations.{self.key}.amount")

    def quantities(self, p: Params, pupil_columns: tuple[str, ...]) -> list[pl.Expr]:
        return []

    def expression(self, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        return pl.when(self.condition()).then(self.amount(p)).otherwise(0.0).alias(self.key)

    def amount_cell(self, cells: Cells) -> str:
        return cells.rate(f"foundations.{self.key}.amount")

    def cell(self, cells: Cells, pupil_columns: tuple[str, ...]) -> str:
        """Its dollars as a spreadsheet formula: the amount where its conditions hold."""
        amount = self.amount_cell(cells)
        return amount if self.spec.when is None else f"IF({self.spec.when.cell(cells)},{amount},0)"

    def rates(self) -> list[str]:
        return [f"foundations.{self.key}.amount"]

    def moves_with(self, paths) -> bool:
        return any(path.startswith(f"foundations.{self.key}.") for path in paths)

    def reads(self, pupil_columns: tuple[str, ...]) -> set[str]:
        return {"enrollment", BASE, *self.needs()}

    def needs(self) -> dict[str, str]:
        return self.spec.when.needs() if self.spec.when is not None else {}

    def per_span(self, p: Params, spans: list[pl.Expr]) -> list[pl.Expr] | None:
        return None

    def conditions(self, applied: bool) -> list[Phrase]:
        if self.spec.when is None:
            return []
        return [Phrase.of("applies" if applied else "does_not_apply", conditions=self.spec.when.phrases())]

    def line(self, school: School) -> Line:
        cents = school.cents[self.key]
        applied = cents != 0
        return Line(self.key, self.spec.label, cents, Count(1 if applied else 0), Money(self.spec.amount, None),
                    (Phrase("foundation"), *self.conditions(applied)), (), Phrase("line_foundation"),
                    self.formula.source_of(self.spec), self.spec.labels)

    def applies_to(self) -> Phrase:
        return Phrase.of("conditions", conditions=self.spec.when.phrases()) if self.spec.when is not None else Phrase("every_school")

    def terms(self, scale: float) -> list[Term]:
        return [Term(self.key, self.spec.label, "foundation", Money(self.spec.amount), "per_school", Money(self.spec.amount),
                     self.applies_to(), self.formula.source_of(self.spec), f"foundations.{self.key}.amount")]


class SmallSchoolSubsidy(FlatFoundation):
    """Houston's: dollars for each pupil a school is short of a threshold, at most `cap` and at
    most a share of its base."""

    def amount(self, p: Params) -> pl.Expr:
        key, spec = self.key, self.spec
        short = pl.max_horizontal(spec.threshold - pl.col("enrollment"), pl.lit(0.0))
        caps = [short * p(f"foundations.{key}.per_pupil_short")]
        if spec.cap is not None:
            caps.append(p(f"foundations.{key}.cap"))
        if spec.cap_share_of_base is not None:
            caps.append(p(f"foundations.{key}.cap_share_of_base") * pl.col(BASE))
        return pl.min_horizontal(caps)

    def amount_cell(self, cells: Cells) -> str:
        key, spec = self.key, self.spec
        caps = [f"MAX({spec.threshold}-{cells.enrollment},0)*{cells.rate(f'foundations.{key}.per_pupil_short')}"]
        if spec.cap is not None:
            caps.append(cells.rate(f"foundations.{key}.cap"))
        if spec.cap_share_of_base is not None:
            caps.append(f"{cells.rate(f'foundations.{key}.cap_share_of_base')}*{cells.base}")
        return f"MIN({','.join(caps)})"

    def rates(self) -> list[str]:
        fields = ["per_pupil_short", *(f for f in ("cap", "cap_share_of_base") if getattr(self.spec, f) is not None)]
        return [f"foundations.{self.key}.{f}" for f in fields]

    def moves_with(self, paths) -> bool:
        return super().moves_with(paths) or (self.spec.cap_share_of_base is not None and on_base(paths))

    def line(self, school: School) -> Line:
        spec, cents = self.spec, school.cents[self.key]
        short = max(spec.threshold - school.enrollment, 0.0) if cents else 0.0
        rule = [Phrase.of("subsidy", rate=Money(spec.per_pupil_short), threshold=Count(spec.threshold), enrollment=Count(school.enrollment))]
        if spec.cap is not None:
            rule.append(Phrase.of("subsidy_cap", amount=Money(spec.cap)))
        if spec.cap_share_of_base is not None:
            rule.append(Phrase.of("subsidy_cap_share", share=Share(spec.cap_share_of_base, 0), amount=Money(spec.cap_share_of_base * school.amounts[BASE])))
        return Line(self.key, spec.label, cents, Count(short), Money(spec.per_pupil_short, None), (*rule, *self.conditions(cents != 0)), (),
                    Phrase("line_subsidy"), self.formula.source_of(spec), spec.labels)

    def terms(self, scale: float) -> list[Term]:
        applies = Phrase.of("pupils_short", threshold=Count(self.spec.threshold))
        if self.spec.when is not None:
            applies = Phrase.of("pupils_short_when", threshold=Count(self.spec.threshold), conditions=self.spec.when.phrases())
        return [Term(self.key, self.spec.label, "subsidy", Money(self.spec.per_pupil_short), "per_pupil", Money(self.spec.per_pupil_short),
                     applies, self.formula.source_of(self.spec), f"foundations.{self.key}.per_pupil_short")]


class ScheduledFoundation(FlatFoundation):
    """Dollars per school and per pupil by a schedule, the first step whose conditions hold (SFUSD's
    site discretionary: $5,000 + $200 per pupil at elementary and middle schools, $50,000 + $100 at high)."""

    def fields(self, i: int) -> list[str]:
        return [f for f in ("amount", "per_pupil") if getattr(self.spec.rates[i], f) is not None]

    def amount(self, p: Params) -> pl.Expr:
        path = f"foundations.{self.key}.rates"
        values = []
        for i in range(len(self.spec.rates)):
            fields = self.fields(i)
            amount = p(f"{path}[{i}].amount") if "amount" in fields else pl.lit(0.0)
            step = self.spec.rates[i]
            values.append(amount + (p(f"{path}[{i}].per_pupil") * pupils(step.pupils_at_most) if "per_pupil" in fields else 0.0))
        return first_match(self.spec.rates, values)

    def amount_cell(self, cells: Cells) -> str:
        path = f"foundations.{self.key}.rates"
        values = []
        for i, step in enumerate(self.spec.rates):
            parts = [cells.rate(f"{path}[{i}].amount")] if "amount" in self.fields(i) else []
            if "per_pupil" in self.fields(i):
                parts.append(f"{cells.rate(f'{path}[{i}].per_pupil')}*{pupils_cell(cells, step.pupils_at_most)}")
            values.append("(" + "+".join(parts) + ")")
        return first_match_cell(self.spec.rates, values, cells)

    def needs(self) -> dict[str, str]:
        steps = {column: kind for step in self.spec.rates if step.when is not None for column, kind in step.when.needs().items()}
        return super().needs() | steps

    def rates(self) -> list[str]:
        return [f"foundations.{self.key}.rates[{i}].{f}" for i in range(len(self.spec.rates)) for f in self.fields(i)]

    def step_phrase(self, step: Step, school: School | None) -> Phrase:
        values = {"amount": Money(step.amount or 0.0), "rate": Money(step.per_pupil or 0.0)}
        if school is not None:
            values["count"] = Count(counted(school, step))
        shape = "both" if step.amount and step.per_pupil else "per_pupil" if step.per_pupil else "amount"
        return Phrase.of(f"schedule_{shape}{'' if school is None else '_at'}", **values)

    def line(self, school: School) -> Line:
        spec, cents = self.spec, school.cents[self.key]
        i = matching(spec.rates, school.inputs) if spec.when is None or spec.when.holds(school.inputs) else None
        step = None if i is None else spec.rates[i]
        rule = [Phrase("schedule_none") if step is None else self.step_phrase(step, school)]
        if step is not None and step.pupils_at_most is not None:
            rule.append(Phrase.of("pupils_at_most", count=Count(step.pupils_at_most), pupils=Count(counted(school, step))))
        if step is not None and step.when is not None:
            rule.append(Phrase.of("applies", conditions=step.when.phrases()))
        simple = step is not None and not step.amount  # count x rate is the whole line
        return Line(self.key, spec.label, cents, Count(counted(school, step)) if simple else None, Money(step.per_pupil, None) if simple else None,
                    (*rule, *self.conditions(step is not None)), (), Phrase("line_schedule"), self.formula.source_of(spec), spec.labels)

    def terms(self, scale: float) -> list[Term]:
        out = []
        for i, step in enumerate(self.spec.rates):
            applies = Phrase.of("conditions", conditions=step.when.phrases()) if step.when is not None else Phrase("schedule_other")
            if step.pupils_at_most is not None:
                applies = Phrase.of("capped_where", where=applies, count=Count(step.pupils_at_most))
            value = Money(step.per_pupil) if step.per_pupil else Money(step.amount or 0.0)
            out.append(Term(self.key, self.spec.label, "foundation", value, "per_pupil" if step.per_pupil else "per_school", value,
                            Phrase.of("schedule_term", rule=self.step_phrase(step, None), applies=applies), self.formula.source_of(self.spec),
                            f"foundations.{self.key}.rates[{i}].{'per_pupil' if step.per_pupil else 'amount'}"))
        return out


def counted(school: School, step: Step) -> float:
    """The pupils a step's per-pupil rate is paid on at one school."""
    return school.enrollment if step.pupils_at_most is None else min(school.enrollment, step.pupils_at_most)


def foundation(formula: Formula, key: str, spec: Foundation) -> FlatFoundation:
    if spec.rates is not None:
        return ScheduledFoundation(formula, key, spec)
    return FlatFoundation(formula, key, spec) if spec.amount is not None else SmallSchoolSubsidy(formula, key, spec)

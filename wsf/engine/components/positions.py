"""Staffing rules: positions allocated by rule, each costed, so a school's budget is FTE and dollars.

A `[positions.KEY]` table says how much of a position a school gets (a fixed FTE, one per so
many pupils, so much for each of something, or by bands of enrollment), how that is rounded
(up, down or to the nearest step, within a minimum and maximum), whom it is for (`when`), its
class (locked, locked-plus, unlocked: what a school may change in its plan) and what one unit
costs (a `[costs.KEY]` entry: average salary and benefits, or an hourly rate). The allocation
table carries `KEY_fte` (the quantity: FTE, or daily hours) and `KEY` (its dollars, the
quantity x the cost, rounded half up once, so FTE x cost is the line to the cent). Positions are
fixed dollars: a pot's scale never changes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import polars as pl
from pydantic import ConfigDict, Field, model_validator

from wsf.engine.components.conditions import When
from wsf.engine.components.lines import Count, Label, Line, Money, Phrase, Quantity, Term, Words
from wsf.engine.params import Params, School
from wsf.formula.grades import parse_span
from wsf.formula.types import FIX, Key, Labels, LcapAction, Strict
from wsf.formula.types import Money as Dollars

if TYPE_CHECKING:
    from wsf.formula.model import Formula

FTE = "_fte"  # the allocation table's quantity column of a position: KEY_fte
MOST = {"fte": 500.0, "hours": 500.0}  # of one position at one school: more is a typo (a district total, a cost)
Amount = Annotated[float, Field(ge=0, le=MOST["fte"], allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
Unit = Literal["fte", "hours"]
CLASSES = ("locked", "locked_plus", "unlocked")
ROUNDING = ("none", "up", "down", "nearest")


class Cost(Strict):
    """A `[costs.KEY]` entry: what one unit of a position costs a year. A salaried position costs
    its average salary and benefits per 1.0 FTE; an hourly one `per_hour` for each of its daily
    hours, `days` a year."""

    label: str
    labels: Labels = {}
    salary: Dollars | None = None
    benefits: Dollars = 0.0
    per_hour: Dollars | None = None  # with benefits
    days: Annotated[int, Field(gt=0, le=366)] | None = None
    source: str | None = None
    unusual: bool = False  # a salary or hourly rate beyond the usual is meant

    @model_validator(mode="after")
    def _one_kind(self) -> Cost:
        if (self.salary is None) == (self.per_hour is None):
            raise ValueError("give `salary` (and `benefits`) for a position counted in FTE, or `per_hour` and `days` for one counted in hours")
        if self.per_hour is not None and (self.days is None or self.benefits):
            raise ValueError("an hourly cost is `per_hour` (with benefits) and `days` a year; `benefits` belongs to a salary")
        if self.salary is not None and self.days is not None:
            raise ValueError("`days` belongs to an hourly cost (`per_hour`), not to a salary")
        if not self.unusual:
            if self.salary is not None and 0 < self.salary < 1_000:
                raise ValueError(f"salary: {self.salary:g} is not a year's pay; did you mean {self.salary * 1000:,.0f} (thousands)?"
                                 f"{FIX}write dollars a year (98000); if {self.salary:g} is right, add `unusual = true`")
            if self.salary is not None and self.salary + self.benefits > 1_000_000:
                raise ValueError(f"salary and benefits of ${self.salary + self.benefits:,.0f} a year for one position is more than any "
                                 f"school position costs{FIX}check for an extra digit; if it is right, add `unusual = true`")
            if self.per_hour is not None and self.per_hour > 500:
                raise ValueError(f"per_hour: ${self.per_hour:,g} an hour is more than any hourly school position is paid"
                                 f"{FIX}write dollars an hour; if it is right, add `unusual = true`")
        return self

    @property
    def unit(self) -> Unit:
        return "fte" if self.salary is not None else "hours"

    @property
    def per_unit(self) -> float:
        """Dollars a year for 1.0 FTE, or for one daily hour."""
        return self.salary + self.benefits if self.salary is not None else self.per_hour * self.days

    def paths(self, key: str) -> list[str]:
        fields = ["salary", "benefits"] if self.salary is not None else ["per_hour"]
        return [f"costs.{key}.{f}" for f in fields if f != "benefits" or self.benefits]


class Band(Strict):
    """One band: `{ below = 400, fte = 0.5 }`; the last band has no `below` (every size above)."""

    below: Positive | None = None
    fte: Amount


class Position(Strict):
    """A `[positions.KEY]` table."""

    model_config = ConfigDict(populate_by_name=True)

    label: str
    labels: Labels = {}
    fte: Amount | None = None  # a fixed quantity at every school it is for
    per: Positive | None = None  # one per `per` of `of`: 1 per 24.75 pupils
    each: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] | None = None  # `each` for each one of `of`
    bands: Annotated[list[Band], Field(min_length=1)] | None = None
    of: str | None = None  # "enrollment" (the default), a data column, or a grade span ("K-3")
    round: Literal["none", "up", "down", "nearest"] = "none"
    step: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 1.0
    min: Amount | None = None
    max: Amount | None = None
    unit: Unit = "fte"
    class_: Literal["locked", "locked_plus", "unlocked"] = Field("locked", alias="class")
    cost: Dollars | Key | None = None  # dollars a year per unit, or a [costs] key
    when: When | None = None
    source: str | None = None
    lcap: LcapAction | None = None  # the LCAP action its money pays for (`wsf lcap tables` totals it)

    @model_validator(mode="after")
    def _one_rule(self) -> Position:
        rules = [f for f in ("fte", "per", "each", "bands") if getattr(self, f) is not None]
        if len(rules) != 1:
            raise ValueError("give exactly one of `fte` (a fixed quantity), `per` (one per so many of `of`), "
                             "`each` (so much for each one of `of`) or `bands`")
        if self.fte is not None and (self.of is not None or self.round != "none" or self.min is not None or self.max is not None):
            raise ValueError("a fixed `fte` is the quantity as written: `of`, `round`, `min` and `max` belong to `per`, `each` and `bands`")
        if self.each is not None and self.of is None:
            raise ValueError("`each` needs `of`, the column it is so much for each one of (e.g. of = \"tk_teacher_fte\")")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is more than max ({self.max:g})")
        if self.round == "none" and self.step != 1.0:
            raise ValueError("`step` is what `round` rounds to; give round = \"up\", \"down\" or \"nearest\" with it")
        if self.bands is not None:
            edges = [b.below for b in self.bands]
            if edges[-1] is not None or any(e is None for e in edges[:-1]):
                raise ValueError("bands: every band but the last gives `below`; the last (no `below`) holds every size above")
            if any(a >= b for a, b in zip(edges[:-2], edges[1:-1])):
                raise ValueError("bands: `below` must increase from one band to the next")
            if self.round != "none":
                raise ValueError("bands give their quantity as written; `round` belongs to `per` and `each`")
        if self.unit == "fte" and any(v is not None and v > MOST["fte"] for v in (self.fte, self.min, self.max)):
            raise ValueError(f"more than {MOST['fte']:g} FTE of one position at one school")
        return self

    @property
    def counted(self) -> str:
        return self.of or "enrollment"


def is_span(of: str) -> bool:
    """Is `of` a grade span (pupils in those grades) rather than a data column?"""
    try:
        parse_span(of)
    except ValueError:
        return False
    return any(c.isdigit() for c in of) or of.upper() in ("K", "TK")


class PositionComponent:
    """A position's quantity by rule, and its dollars: quantity x cost, rounded once."""

    scaled = False

    def __init__(self, formula: Formula, key: str, spec: Position) -> None:
        self.formula, self.key, self.spec = formula, key, spec
        self.quantity_column = key + FTE

    # -- what it costs ------------------------------------------------------------------------

    @property
    def cost(self) -> Cost | None:
        return self.formula.costs[self.spec.cost] if isinstance(self.spec.cost, str) else None

    @property
    def per_unit(self) -> float | None:
        if self.spec.cost is None:
            return None
        return self.cost.per_unit if self.cost is not None else float(self.spec.cost)

    def cost_expression(self, p: Params) -> pl.Expr:
        cost, key = self.cost, self.spec.cost
        if key is None:
            return pl.lit(0.0)
        if cost is None:
            return p(f"positions.{self.key}.cost")
        if cost.salary is not None:
            return p(f"costs.{key}.salary") + (p(f"costs.{key}.benefits") if cost.benefits else pl.lit(0.0))
        return p(f"costs.{key}.per_hour") * cost.days

    # -- how much of it --------------------------------------------------------------------------

    def counted(self, pupil_columns: tuple[str, ...]) -> pl.Expr:
        of = self.spec.counted
        if of != "enrollment" and is_span(of):
            return pl.sum_horizontal([pl.col(f"grade_{g}") for g in parse_span(of) if f"grade_{g}" in pupil_columns] or [pl.lit(0.0)])
        return pl.col(of).cast(pl.Float64)

    def raw(self, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        spec, path = self.spec, f"positions.{self.key}"
        if spec.fte is not None:
            return p(f"{path}.fte")
        counted = self.counted(pupil_columns)
        if spec.per is not None:
            return counted / p(f"{path}.per")
        if spec.each is not None:
            return counted * p(f"{path}.each")
        chain = None
        for band in spec.bands[:-1]:
            chain = (pl.when(counted < band.below) if chain is None else chain.when(counted < band.below)).then(band.fte)
        last = pl.lit(spec.bands[-1].fte)
        return chain.otherwise(last) if chain is not None else last

    def quantity(self, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        spec, path = self.spec, f"positions.{self.key}"
        q = self.raw(p, pupil_columns)
        if spec.round != "none":
            steps = (q / spec.step).round(9)
            steps = {"up": steps.ceil(), "down": steps.floor(), "nearest": (steps + 0.5).floor()}[spec.round]
            q = steps * spec.step
        if spec.max is not None:
            q = pl.min_horizontal(q, p(f"{path}.max"))
        if spec.min is not None:
            q = pl.max_horizontal(q, p(f"{path}.min"))
        q = q.round(6)
        if spec.when is not None:
            q = pl.when(spec.when.expression()).then(q).otherwise(0.0)
        return q.alias(self.quantity_column)

    def quantities(self, p: Params, pupil_columns: tuple[str, ...]) -> list[pl.Expr]:
        return [self.quantity(p, pupil_columns)]

    def expression(self, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        """Dollars: the quantity x the cost, rounded half up once to the formula's unit (a cent or a
        dollar), so the line is FTE x cost exactly and no later rounding moves it."""
        units = 100 / self.formula.rounding.unit_cents
        exact = pl.col(self.quantity_column) * self.cost_expression(p) * units
        return ((exact.round(6) + 0.5).floor() / units).alias(self.key)

    # -- what a sweep may vary ----------------------------------------------------------------------

    def rates(self) -> list[str]:
        spec, path = self.spec, f"positions.{self.key}"
        own = [f"{path}.{f}" for f in ("fte", "per", "each", "min", "max") if getattr(spec, f) is not None]
        if spec.cost is None:
            return own
        return [*own, *(self.cost.paths(spec.cost) if self.cost is not None else [f"{path}.cost"])]

    def moves_with(self, paths) -> bool:
        cost = f"costs.{self.spec.cost}." if isinstance(self.spec.cost, str) else None
        return any(path.startswith(f"positions.{self.key}.") or (cost and path.startswith(cost)) for path in paths)

    def reads(self, pupil_columns: tuple[str, ...]) -> set[str]:
        of = self.spec.counted
        counted = {f"grade_{g}" for g in parse_span(of)} & set(pupil_columns) if of != "enrollment" and is_span(of) else {of}
        return {"enrollment", *counted, *self.needs()}

    def needs(self) -> dict[str, str]:
        of = self.spec.counted
        own = {} if self.spec.fte is not None or of == "enrollment" or is_span(of) else {of: "number"}
        return own | (self.spec.when.needs() if self.spec.when is not None else {})

    def per_span(self, p: Params, spans: list[pl.Expr]) -> list[pl.Expr] | None:
        return None

    # -- its line ---------------------------------------------------------------------------------

    def counted_at(self, school: School) -> float:
        of = self.spec.counted
        if of != "enrollment" and is_span(of):
            return float(sum(school.inputs.get(f"grade_{g}") or 0.0 for g in parse_span(of)))
        return float(school.inputs[of] or 0.0)

    def of_phrase(self) -> Phrase:
        of = self.spec.counted
        if of == "enrollment":
            return Phrase("of_enrollment")
        return Phrase.of("of_span", span=of) if is_span(of) else Phrase.of("of_column", column=of)

    def rule(self, school: School | None) -> list[Phrase]:
        """How the quantity is set (with one school's numbers when given)."""
        spec, unit = self.spec, self.spec.unit
        if spec.fte is not None:
            parts = [Phrase.of("position_fixed", quantity=Quantity(spec.fte, unit))]
        elif spec.bands is not None:
            parts = [Phrase.of("position_bands", of=self.of_phrase(), bands=self.bands_phrase())]
        elif spec.per is not None:
            parts = [Phrase.of("position_per", quantity=Quantity(1, unit), per=Count(spec.per), of=self.of_phrase())]
        else:
            parts = [Phrase.of("position_each", quantity=Quantity(spec.each, unit), of=self.of_phrase())]
        if school is not None and spec.fte is None:
            counted = self.counted_at(school)
            raw = counted / spec.per if spec.per is not None else counted * spec.each if spec.each is not None else None
            parts.append(Phrase.of("position_counted", of=self.of_phrase(), count=Count(counted)))
            if raw is not None and spec.round != "none":
                parts.append(Phrase.of(f"position_round_{spec.round}", raw=Quantity(round(raw, 4), unit), step=Quantity(spec.step, unit)))
        elif spec.round != "none":
            parts.append(Phrase.of(f"position_rounds_{spec.round}", step=Quantity(spec.step, unit)))
        if spec.min is not None:
            parts.append(Phrase.of("position_min", quantity=Quantity(spec.min, unit)))
        if spec.max is not None:
            parts.append(Phrase.of("position_max", quantity=Quantity(spec.max, unit)))
        return parts

    def bands_phrase(self) -> Words:
        items, low = [], None
        for band in self.spec.bands:
            quantity = Quantity(band.fte, self.spec.unit)
            if band.below is None:
                items.append(Phrase.of("band_from", quantity=quantity, edge=Count(low)) if low is not None else Phrase.of("band_all", quantity=quantity))
            else:
                items.append(Phrase.of("band_below", quantity=quantity, edge=Count(band.below)))
            low = band.below
        return Words(tuple(items), "list")

    def cost_phrase(self, quantity: float | None = None) -> Phrase:
        if self.spec.cost is None:
            return Phrase("cost_none") if quantity is None else Phrase.of("cost_none_at", quantity=Quantity(quantity, self.spec.unit))
        cost = self.cost
        if cost is None:
            return Phrase.of(f"cost_{self.spec.unit}", rate=Money(self.per_unit))
        if cost.salary is not None:
            return Phrase.of("cost_salary", label=Label(cost.label, cost.labels), salary=Money(cost.salary), benefits=Money(cost.benefits))
        return Phrase.of("cost_hourly", label=Label(cost.label, cost.labels), rate=Money(cost.per_hour), days=Count(cost.days))

    def conditions(self, applies: bool) -> list[Phrase]:
        if self.spec.when is None:
            return []
        return [Phrase.of("applies" if applies else "does_not_apply", conditions=self.spec.when.phrases())]

    def line(self, school: School) -> Line:
        spec = self.spec
        quantity = school.amounts[self.quantity_column]
        applies = spec.when is None or spec.when.holds(school.inputs)
        rule = (*self.rule(school), self.cost_phrase(quantity), Phrase(f"class_{spec.class_}"), *self.conditions(applies))
        rate = None if self.per_unit is None else Money(self.per_unit, None)
        plain = Phrase.of(f"line_position_{spec.class_}", quantity=Quantity(quantity, spec.unit))
        return Line(self.key, spec.label, school.cents[self.key], Quantity(quantity, spec.unit), rate, rule, (), plain,
                    self.formula.source_of(spec), spec.labels)

    def terms(self, scale: float) -> list[Term]:
        spec = self.spec
        applies = Phrase.of("conditions", conditions=spec.when.phrases()) if spec.when is not None else Phrase("every_school")
        rate = None if self.per_unit is None else Money(self.per_unit)
        return [Term(self.key, spec.label, f"position_{spec.class_}", rate, f"per_{spec.unit}", rate,
                     Phrase.of("position_terms", rule=Words(tuple(self.rule(None)), "parts"), applies=applies),
                     self.formula.source_of(spec))]

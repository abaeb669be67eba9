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

from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Annotated, Literal

import polars as pl
from pydantic import ConfigDict, Field, model_validator

from wsf.engine.components.cells import Cells, rounded
from wsf.engine.components.conditions import When, first_match, matching
from wsf.engine.components.lines import Count, Label, Line, Money, Phrase, Quantity, Term, Words
from wsf.engine.params import Params, School
from wsf.formula.grades import parse_span
from wsf.formula.objects import Funding, SalaryObject
from wsf.formula.types import FIX, Key, Labels, Strict
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
    object: SalaryObject | None = None  # the SACS object its salary is charged to (1100 teachers); benefits to 3000-3999
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

    @property
    def exact_per_unit(self) -> Decimal:
        """`per_unit` exactly, from the numbers as written."""
        if self.salary is not None:
            return exact(self.salary) + exact(self.benefits)
        return exact(self.per_hour) * self.days

    def paths(self, key: str) -> list[str]:
        fields = ["salary", "benefits"] if self.salary is not None else ["per_hour"]
        return [f"costs.{key}.{f}" for f in fields if f != "benefits" or self.benefits]


class Band(Strict):
    """One band: `{ below = 400, fte = 0.5 }`; the last band has no `below` (every size above)."""

    below: Positive | None = None
    fte: Amount


RULE_FIELDS = ("fte", "per", "each", "bands", "of", "less", "round", "step", "min", "max")


class Rule(Strict):
    """How much of a position a school gets: a fixed `fte`, one `per` so many of `of`, so much for
    `each` one of `of`, or `bands` of `of`; rounded, and kept within `min` and `max`. A position
    gives one rule, or `rules` by the kind of school, each step one of these."""

    fte: Amount | None = None  # a fixed quantity at every school it is for
    per: Positive | None = None  # one per `per` of `of`: 1 per 24.75 pupils
    each: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] | None = None  # `each` for each one of `of`
    bands: Annotated[list[Band], Field(min_length=1)] | None = None
    of: str | None = None  # "enrollment" (the default), a data column, or a grade span ("K-3")
    less: dict[Key, Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]] = {}  # of, less so much for each one of a column
    round: Literal["none", "up", "down", "nearest"] = "none"
    step: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 1.0
    min: Amount | None = None
    max: Amount | None = None

    def check_rule(self) -> None:
        rules = [f for f in ("fte", "per", "each", "bands") if getattr(self, f) is not None]
        if len(rules) != 1:
            raise ValueError("give exactly one of `fte` (a fixed quantity), `per` (one per so many of `of`), "
                             "`each` (so much for each one of `of`) or `bands`")
        if self.fte is not None and (self.of is not None or self.less or self.round != "none" or self.min is not None or self.max is not None):
            raise ValueError("a fixed `fte` is the quantity as written: `of`, `less`, `round`, `min` and `max` belong to `per`, `each` and `bands`")
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
        if self.counted in self.less:
            raise ValueError(f"less: {self.counted!r} is what the rule counts; `less` takes so much away for each one of another column")

    @property
    def counted(self) -> str:
        return self.of or "enrollment"


class RuleStep(Rule):
    """One step of `rules`: a rule and the schools it is for (`when`); a step without `when` holds
    for every school (the last step, the rest)."""

    when: When | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> RuleStep:
        self.check_rule()
        return self


class Position(Rule, Funding):
    """A `[positions.KEY]` table: one rule (the fields of `Rule`), or `rules` by the kind of school;
    with `objects` and `resource`, as every line (`Funding`)."""

    model_config = ConfigDict(populate_by_name=True)

    label: str
    labels: Labels = {}
    rules: Annotated[list[RuleStep], Field(min_length=1)] | None = None  # the first step whose `when` holds
    unit: Unit = "fte"
    class_: Literal["locked", "locked_plus", "unlocked"] = Field("locked", alias="class")
    cost: Dollars | Key | None = None  # dollars a year per unit, or a [costs] key
    when: When | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> Position:
        if self.rules is None:
            self.check_rule()
            steps: list[Rule] = [self]
        else:
            own = [f for f in RULE_FIELDS if getattr(self, f) != Rule.model_fields[f].default]  # (a dump of the model gives the defaults)
            if own:
                raise ValueError(f"give the rule at the position or in `rules`, not both: move {', '.join(f'`{f}`' for f in own)} into the steps of `rules`")
            for i, step in enumerate(self.rules):
                if step.when is None and i != len(self.rules) - 1:
                    raise ValueError(f"rules[{i}] has no `when`, so it holds for every school and the steps after it never apply; put it last")
            steps = list(self.rules)
        if self.unit == "fte" and any(v is not None and v > MOST["fte"] for s in steps for v in (s.fte, s.min, s.max)):
            raise ValueError(f"more than {MOST['fte']:g} FTE of one position at one school")
        return self

    def steps(self, key: str) -> list[tuple[Rule, str]]:
        """Each rule with its key path: the position's own, or every step of `rules`."""
        path = f"positions.{key}"
        return [(self, path)] if self.rules is None else [(step, f"{path}.rules[{i}]") for i, step in enumerate(self.rules)]

    def counted_columns(self) -> set[str]:
        """What the rules count (`of`), each step's."""
        return {step.counted for step in (self.rules or [self])}
def exact(value: float) -> Decimal:
    """A number of the formula (or an FTE) as the decimal it was written as: 0.1 is 0.1."""
    return Decimal(repr(float(value)))


def costed(quantity: float, per_unit: Decimal, unit_cents: int = 1) -> int:
    """Cents of `quantity` units at `per_unit` dollars, rounded half up once to the formula's unit
    (a cent, or 100 cents for a dollar): `PositionComponent.expression` for one number, as a
    school plan costs a position line."""
    units = exact(quantity) * per_unit * 100 / unit_cents
    return int((units + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)) * unit_cents


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

    @property
    def exact_per_unit(self) -> Decimal:
        """`per_unit` exactly (0 for a position the district pays centrally)."""
        if self.spec.cost is None:
            return Decimal(0)
        return self.cost.exact_per_unit if self.cost is not None else exact(self.spec.cost)

    def cost_expression(self, p: Params) -> pl.Expr:
        cost, key = self.cost, self.spec.cost
        if key is None:
            return pl.lit(0.0)
        if cost is None:
            return p(f"positions.{self.key}.cost")
        if cost.salary is not None:
            return p(f"costs.{key}.salary") + (p(f"costs.{key}.benefits") if cost.benefits else pl.lit(0.0))
        return p(f"costs.{key}.per_hour") * cost.days

    def cost_cell(self, cells: Cells) -> str:
        """`cost_expression` as a spreadsheet formula over the named rates."""
        cost, key = self.cost, self.spec.cost
        if key is None:
            return "0"
        if cost is None:
            return cells.rate(f"positions.{self.key}.cost")
        if cost.salary is not None:
            return cells.rate(f"costs.{key}.salary") + (f"+{cells.rate(f'costs.{key}.benefits')}" if cost.benefits else "")
        return f"{cells.rate(f'costs.{key}.per_hour')}*{cost.days}"

    def cell(self, cells: Cells, pupil_columns: tuple[str, ...]) -> str:
        """Its dollars as a spreadsheet formula: its quantity (a value computed by wsf: the rules
        stay the engine's) x its cost, rounded once to the formula's unit as the expression is."""
        return rounded(f"{cells.quantity(self.quantity_column)}*({self.cost_cell(cells)})", self.formula.rounding.unit_cents)

    # -- how much of it --------------------------------------------------------------------------

    def counted(self, rule: Rule, path: str, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        """What a rule counts: pupils, pupils in a grade span, or a data column, less so much for
        each one of the columns of `less` (never below 0)."""
        of = rule.counted
        if of != "enrollment" and is_span(of):
            counted = pl.sum_horizontal([pl.col(f"grade_{g}") for g in parse_span(of) if f"grade_{g}" in pupil_columns] or [pl.lit(0.0)])
        else:
            counted = pl.col(of).cast(pl.Float64)
        if not rule.less:
            return counted
        taken = [p(f"{path}.less.{column}") * pl.col(column).cast(pl.Float64) for column in rule.less]
        return pl.max_horizontal(counted - pl.sum_horizontal(taken), pl.lit(0.0))

    def raw(self, rule: Rule, path: str, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        if rule.fte is not None:
            return p(f"{path}.fte")
        counted = self.counted(rule, path, p, pupil_columns)
        if rule.per is not None:
            return counted / p(f"{path}.per")
        if rule.each is not None:
            return counted * p(f"{path}.each")
        chain = None
        for band in rule.bands[:-1]:
            chain = (pl.when(counted < band.below) if chain is None else chain.when(counted < band.below)).then(band.fte)
        last = pl.lit(rule.bands[-1].fte)
        return chain.otherwise(last) if chain is not None else last

    def rounded(self, rule: Rule, path: str, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        q = self.raw(rule, path, p, pupil_columns)
        if rule.round != "none":
            steps = (q / rule.step).round(9)
            steps = {"up": steps.ceil(), "down": steps.floor(), "nearest": (steps + 0.5).floor()}[rule.round]
            q = steps * rule.step
        if rule.max is not None:
            q = pl.min_horizontal(q, p(f"{path}.max"))
        if rule.min is not None:
            q = pl.max_horizontal(q, p(f"{path}.min"))
        return q

    def quantity(self, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr:
        spec = self.spec
        if spec.rules is None:
            q = self.rounded(spec, f"positions.{self.key}", p, pupil_columns)
        else:  # the first step whose `when` holds; 0 where none does
            q = first_match(spec.rules, [self.rounded(rule, path, p, pupil_columns) for rule, path in spec.steps(self.key)])
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
        spec = self.spec
        own = [f"{path}.{f}" for rule, path in spec.steps(self.key) for f in ("fte", "per", "each", "min", "max") if getattr(rule, f) is not None]
        own += [f"{path}.less.{column}" for rule, path in spec.steps(self.key) for column in rule.less]
        if spec.cost is None:
            return own
        return [*own, *(self.cost.paths(spec.cost) if self.cost is not None else [f"positions.{self.key}.cost"])]

    def moves_with(self, paths) -> bool:
        cost = f"costs.{self.spec.cost}." if isinstance(self.spec.cost, str) else None
        return any(path.startswith(f"positions.{self.key}.") or (cost and path.startswith(cost)) for path in paths)

    def reads(self, pupil_columns: tuple[str, ...]) -> set[str]:
        counted = set()
        for rule, _ in self.spec.steps(self.key):
            of = rule.counted
            counted |= {f"grade_{g}" for g in parse_span(of)} & set(pupil_columns) if of != "enrollment" and is_span(of) else {of}
        return {"enrollment", *counted, *self.needs()}

    def needs(self) -> dict[str, str]:
        own: dict[str, str] = {}
        for rule, _ in self.spec.steps(self.key):
            of = rule.counted
            if rule.fte is None and of != "enrollment" and not is_span(of):
                own[of] = "number"
            own |= {column: "number" for column in rule.less}
            if isinstance(rule, RuleStep) and rule.when is not None:
                own |= rule.when.needs()
        return own | (self.spec.when.needs() if self.spec.when is not None else {})

    def per_span(self, p: Params, spans: list[pl.Expr]) -> list[pl.Expr] | None:
        return None

    # -- its line ---------------------------------------------------------------------------------

    def counted_at(self, rule: Rule, school: School) -> float:
        of = rule.counted
        if of != "enrollment" and is_span(of):
            counted = float(sum(school.inputs.get(f"grade_{g}") or 0.0 for g in parse_span(of)))
        else:
            counted = float(school.inputs[of] or 0.0)
        return max(counted - sum(v * float(school.inputs[c] or 0.0) for c, v in rule.less.items()), 0.0) if rule.less else counted

    def of_phrase(self, rule: Rule) -> Phrase:
        of = rule.counted
        if of == "enrollment":
            counted = Phrase("of_enrollment")
        else:
            counted = Phrase.of("of_span", span=of) if is_span(of) else Phrase.of("of_column", column=of)
        if not rule.less:
            return counted
        less = Words(tuple(Phrase.of("less_each", amount=Count(v), column=c) for c, v in rule.less.items()), "and")
        return Phrase.of("of_less", of=counted, less=less)

    def step_at(self, school: School) -> tuple[Rule | None, When | None]:
        """The rule that sets the school's quantity, and the `when` of its step (None: no step)."""
        if self.spec.rules is None:
            return self.spec, None
        i = matching(self.spec.rules, school.inputs)
        return (None, None) if i is None else (self.spec.rules[i], self.spec.rules[i].when)

    def rule(self, rule: Rule, school: School | None) -> list[Phrase]:
        """How a rule sets the quantity (with one school's numbers when given)."""
        unit = self.spec.unit
        whole = "_whole" if rule.step == 1 else ""  # "rounded up to a whole number", not "to a multiple of 1 FTE"
        if rule.fte is not None:
            parts = [Phrase.of("position_fixed", quantity=Quantity(rule.fte, unit))]
        elif rule.bands is not None:
            parts = [Phrase.of("position_bands", of=self.of_phrase(rule), bands=self.bands_phrase(rule))]
        elif rule.per is not None:
            parts = [Phrase.of("position_per", quantity=Quantity(1, unit), per=Count(rule.per), of=self.of_phrase(rule))]
        else:
            parts = [Phrase.of("position_each", quantity=Quantity(rule.each, unit), of=self.of_phrase(rule))]
        if school is not None and rule.fte is None:
            counted = self.counted_at(rule, school)
            raw = counted / rule.per if rule.per is not None else counted * rule.each if rule.each is not None else None
            parts.append(Phrase.of("position_counted", of=self.of_phrase(rule), count=Count(counted)))
            if raw is not None and rule.round != "none":
                parts.append(Phrase.of(f"position_round_{rule.round}{whole}", raw=Quantity(round(raw, 4), unit), step=Quantity(rule.step, unit)))
        elif rule.round != "none":
            parts.append(Phrase.of(f"position_rounds_{rule.round}{whole}", step=Quantity(rule.step, unit)))
        if rule.min is not None:
            parts.append(Phrase.of("position_min", quantity=Quantity(rule.min, unit)))
        if rule.max is not None:
            parts.append(Phrase.of("position_max", quantity=Quantity(rule.max, unit)))
        return parts

    def rule_at(self, school: School) -> list[Phrase]:
        """The rule of the school's step, with its numbers, and the conditions that chose it."""
        rule, when = self.step_at(school)
        if rule is None:
            return [Phrase("position_no_rule")]
        return [*self.rule(rule, school), *([Phrase.of("applies", conditions=when.phrases())] if when is not None else [])]

    def bands_phrase(self, rule: Rule) -> Words:
        items, low = [], None
        for band in rule.bands:
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
        # a school the position is not for: the rule in general, not computed on its numbers
        how = self.rule_at(school) if applies else self.rule(spec, None) if spec.rules is None else []
        rule = (*how, self.cost_phrase(quantity), Phrase(f"class_{spec.class_}"), *self.conditions(applies))
        rate = None if self.per_unit is None else Money(self.per_unit, None)
        plain = Phrase.of(f"line_position_{spec.class_}", quantity=Quantity(quantity, spec.unit))
        return Line(self.key, spec.label, school.cents[self.key], Quantity(quantity, spec.unit), rate, rule, (), plain,
                    self.formula.source_of(spec), spec.labels)

    def terms(self, scale: float) -> list[Term]:
        spec = self.spec
        rate = None if self.per_unit is None else Money(self.per_unit)
        out = []
        for rule, _ in spec.steps(self.key):
            when = [w for w in (spec.when, getattr(rule, "when", None)) if w is not None]
            if when:
                applies = Phrase.of("conditions", conditions=Words(tuple(part for w in when for part in w.phrases().items), "and"))
            else:
                applies = Phrase("schedule_other" if spec.rules is not None else "every_school")
            out.append(Term(self.key, spec.label, f"position_{spec.class_}", rate, f"per_{spec.unit}", rate,
                            Phrase.of("position_terms", rule=Words(tuple(self.rule(rule, None)), "parts"), applies=applies),
                            self.formula.source_of(spec)))
        return out

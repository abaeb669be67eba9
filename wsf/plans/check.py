"""Does each school's plan spend its allocation as the formula says?

A school's allocation is its funding lines: the base (with the transition, which a hold harmless
adds to and a gain cap takes from the school's general money), each weight, foundation and
position. Its School Plan for Student Achievement must balance per funding source (Cal. Ed.
Code 64001): every line spent to the cent. Per school this checks that

- every funding line is spent exactly: nothing unspent, nothing overspent;
- each locked position is planned at its allocated FTE and each locked-plus one at least at it,
  and a locked position's dollars pay for nothing else;
- restricted money (`objects` on the line) pays only for the objects it may;
- every position line is costed as the formula costs it: FTE x the cost's amount for one unit,
  half up once to the formula's unit (an amount given must be that; a blank one is computed);
- every position, funding line and school the plan names exists, and every school has a plan.

Every failure names the school, the line and the amount, and all of them are listed at once.
Money is integer cents throughout.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

import polars as pl

from wsf.data.schools import lost_zeros
from wsf.data.tables import ROW
from wsf.engine.allocate import TRANSITION, Allocation
from wsf.engine.components.positions import FTE, PositionComponent, costed
from wsf.errors import WsfError
from wsf.formula.model import Formula
from wsf.formula.objects import BENEFITS, ObjectRange, describe_objects, parse_object
from wsf.plans.read import Plan

BASE = "base"
LOCKED = ("locked", "locked_plus")


def usd(cents: int) -> str:
    """Cents as dollars for a message, exactly: 1234567 -> $12,345.67."""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{'-' if cents < 0 else ''}${whole:,}.{part:02d}"


def quantity(value: float) -> str:
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def rate(per_unit: Decimal) -> str:
    """Dollars a year for one unit: to the cent, or to as many places as the cost has."""
    cents = per_unit * 100
    return usd(int(cents)) if cents == cents.to_integral_value() else f"${per_unit:,}"


@dataclass(frozen=True)
class Priced:
    """What the formula says one unit of a plan's position costs, and what the position is."""

    key: str
    label: str
    labels: dict[str, str]
    unit: str  # fte or hours
    per_unit: Decimal  # dollars a year per unit (0: the district pays it centrally)
    salary: Decimal | None  # of per_unit, the salary (None: not split, charged whole to its object)
    object: str | None  # the salary's object, from the cost
    class_: str | None  # locked, locked_plus or unlocked for a [positions] key; None for a [costs] key
    hourly: tuple[float, int] | None = None  # an hourly cost's rate and days a year


def priced(formula: Formula, key: str) -> Priced | None:
    """A `[positions]` key (costed as the position is), else a `[costs]` key; None if neither."""
    if key in formula.positions:
        position = PositionComponent(formula, key, formula.positions[key])
        cost = position.cost
        salary = cost.exact_per_unit - Decimal(repr(cost.benefits)) if cost is not None and cost.salary is not None else None
        return Priced(key, position.spec.label, position.spec.labels, position.spec.unit, position.exact_per_unit, salary,
                      cost.object if cost is not None else None, position.spec.class_, _hourly(cost))
    if key in formula.costs:
        cost = formula.costs[key]
        salary = Decimal(repr(cost.salary)) if cost.salary is not None else None
        return Priced(key, cost.label, cost.labels, cost.unit, cost.exact_per_unit, salary, cost.object, None, _hourly(cost))
    return None


def _hourly(cost) -> tuple[float, int] | None:
    return (cost.per_hour, cost.days) if cost is not None and cost.per_hour is not None else None


@dataclass(frozen=True)
class Failure:
    school_id: str
    text: str  # the school, the line and the amount
    row: int = 0  # of the plan file; 0 for a school's own failure


@dataclass(frozen=True)
class PlanCheck:
    """A plan against an allocation. `lines`: the plan's lines that name a known school, a known
    funding line and (for a position) a known position, costed: `_row`, school_id, position,
    label, unit, fte, per_unit (dollars a year of one unit, for a position), key (the funding
    line), amount, salary and benefits (the cents of a position's amount in its salary object and
    in 3000-3999; an item's whole amount is `salary`), object, start, end (the item's range, or
    the position's salary object), goal, description and the translation columns. `balances`:
    school_id, key, allocated, planned, remaining (cents), for every line with money either way."""

    allocation: Allocation
    plan: Plan
    lines: pl.DataFrame
    balances: pl.DataFrame
    failures: tuple[Failure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures

    @cached_property
    def names(self) -> dict[str, str]:
        return dict(self.allocation.cents.select("school_id", "name").iter_rows())

    def error(self) -> WsfError:
        """Every failure, one a line, schools in order."""
        schools = len({f.school_id for f in self.failures})
        head = f"{len(self.failures)} problem{'s' if len(self.failures) != 1 else ''} in the plans of {schools} school{'s' if schools != 1 else ''}:"
        return WsfError("\n  ".join([head, *(f.text for f in self.failures)]), file=self.plan.path,
                        fix="correct the plan file and run `wsf plan check` again; every line above names the school, the line and the amount")

    def summary(self) -> pl.DataFrame:
        """Per school: school_id, name, allocated and planned (cents), FTE and the cents of positions and items."""
        per = self.lines.group_by("school_id").agg(
            pl.col("fte").filter(pl.col("unit") == "fte").sum().alias("fte"),
            pl.col("amount").filter(pl.col("position").is_not_null()).sum().alias("positions"),
            pl.col("amount").filter(pl.col("position").is_null()).sum().alias("items"),
            pl.len().alias("lines"),
        )
        money = self.balances.group_by("school_id").agg(pl.col("allocated").sum(), pl.col("planned").sum())
        return (self.allocation.cents.select("school_id", "name").join(money, on="school_id", how="left")
                .join(per, on="school_id", how="left").fill_null(0).sort("school_id"))


def funding_lines(allocation: Allocation) -> pl.DataFrame:
    """Per school and funding line, what the allocation gives (cents): the base with the transition."""
    model = allocation.formula.model
    cents = allocation.cents.with_columns((pl.col(BASE) + pl.col(TRANSITION)).alias(BASE))
    return cents.unpivot(index="school_id", on=model.line_keys, variable_name="key", value_name="allocated")


class Lines:
    """One plan's lines resolved against one formula: the funding line each names and, for a
    position, its cost; what cannot be resolved is a failure."""

    def __init__(self, allocation: Allocation, plan: Plan) -> None:
        self.allocation, self.plan = allocation, plan
        self.model = allocation.formula.model
        self.file = allocation.formula.path.name
        self.names = dict(allocation.cents.select("school_id", "name").iter_rows())
        self.failures: list[Failure] = []
        resources: dict[str, list[str]] = {}
        for key in self.model.line_keys:
            resource = self.model.funding_of(key).resource
            if resource is not None:
                resources.setdefault(resource, []).append(key)
        self.resources = resources

    def fail(self, row: dict, text: str) -> None:
        school = row["school_id"]
        self.failures.append(Failure(school, f"{school} {self.names.get(school, '')}: row {row[ROW]}: {text}", row[ROW]))

    def resolve(self) -> pl.DataFrame:
        out = []
        for row in self.plan.lines.iter_rows(named=True):
            if row["school_id"] not in self.names:
                continue  # a school the data lacks: one failure for all its rows (`unknown_schools`)
            key = self.funding(row)
            line = self.cost(row) if row["position"] is not None else self.item(row)
            if key is not None and line is not None:
                out.append({**row, **line, "key": key})
        schema = {**self.plan.lines.schema, "label": pl.String, "unit": pl.String, "per_unit": pl.Float64, "salary": pl.Int64,
                  "benefits": pl.Int64, "key": pl.String}
        return pl.DataFrame(out, schema=schema) if out else pl.DataFrame(schema=schema)

    def what(self, row: dict) -> str:
        if row["position"] is not None:
            return f"{row['position']} {quantity(row['fte'])} FTE" + (f" ({usd(row['amount'])})" if row["amount"] is not None else "")
        return f"{usd(row['amount'])} of {row['object']} ({row['description']})"

    def funding(self, row: dict) -> str | None:
        named = row["funding"]
        if named in self.model.line_keys:
            return named
        if named in self.resources:
            keys = self.resources[named]
            if len(keys) == 1:
                return keys[0]
            self.fail(row, f"resource {named} is the resource of {' and '.join(keys)}; name the line by its key ({self.what(row)})")
            return None
        if named == TRANSITION:
            self.fail(row, f"the transition is planned with the base, the school's general money: write base ({self.what(row)})")
            return None
        options = [*self.model.line_keys, *self.resources]
        near = difflib.get_close_matches(named, options, n=1, cutoff=0.6)
        padded = [r for r in self.resources if r.lstrip("0") == named.lstrip("0")]
        hint = (f"; did you mean {padded[0]!r}? (a spreadsheet drops a leading zero unless the column is text)" if padded
                else f"; did you mean {near[0]!r}?" if near else f"; the lines are {', '.join(options)}")
        self.fail(row, f"funding {named!r} is neither a line of the allocation nor a resource code of {self.file}{hint} ({self.what(row)})")
        return None

    def cost(self, row: dict) -> dict | None:
        price = priced(self.model, row["position"])
        if price is None:
            known = [*self.model.positions, *self.model.costs]
            near = difflib.get_close_matches(row["position"], known, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else (f"; its positions and costs are {', '.join(known)}" if known else
                                                                 "; the formula has no [positions] or [costs]")
            self.fail(row, f"position {row['position']!r} is neither a [positions] nor a [costs] key of {self.file}{hint} ({self.what(row)})")
            return None
        unit = self.model.rounding.unit_cents
        amount = costed(row["fte"], price.per_unit, unit)
        if row["amount"] is not None and row["amount"] != amount:
            self.fail(row, f"{row['position']} {quantity(row['fte'])} {'FTE' if price.unit == 'fte' else 'daily hours'} is planned at "
                           f"{usd(row['amount'])}, but the formula costs it {usd(amount)} ({quantity(row['fte'])} × "
                           f"{rate(price.per_unit)} a year); leave the amount blank to have it computed")
            return None
        salary = costed(row["fte"], price.salary) if price.salary is not None and amount else amount
        salary = min(salary, amount)
        written = row["object"] or price.object
        if written is None:
            self.fail(row, f"{row['position']} {quantity(row['fte'])} FTE ({usd(amount)}) has no object: give its salary's object in the object "
                           f"column (1100 teachers, 1200 counselors, 1300 administrators, 2100 aides, 2400 clerical), or object = \"...\" on "
                           f"its [costs] entry")
            return None
        found = parse_object(written)
        return {"label": price.label, "unit": price.unit, "per_unit": float(price.per_unit), "amount": amount, "salary": salary,
                "benefits": amount - salary, "object": str(found), "start": found.start, "end": found.end,
                "description": row["description"]}

    def item(self, row: dict) -> dict:
        return {"label": None, "unit": None, "per_unit": None, "salary": row["amount"], "benefits": 0}


def check_plan(allocation: Allocation, plan: Plan) -> PlanCheck:
    resolver = Lines(allocation, plan)
    lines = resolver.resolve()
    failures = resolver.failures + unknown_schools(allocation, plan)
    planned = lines.group_by("school_id", "key").agg(pl.col("amount").sum().alias("planned"))
    balances = (funding_lines(allocation).join(planned, on=["school_id", "key"], how="full", coalesce=True)
                .with_columns(pl.col("allocated", "planned").fill_null(0))
                .with_columns((pl.col("allocated") - pl.col("planned")).alias("remaining"))
                .filter((pl.col("allocated") != 0) | (pl.col("planned") != 0)))
    order = {key: i for i, key in enumerate(allocation.formula.model.line_keys)}
    balances = balances.with_columns(pl.col("key").replace_strict(order, return_dtype=pl.Int64).alias("_order")).sort("school_id", "_order").drop("_order")
    names = dict(allocation.cents.select("school_id", "name").iter_rows())
    planned_schools = set(plan.lines["school_id"].to_list())
    for school_id, name in names.items():
        if school_id not in planned_schools:
            total = int(allocation.cents.filter(pl.col("school_id") == school_id)["total"][0])
            failures.append(Failure(school_id, f"{school_id} {name}: no line in {plan.path.name} (allocated {usd(total)})"))
    for school_id, key, allocated, spent, remaining in balances.filter(pl.col("remaining") != 0).iter_rows():
        if school_id not in planned_schools:
            continue  # said once: no plan
        state = f"has {usd(remaining)} unspent" if remaining > 0 else f"is overspent by {usd(-remaining)}"
        failures.append(Failure(school_id, f"{school_id} {names[school_id]}: {key} {state} (allocated {usd(allocated)}, planned {usd(spent)})"))
    failures += locked_positions(allocation, lines, planned_schools) + restricted(allocation, lines, names)
    failures.sort(key=lambda f: (f.school_id, f.row, f.text))
    return PlanCheck(allocation, plan, lines, balances, tuple(failures))


def unknown_schools(allocation: Allocation, plan: Plan) -> list[Failure]:
    known = allocation.cents["school_id"]
    unknown = plan.lines.filter(~pl.col("school_id").is_in(known.implode()))
    data = allocation.sources[0].path.name if allocation.sources else "the school data"
    out = []
    for school_id, rows, amounts in unknown.group_by("school_id").agg(pl.col(ROW), pl.col("amount").fill_null(0).sum()).sort("school_id").iter_rows():
        hint = lost_zeros(pl.Series([school_id]), known, data)
        listed = ", ".join(map(str, rows[:5])) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        out.append(Failure(school_id, f"{school_id} (not in {data}): row{'s' if len(rows) > 1 else ''} {listed} plan {usd(amounts)} for a school "
                                      f"the school data does not have{hint}", rows[0]))
    return out


def locked_positions(allocation: Allocation, lines: pl.DataFrame, planned_schools: set[str]) -> list[Failure]:
    """Locked positions at their allocated FTE, locked-plus at least at it; their dollars for them alone."""
    model = allocation.formula.model
    out = []
    names = dict(allocation.cents.select("school_id", "name").iter_rows())
    fte = lines.group_by("school_id", "position").agg(pl.col("fte").sum())
    planned = {(s, p): f for s, p, f in fte.iter_rows()}
    for key, spec in model.positions.items():
        if spec.class_ not in LOCKED:
            continue
        unit = "FTE" if spec.unit == "fte" else "daily hours"
        for school_id, given, dollars in allocation.cents.select("school_id", key + FTE, key).iter_rows():
            if not given or school_id not in planned_schools:
                continue
            has = planned.get((school_id, key), 0.0)
            if spec.class_ == "locked" and abs(has - given) > 1e-9:
                out.append(Failure(school_id, f"{school_id} {names[school_id]}: {key} is a locked position of {quantity(given)} {unit} "
                                              f"({usd(dollars)}), placed by the district; the plan has {quantity(has)} {unit}"))
            elif spec.class_ == "locked_plus" and has < given - 1e-9:
                out.append(Failure(school_id, f"{school_id} {names[school_id]}: {key} is a locked-plus position of at least {quantity(given)} {unit} "
                                              f"({usd(dollars)}); the plan has {quantity(has)} {unit}"))
    locked = [k for k, spec in model.positions.items() if spec.class_ in LOCKED]
    others = lines.filter(pl.col("key").is_in(locked) & (pl.col("position").is_null() | (pl.col("position") != pl.col("key"))))
    for row in others.iter_rows(named=True):
        paid = f"position {row['position']}" if row["position"] else f"{row['object']} ({row['description']})"
        out.append(Failure(row["school_id"], f"{row['school_id']} {names[row['school_id']]}: row {row[ROW]}: {row['key']} pays {usd(row['amount'])} for "
                                             f"{paid}, but a locked position's dollars pay only for the position {row['key']}", row[ROW]))
    return out


def restricted(allocation: Allocation, lines: pl.DataFrame, names: dict[str, str]) -> list[Failure]:
    """Lines paid from restricted money buy only the objects it may: a position its salary's object
    and, for its benefits, 3000-3999."""
    model = allocation.formula.model
    out = []
    benefits = ObjectRange(*BENEFITS)
    for row in lines.iter_rows(named=True):
        allowed = model.funding_of(row["key"]).allowed
        if allowed is None:
            continue
        bought = [(ObjectRange(row["start"], row["end"]), row["salary"])] + ([(benefits, row["benefits"])] if row["benefits"] else [])
        for objects, cents in bought:
            if not objects.within(allowed):
                what = f"position {row['position']} {quantity(row['fte'])} FTE" if row["position"] else row["description"]
                out.append(Failure(row["school_id"], f"{row['school_id']} {names[row['school_id']]}: row {row[ROW]}: {row['key']} may pay only for "
                                                     f"objects {describe_objects(allowed)}, but pays {usd(cents)} for {objects} ({what})", row[ROW]))
    return out

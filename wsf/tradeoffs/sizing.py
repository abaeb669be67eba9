"""Sizing: each opportunity's current spending in the ledger, and the savings its rule gives at
the low and the high end of its benchmark. One function per rule kind (`RULES`), each in exact
arithmetic (fractions of cents), rounded half up to the cent once at the end.

A rule that lacks something, a driver the drivers file does not give or a benchmark the catalog
cannot source, is not sized, and says which; nothing is guessed. A rule whose benchmark the
district already beats frees nothing: its savings are 0, and the basis says what reaching the
benchmark would cost instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from wsf.tradeoffs.catalog import Benchmark, Catalog, Opportunity, Selector
from wsf.tradeoffs.drivers import Drivers, number
from wsf.tradeoffs.ledger import Ledger, spend


@dataclass(frozen=True)
class Sized:
    """One opportunity sized: cents of current spending (or revenue), savings at each end (None:
    not sized), and the basis: which codes and drivers it used, or why it could not be sized."""

    opportunity: Opportunity
    current: int
    low: int | None
    high: int | None
    basis: str
    need: str = ""  # not sized: what it needs, in a few words ("riders", "a benchmark")

    @property
    def sized(self) -> bool:
        return self.low is not None


class Missing(Exception):
    """What a rule needs and does not have: in words for the basis column, and in a few (`need`)."""

    def __init__(self, text: str, need: str) -> None:
        super().__init__(text)
        self.need = need


@dataclass(frozen=True)
class Inputs:
    """What a rule reads: the catalog, the drivers, the current spending and the budget (cents)."""

    catalog: Catalog
    drivers: Drivers
    current: int
    budget: int

    def driver(self, name: str) -> Fraction:
        if name not in self.drivers.values:
            label = self.catalog.drivers[name].label
            raise Missing(f"{name} ({label}) is not in the drivers file", label)
        scale = 100 if self.catalog.drivers[name].unit == "dollars" else 1  # money is cents
        return exact(self.drivers.values[name].value) * scale

    def benchmark(self, name: str) -> tuple[Fraction, Fraction, Benchmark]:
        mark = self.catalog.benchmarks[name]
        if not mark.sized:
            raise Missing(f"benchmark {name} has no value: {mark.why}", "a benchmark")
        scale = 100 if mark.unit == "dollars_per_unit" else 1  # money is cents
        return exact(mark.low) * scale, exact(mark.high) * scale, mark

    def value(self, name: str) -> tuple[Fraction, Fraction]:
        """A driver (one value) or a benchmark (its two ends), by name."""
        if name in self.catalog.benchmarks:
            low, high, _ = self.benchmark(name)
            return low, high
        value = self.driver(name)
        return value, value

    def shown(self, name: str) -> str:
        if name in self.catalog.benchmarks:
            mark = self.catalog.benchmarks[name]
            if mark.unit == "dollars_per_unit":
                return f"{mark.label} {money(exact(mark.low) * 100)}" + ("" if mark.low == mark.high else f" to {money(exact(mark.high) * 100)}")
            return f"{mark.label} {_range(mark.low, mark.high, mark.unit)}"
        return self.drivers.shown(name)


def exact(value: float) -> Fraction:
    """A TOML number as the decimal it was written as (0.1 is 1/10, not the float nearest it)."""
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _range(low: float, high: float, unit: str) -> str:
    def one(v: float) -> str:
        return f"{v:.1%}".replace(".0%", "%") if unit.startswith("share") else number(v)
    return one(low) if low == high else f"{one(low)} to {one(high)}"


def money(cents: Fraction | int) -> str:
    sign = "-" if cents < 0 else ""
    whole = round_cents(abs(cents))
    return f"{sign}${whole // 100:,}.{whole % 100:02d}"


def whole(cents: Fraction | int) -> str:
    """Whole dollars with thousands separators, rounded half up, as a page shows them across a
    room: $1,085,515 (the exact cents are in the basis)."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${round_cents(Fraction(abs(cents), 100)):,}"


def round_cents(value: Fraction | int) -> int:
    """Half up, to the cent."""
    return math.floor(Fraction(value) + Fraction(1, 2))


# -- the rules: each returns (savings at the low end, at the high end, how) in fractions of cents --

Result = tuple[Fraction, Fraction, str]


def share(rule, x: Inputs) -> Result:
    low, high, mark = x.benchmark(rule.rate)
    return low * x.current, high * x.current, f"{x.shown(rule.rate)} of {money(x.current)}"


def share_of_budget(rule, x: Inputs) -> Result:
    low, high, _ = x.benchmark(rule.rate)
    return low * x.budget, high * x.budget, f"{x.shown(rule.rate)} of the budget, {money(x.budget)}"


def staffing_ratio(rule, x: Inputs) -> Result:
    served, staff = x.driver(rule.served), x.driver(rule.staff)
    low, high, mark = x.benchmark(rule.ratio)
    if staff == 0:
        raise Missing(f"{rule.staff} is 0: no cost per position to price the ratio with", f"{rule.staff} above 0")
    cost = x.current / staff
    needed = [math.ceil(served / r) for r in (low, high)]
    savings = [(staff - n) * cost for n in needed]
    how = (f"{x.shown(rule.served)} at {x.shown(rule.ratio)} need {_range(needed[1], needed[0], '')} staff; "
           f"{x.shown(rule.staff)} at {money(cost)} each ({money(x.current)} / {number(staff)})")
    return savings[0], savings[1], how


def sections(rule, x: Inputs) -> Result:
    pupils, size = x.driver(rule.pupils), x.driver(rule.class_size)
    if size == 0:
        raise Missing(f"{rule.class_size} is 0", f"{rule.class_size} above 0")
    now = math.ceil(pupils / size)
    if rule.increase is not None:
        low, high, _ = x.benchmark(rule.increase)
        targets = (size + low, size + high)
    else:
        target = x.driver(rule.target)
        targets = (target, target)
    cost = x.current / now
    after = [math.ceil(pupils / t) for t in targets]
    how = (f"{x.shown(rule.pupils)} in {now:,} sections of {number(size)} now, {_range(after[1], after[0], '')} at "
           f"{_range(float(targets[0]), float(targets[1]), '')}; {money(cost)} a section ({money(x.current)} / {now:,})")
    return (now - after[0]) * cost, (now - after[1]) * cost, how


def per_unit(rule, x: Inputs) -> Result:
    units = x.driver(rule.units)
    low, high, _ = x.benchmark(rule.cost)
    savings = [x.current - c * units for c in (high, low)]
    now = x.current / units if units else Fraction(0)
    return savings[0], savings[1], f"{money(now)} per unit now ({money(x.current)} / {x.shown(rule.units)}) against {x.shown(rule.cost)}"


def days(rule, x: Inputs) -> Result:
    low, high = x.value(rule.days)
    scale = (Fraction(1), Fraction(1)) if rule.share is None else x.benchmark(rule.share)[:2]
    if rule.rate is not None:
        rate, rated = x.driver(rule.rate), x.shown(rule.rate)
        if x.catalog.drivers[rule.rate].unit != "dollars":
            raise Missing(f"{rule.rate} is in {x.catalog.drivers[rule.rate].unit}, not dollars a day", f"{rule.rate} in dollars")
    else:
        year, _, _ = x.benchmark(rule.year_days)
        rate, rated = x.current / year, f"{money(x.current)} / {x.shown(rule.year_days)}"
    share_text = "" if rule.share is None else f" x {x.shown(rule.share)}"
    return low * scale[0] * rate, high * scale[1] * rate, f"{x.shown(rule.days)}{share_text} x {money(rate)} a day ({rated})"


def revenue(rule, x: Inputs) -> Result:
    per, of = x.driver(rule.per), x.driver(rule.of)
    low, high, _ = x.benchmark(rule.gain)
    if per == 0:
        raise Missing(f"{rule.per} is 0", f"{rule.per} above 0")
    rate = x.current / per
    return (low * of * rate, high * of * rate,
            f"{money(rate)} earned per unit ({money(x.current)} / {x.shown(rule.per)}) x {x.shown(rule.gain)} of {x.shown(rule.of)}")


RULES: dict[str, Callable[..., Result]] = {
    "share": share, "share_of_budget": share_of_budget, "staffing_ratio": staffing_ratio, "sections": sections,
    "per_unit": per_unit, "days": days, "revenue": revenue,
}


def size(item: Opportunity, inputs: Inputs, selectors: list[Selector] | None = None) -> Sized:
    """One opportunity sized; `selectors` are the rows its spending was read from (its `spend`
    within the budget's funds), named in the basis."""
    where = codes(item.spend if selectors is None else selectors)
    try:
        low, high, how = RULES[item.sizing.kind](item.sizing, inputs)
    except Missing as missing:
        return Sized(item, inputs.current, None, None, f"not sized: {missing}; spending in {where}", missing.need)
    low, high = sorted((low, high))
    note = ""
    if high < 0:
        note = f"; already beyond the benchmark: reaching it would cost {money(-high)} to {money(-low)} more"
    elif low < 0:
        note = f"; at the low end reaching the benchmark would cost {money(-low)} more"
    return Sized(item, inputs.current, max(0, round_cents(low)), max(0, round_cents(high)), f"{how}{note}; spending in {where}")


def size_all(catalog: Catalog, ledger: Ledger, drivers: Drivers) -> tuple[int, list[Sized]]:
    """The budget (cents) and every opportunity sized, in the catalog's order."""
    budget = spend(ledger, [catalog.budget])
    sized = []
    for item in catalog.opportunity:
        selectors = within_budget(item.spend, catalog.budget)
        sized.append(size(item, Inputs(catalog, drivers, spend(ledger, selectors), budget), selectors))
    return budget, sized


def within_budget(selectors: list[Selector], budget: Selector) -> list[Selector]:
    """An opportunity's spending is in the budget it frees money for: a selector that names no
    fund reads the budget's funds (SACS: the General Fund, 01), so energy in the cafeteria fund
    is not counted as General Fund savings."""
    if budget.fund is None:
        return selectors
    return [s if s.fund is not None else s.model_copy(update={"fund": budget.fund}) for s in selectors]


def codes(selectors: list[Selector]) -> str:
    """Selectors as a reader checks them against the ledger: `fund 01, function 3700 + fund 01, object 7616`."""
    if not selectors:
        return "no codes of its own (SACS files it with other costs)"
    parts = []
    for selector in selectors:
        named = selector.named()
        parts.append(", ".join(f"{d} {' '.join(v)}" for d, v in named.items()) + ("" if "object" in named else " (expenditures)"))
    return " + ".join(parts)

"""The catalog of cost-savings opportunities: TOML -> dict -> one strict, frozen pydantic model.

A catalog (`formulas/tradeoffs/smarter-school-spending.toml`) holds everything the sizing reads
that is not the district's own data: the chart of accounts it is written for (SACS's major
objects), what "the budget" is, the focus areas, the cost drivers it knows, every benchmark with
its source, and the opportunities themselves, each with the ledger codes that hold its current
spending and one sizing rule. Numbers live here, never in Python; a benchmark the catalog
cannot source has no value and says why, and the opportunities that need it say they could not
be sized. Unknown keys are refused, and so is a value a careful reader would doubt (a share of
10 where 0.10 was meant, a low above its high).

Codes are matched against the ledger's own code tables when both are read (`check_codes`): a
catalog naming function 3610 where SACS has 3600 is an error, with the nearest codes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from wsf.errors import WsfError
from wsf.formula.model import line_of, read_toml, to_wsf_error
from wsf.formula.types import FIX, Key, Strict, as_fraction

REFERENCE = "docs/tradeoffs.md"
DIMENSIONS = ("fund", "resource", "goal", "function", "object")
CodeSpec = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,8}(-[0-9A-Za-z]{1,8})?$")]  # "3600" or "7100-7700"
Codes = Annotated[list[CodeSpec], Field(min_length=1)]
Text = Annotated[str, Field(min_length=1)]
Number = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
KINDS = ("expenditure", "other_outgo", "distributed", "transfer_out", "revenue", "collected", "other_source", "balance", "allocation")
EXPENDITURES = ("expenditure", "other_outgo")  # SACS's total expenditures: objects 1000-7499


def in_spec(code: str, spec: str) -> bool:
    """Is a ledger code one a code spec names: the code itself, or inside a numeric range?"""
    low, _, high = spec.partition("-")
    if not high:
        return code == spec
    return code.isdigit() and low.isdigit() and high.isdigit() and len(code) == len(low) and int(low) <= int(code) <= int(high)


def _check_ranges(specs: list[str] | None, field: str) -> None:
    for spec in specs or ():
        low, _, high = spec.partition("-")
        if high and not (low.isdigit() and high.isdigit() and len(low) == len(high) and int(low) <= int(high)):
            raise ValueError(f"{field}: {spec!r} is not a range of codes{FIX}write a range as LOW-HIGH of codes of one length, LOW first: \"7100-7700\"")


class Selector(Strict):
    """Rows of the ledger: every dimension it names must match one of its codes or ranges.
    Without `object`, the budget's expenditure objects (SACS 1000-7499) are meant."""

    fund: Codes | None = None
    resource: Codes | None = None
    goal: Codes | None = None
    function: Codes | None = None
    object: Codes | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Selector:
        for dimension in DIMENSIONS:
            _check_ranges(getattr(self, dimension), dimension)
        return self

    def named(self) -> dict[str, list[str]]:
        return {d: getattr(self, d) for d in DIMENSIONS if getattr(self, d) is not None}


class CatalogInfo(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    title: Text
    source: Text
    assembled: Text  # how the list of opportunities was put together, and from what


class Budget(Selector):
    """What "the budget" is: shares of budget (and the page's total) are of these rows."""

    label: Text


class MajorObject(Strict):
    """One major object of the chart: the ledger objects it rolls up, as SACS reports them."""

    codes: Codes
    major: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,8}$")]
    title: Text
    kind: Literal[KINDS]
    listed: bool = True  # false: codes the ledger uses that its object table does not list (SACS's PCRA)
    note: str | None = None

    @model_validator(mode="after")
    def _ranges(self) -> MajorObject:
        _check_ranges(self.codes, "codes")
        return self


class Chart(Strict):
    name: Text
    source: Text
    objects: Annotated[list[MajorObject], Field(min_length=1)]

    def major_of(self, code: str) -> MajorObject | None:
        return next((m for m in self.objects if any(in_spec(code, s) for s in m.codes)), None)

    @property
    def unlisted(self) -> set[str]:
        return {c for m in self.objects if not m.listed for c in m.codes}


class DriverInfo(Strict):
    label: Text
    unit: Literal["pupils", "ada", "fte", "schools", "square_feet", "days", "dollars", "riders", "meals", "ratio"]


class Benchmark(Strict):
    """A published number, its unit and source; `low` and `high` bound it (equal for a single
    estimate). Without them the benchmark says `why` there is no number to use."""

    label: Text
    unit: Literal["share", "share_of_budget", "served_per_staff", "dollars_per_unit", "pupils_per_class", "days"]
    low: Number | None = None
    high: Number | None = None
    source: Text
    why: str | None = None
    unusual: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> Benchmark:
        if (self.low is None) != (self.high is None):
            raise ValueError("give both low and high (equal for a single estimate), or neither and say why")
        if self.low is None:
            if not self.why:
                raise ValueError(f"a benchmark without low and high needs `why`: what is missing{FIX}give low and high with their source, or why = \"...\"")
            return self
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) is above high ({self.high:g}){FIX}low is the smaller end of the range")
        most = {"share": 1.0, "share_of_budget": 0.2, "served_per_staff": 1e6, "pupils_per_class": 15, "days": 366}.get(self.unit)
        if most is not None and self.high > most and not self.unusual:
            meant = f"; did you mean {as_fraction(self.high)}?" if self.unit.startswith("share") and self.high / 100 <= most else ""
            hint = "a share is a fraction (10% is 0.10); " if self.unit.startswith("share") else ""
            raise ValueError(f"high: {self.high:g} is more than a {self.unit.replace('_', ' ')} benchmark can be ({most:g}){meant}"
                             f"{FIX}{hint}if {self.high:g} is right, add `unusual = true` to the benchmark")
        return self

    @property
    def sized(self) -> bool:
        return self.low is not None


class Constraint(Strict):
    kind: Literal["contract", "state_rule", "federal_rule", "district_preference"]
    note: Text


class Share(Strict):
    """savings = rate x current spending (a share of it a benchmark says can be freed)."""

    kind: Literal["share"]
    rate: Key


class ShareOfBudget(Strict):
    """savings = rate x the budget (School Budget Hold'em's cards: each a percent of budget)."""

    kind: Literal["share_of_budget"]
    rate: Key


class StaffingRatio(Strict):
    """needed = ceil(served / ratio); savings = (staff - needed) x (current spending / staff)."""

    kind: Literal["staffing_ratio"]
    served: Key
    staff: Key
    ratio: Key


class Sections(Strict):
    """sections = ceil(pupils / class size); savings = (sections now - sections at the target
    class size) x cost per section (current spending / sections now). The target is the class
    size now plus `increase` (a benchmark), or `target` (a driver: a class size agreed)."""

    kind: Literal["sections"]
    pupils: Key
    class_size: Key
    increase: Key | None = None
    target: Key | None = None

    @model_validator(mode="after")
    def _one(self) -> Sections:
        if (self.increase is None) == (self.target is None):
            raise ValueError("give exactly one of `increase` (a benchmark: pupils more per class) or `target` (a driver: the class size to reach)")
        return self


class PerUnit(Strict):
    """savings = current spending - benchmark cost per unit x units."""

    kind: Literal["per_unit"]
    units: Key
    cost: Key


class Days(Strict):
    """savings = days x daily rate, days optionally times a share (days a policy avoids); the daily
    rate is a driver (`rate`) or the current spending over the days of a year (`year_days`)."""

    kind: Literal["days"]
    days: Key
    share: Key | None = None
    rate: Key | None = None
    year_days: Key | None = None

    @model_validator(mode="after")
    def _one(self) -> Days:
        if (self.rate is None) == (self.year_days is None):
            raise ValueError("give exactly one of `rate` (a driver: dollars a day) or `year_days` (a benchmark: days in the year the spending pays for)")
        return self


class Revenue(Strict):
    """savings = rate x gain x `of`: revenue earned per unit (current revenue / `per`) times the
    units a benchmark says can be gained (a share of `of`)."""

    kind: Literal["revenue"]
    per: Key
    gain: Key
    of: Key


Sizing = Annotated[Share | ShareOfBudget | StaffingRatio | Sections | PerUnit | Days | Revenue, Field(discriminator="kind")]
# which references of each kind are drivers (d) and benchmarks (b, with the unit it must have)
REFERENCES: dict[str, dict[str, tuple[str, str | None]]] = {
    "share": {"rate": ("b", "share")},
    "share_of_budget": {"rate": ("b", "share_of_budget")},
    "staffing_ratio": {"served": ("d", None), "staff": ("d", None), "ratio": ("b", "served_per_staff")},
    "sections": {"pupils": ("d", None), "class_size": ("d", None), "increase": ("b", "pupils_per_class"), "target": ("d", None)},
    "per_unit": {"units": ("d", None), "cost": ("b", "dollars_per_unit")},
    "days": {"days": ("db", "days"), "share": ("b", "share"), "rate": ("d", None), "year_days": ("b", "days")},
    "revenue": {"per": ("d", None), "gain": ("b", "share"), "of": ("d", None)},
}


class Opportunity(Strict):
    id: Annotated[int, Field(ge=1, le=99)]
    area: Key
    title: Text
    question: Text
    spend: list[Selector]  # empty: costs SACS files under no codes of their own (substitutes)
    drivers: list[Key] = []
    sizing: Sizing
    ease: Literal["easy", "moderate", "hard"]
    constraint: Constraint
    timing: Literal["recurring", "one_time"] = "recurring"
    source: Text


class Investment(Strict):
    """A card on the other side of the table: what a priority costs, as a share of the budget."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    title: Text
    share_of_budget: Annotated[float, Field(ge=0, le=0.2, allow_inf_nan=False)]
    timing: Literal["recurring", "one_time"] = "recurring"
    source: Text


class Catalog(Strict):
    catalog: CatalogInfo
    budget: Budget
    chart: Chart
    areas: Annotated[dict[Key, Text], Field(min_length=1)]
    drivers: dict[Key, DriverInfo] = {}
    benchmarks: dict[Key, Benchmark] = {}
    opportunity: Annotated[list[Opportunity], Field(min_length=1)]
    investment: list[Investment] = []

    @model_validator(mode="after")
    def _cross_checks(self) -> Catalog:
        both = sorted(set(self.drivers) & set(self.benchmarks))
        if both:
            raise ValueError(f"benchmarks.{both[0]}: {both[0]!r} is both a driver and a benchmark{FIX}a rule names either; rename one")
        order = list(self.areas)
        last = 0
        for i, item in enumerate(self.opportunity):
            if item.id != i + 1:
                raise ValueError(f"opportunity[{i}].id: opportunities are numbered 1, 2, 3... in the toolkit's order; this is number {i + 1}, not {item.id}")
            if item.area not in self.areas:
                raise ValueError(f"opportunity[{i}].area: {item.area!r} is not one of the [areas]: {', '.join(order)}")
            if order.index(item.area) < last:
                raise ValueError(f"opportunity[{i}].area: {item.area!r} comes after {order[last]!r}; opportunities are listed area by area, in the order of [areas]")
            last = order.index(item.area)
            for j, driver in enumerate(item.drivers):
                if driver not in self.drivers:
                    raise ValueError(f"opportunity[{i}].drivers[{j}]: {driver!r} is not one of the [drivers]{suggest(driver, self.drivers)}")
            self._check_rule(i, item.sizing)
        ids = [inv.id for inv in self.investment]
        repeated = sorted({x for x in ids if ids.count(x) > 1})
        if repeated:
            raise ValueError(f"investment: the id {repeated[0]!r} is used twice; each investment has its own id")
        return self

    def _check_rule(self, i: int, rule: Any) -> None:
        for field, (where, unit) in REFERENCES[rule.kind].items():
            name = getattr(rule, field)
            if name is None:
                continue
            place = f"opportunity[{i}].sizing.{field}"
            if name in self.benchmarks and "b" in where:
                if unit is not None and self.benchmarks[name].unit != unit:
                    raise ValueError(f"{place}: benchmark {name!r} is in {self.benchmarks[name].unit}; a {rule.kind} rule's {field} is in {unit}")
            elif name not in self.drivers or "d" not in where:
                kinds = {"b": "[benchmarks]", "d": "[drivers]", "db": "[drivers] or [benchmarks]"}[where]
                known = {**(self.drivers if "d" in where else {}), **(self.benchmarks if "b" in where else {})}
                raise ValueError(f"{place}: {name!r} is not one of the {kinds}{suggest(name, known)}")

    def reference(self, name: str) -> DriverInfo | Benchmark:
        return self.drivers.get(name) or self.benchmarks[name]


def suggest(name: str, known: dict[str, Any] | list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else (f"; they are: {', '.join(sorted(known))}" if known else "")


@dataclass(frozen=True)
class LoadedCatalog:
    model: Catalog
    path: Path
    sha256: str
    text: str

    def error(self, problem: str, key: str, fix: str | None = None) -> WsfError:
        return WsfError(problem, file=self.path, line=line_of(self.text, key), key=key, fix=fix)


def load_catalog(path: str | Path) -> LoadedCatalog:
    path = Path(path)
    raw, text, data = read_toml(path, "catalog", f"see {REFERENCE}", REFERENCE)
    return LoadedCatalog(validate(Catalog, data, path, text), path, hashlib.sha256(raw).hexdigest(), text)


def validate(model: type[Strict], data: dict[str, Any], path: Path, text: str) -> Any:
    """A model validated, or every fault as one WsfError naming file, line and key path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, WsfError] = {}
        for err in exc.errors(include_url=False):
            if err["type"] == "union_tag_invalid":  # a sizing kind the model lacks: name the kinds there are
                err = {**err, "type": "value_error", "ctx": {"error": f"unknown sizing kind {err['input'].get('kind')!r}; the kinds are {err['ctx']['expected_tags']}"}}
            error = to_wsf_error(err, path, text)
            if err["type"] == "extra_forbidden":
                error = WsfError(error.problem, file=path, line=error.line, key=error.key, fix=f"check the spelling against {REFERENCE}")
            errors.setdefault(f"{error.key}:{error.problem}", error)
        raise WsfError.many(list(errors.values())) from None


# -- against the ledger's code tables ------------------------------------------------------------


def selectors(catalog: Catalog) -> list[tuple[str, Selector]]:
    """Every selector of the catalog with its key path: the budget's and each opportunity's."""
    found: list[tuple[str, Selector]] = [("budget", catalog.budget)]
    for i, item in enumerate(catalog.opportunity):
        found += [(f"opportunity[{i}].spend[{j}]", s) for j, s in enumerate(item.spend)]
    return found


def check_codes(loaded: LoadedCatalog, codes: dict[str, dict[str, str]]) -> None:
    """Every code the catalog names, in the ledger's code tables (`codes`: dimension -> code ->
    title): an unknown one is an error with the nearest codes of its table. Ranges need not
    start or end on a code, but must hold one."""
    errors = []
    for place, selector in selectors(loaded.model):
        for dimension, specs in selector.named().items():
            table = codes.get(dimension)
            if table is None:
                errors.append(loaded.error(f"names {dimension} codes but the ledger has no {dimension} column", f"{place}.{dimension}",
                                           f"remove `{dimension}`, or give a ledger with a {dimension} column"))
                continue
            known = {**table, **{c: "" for c in loaded.model.chart.unlisted}} if dimension == "object" else table
            for spec in specs:
                if "-" in spec and any(in_spec(code, spec) for code in known):
                    continue
                if spec in known:
                    continue
                what = f"no {dimension} code lies in {spec}" if "-" in spec else f"{dimension} {spec} is not in the ledger's {dimension} table"
                errors.append(loaded.error(what, f"{place}.{dimension}", f"{nearest(spec.partition('-')[0], table)}"))
    if errors:
        raise WsfError.many(errors)


def nearest(code: str, table: dict[str, str]) -> str:
    """The codes next to `code` in its table, as a person would look them up: by number."""
    numeric = sorted(c for c in table if c.isdigit() and len(c) == len(code))
    if not code.isdigit() or not numeric:
        return f"codes look like {', '.join(sorted(table)[:4])}"
    below = [c for c in numeric if int(c) < int(code)][-1:]
    above = [c for c in numeric if int(c) > int(code)][:1]
    return "did you mean " + " or ".join(f"{c} ({table[c]})" for c in [*below, *above]) + "?"

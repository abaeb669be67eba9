"""A design team's plan: the savings it chooses and the priorities it funds, each one-time or
recurring, over one to five years, netted against a target (the Balance Tradeoffs Tool).

Savings come from the catalog's sized opportunities (at the plan's estimate, low or high, or an
amount the team writes with its reason); investments from the catalog's cards or the team's
own, each tagged with the LCAP goal and action it serves and California's state priorities.
A plan may send its net savings to the schools: `[schools] formula` names a WSF formula with a
`[pot]`, and the run writes a copy whose pot is raised by that share of the net, so `wsf
compare` of the two shows what each school gains.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from wsf.errors import WsfError
from wsf.formula.model import line_of, load_formula, read_toml
from wsf.formula.types import FIX, Strict
from wsf.tradeoffs.catalog import REFERENCE, Catalog, validate
from wsf.tradeoffs.sizing import Sized, money, round_cents

Dollars = Annotated[float, Field(ge=0, le=1e11, allow_inf_nan=False)]
Year = Annotated[int, Field(ge=1, le=5)]


class PlanInfo(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    title: Annotated[str, Field(min_length=1)]
    target: Annotated[float, Field(ge=-1e11, le=1e11, allow_inf_nan=False)]  # net savings a year the plan must reach
    years: Year = 1
    estimate: Literal["low", "high"] = "low"
    note: str | None = None


class Saving(Strict):
    opportunity: Annotated[int, Field(ge=1)]
    estimate: Literal["low", "high"] | None = None
    amount: Dollars | None = None  # the team's own figure instead of the catalog's (say why in `note`)
    note: str | None = None
    timing: Literal["recurring", "one_time"] | None = None
    start: Year = 1

    @model_validator(mode="after")
    def _why(self) -> Saving:
        if self.amount is not None and not self.note:
            raise ValueError(f"an amount of the team's own needs a `note` saying where it comes from{FIX}add note = \"...\"")
        if self.amount is not None and self.estimate is not None:
            raise ValueError("give an estimate (low, high) or an amount, not both")
        return self


class Spending(Strict):
    investment: str | None = None  # a catalog investment's id, or:
    title: str | None = None
    amount: Dollars | None = None
    note: str | None = None
    timing: Literal["recurring", "one_time"] | None = None
    start: Year = 1
    lcap_goal: str | None = None
    lcap_action: str | None = None
    state_priorities: list[Annotated[int, Field(ge=1, le=8)]] = []  # Education Code 52060(d), 1-8

    @model_validator(mode="after")
    def _what(self) -> Spending:
        if (self.investment is None) == (self.title is None):
            raise ValueError("give a catalog `investment` id, or a `title` and `amount` of the team's own")
        if self.title is not None and self.amount is None:
            raise ValueError(f"an investment of the team's own needs its `amount` (dollars a year, or once){FIX}add amount = 1_000_000")
        if self.investment is not None and self.amount is not None and not self.note:
            raise ValueError(f"an amount of the team's own for a catalog investment needs a `note` saying where it comes from{FIX}add note = \"...\"")
        return self


class Schools(Strict):
    formula: Annotated[str, Field(min_length=1)]  # relative to the plan file
    share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    year: Year = 1


class PlanFile(Strict):
    plan: PlanInfo
    saving: list[Saving] = []
    investment: list[Spending] = []
    schools: Schools | None = None

    @model_validator(mode="after")
    def _years(self) -> PlanFile:
        for kind, items in (("saving", self.saving), ("investment", self.investment)):
            for i, item in enumerate(items):
                if item.start > self.plan.years:
                    raise ValueError(f"{kind}[{i}].start: year {item.start} is after the plan's last year ({self.plan.years})")
        ids = [s.opportunity for s in self.saving]
        twice = sorted({x for x in ids if ids.count(x) > 1})
        if twice:
            raise ValueError(f"saving: opportunity {twice[0]} is chosen twice{FIX}choose each opportunity once")
        if self.schools is not None and self.schools.year > self.plan.years:
            raise ValueError(f"schools.year: year {self.schools.year} is after the plan's last year ({self.plan.years})")
        return self


@dataclass(frozen=True)
class Item:
    kind: str  # saving, investment
    ref: str  # opportunity id or investment id ("" for the team's own)
    title: str
    timing: str
    start: int
    cents: int  # a year (recurring) or once; positive
    basis: str
    lcap_goal: str = ""
    lcap_action: str = ""
    state_priorities: str = ""

    def in_year(self, year: int) -> int:
        """Signed cents in plan year `year`: savings add, investments subtract."""
        sign = 1 if self.kind == "saving" else -1
        on = year >= self.start if self.timing == "recurring" else year == self.start
        return sign * self.cents if on else 0


@dataclass(frozen=True)
class Plan:
    info: PlanInfo
    items: tuple[Item, ...]
    schools: Schools | None
    path: Path
    sha256: str

    @property
    def target(self) -> int:
        return round_cents(Fraction(repr(self.info.target)) * 100)

    def net(self, year: int) -> int:
        return sum(item.in_year(year) for item in self.items)

    def formula_path(self) -> Path | None:
        return None if self.schools is None else (self.path.parent / self.schools.formula).resolve()


def load_plan(path: str | Path, catalog: Catalog, sized: list[Sized], budget: int) -> Plan:
    path = Path(path)
    raw, text, data = read_toml(path, "plan", f"see {REFERENCE}", REFERENCE)
    model = validate(PlanFile, data, path, text)
    by_id = {s.opportunity.id: s for s in sized}
    cards = {inv.id: inv for inv in catalog.investment}
    items, errors = [], []
    for i, choice in enumerate(model.saving):
        key = f"saving[{i}]"
        found = by_id.get(choice.opportunity)
        if found is None:
            errors.append(WsfError(f"opportunity {choice.opportunity} is not in the catalog (it has 1 to {len(sized)})", file=path,
                                   line=line_of(text, key), key=f"{key}.opportunity"))
            continue
        item = found.opportunity
        if choice.amount is not None:
            cents, basis = round_cents(Fraction(repr(choice.amount)) * 100), f"the team's figure: {choice.note}"
        elif not found.sized:
            errors.append(WsfError(f"opportunity {item.id} ({item.title}) is not sized, so the plan cannot count it: {found.basis.removeprefix('not sized: ')}",
                                   file=path, line=line_of(text, key), key=key, fix="give the team's own `amount` and a `note`, or size it (drivers, benchmark)"))
            continue
        else:
            estimate = choice.estimate or model.plan.estimate
            cents, basis = (found.low if estimate == "low" else found.high), f"{estimate} estimate: {found.basis}"
        items.append(Item("saving", str(item.id), item.title, choice.timing or item.timing, choice.start, cents, basis))
    for i, spending in enumerate(model.investment):
        key = f"investment[{i}]"
        tags = {"lcap_goal": spending.lcap_goal or "", "lcap_action": spending.lcap_action or "",
                "state_priorities": " ".join(str(p) for p in spending.state_priorities)}
        if spending.investment is not None:
            card = cards.get(spending.investment)
            if card is None:
                errors.append(WsfError(f"investment {spending.investment!r} is not in the catalog", file=path, line=line_of(text, key),
                                       key=f"{key}.investment", fix=f"the catalog's investments are: {', '.join(cards) or 'none'}"))
                continue
            if spending.amount is not None:
                cents, basis = round_cents(Fraction(repr(spending.amount)) * 100), f"the team's figure: {spending.note}"
            else:
                cents = round_cents(Fraction(repr(card.share_of_budget)) * budget)
                basis = f"{card.share_of_budget:.1%} of the budget, {money(budget)} ({card.source})"
            items.append(Item("investment", card.id, spending.title or card.title, spending.timing or card.timing, spending.start, cents, basis, **tags))
        else:
            cents = round_cents(Fraction(repr(spending.amount)) * 100)
            items.append(Item("investment", "", spending.title, spending.timing or "recurring", spending.start, cents,
                              f"the team's figure{': ' + spending.note if spending.note else ''}", **tags))
    if errors:
        raise WsfError.many(errors)
    return Plan(model.plan, tuple(items), model.schools, path, hashlib.sha256(raw).hexdigest())


def plan_rows(plan: Plan) -> list[dict]:
    """plan.csv: each item's signed dollars per year, then the net, the target and the difference."""
    years = range(1, plan.info.years + 1)
    rows = []
    for item in plan.items:
        rows.append({"row": item.kind, "id": item.ref, "title": item.title, "timing": item.timing, "start_year": item.start,
                     **{f"year_{y}": item.in_year(y) for y in years}, "lcap_goal": item.lcap_goal, "lcap_action": item.lcap_action,
                     "state_priorities": item.state_priorities, "basis": item.basis})
    summary = {"net": [plan.net(y) for y in years], "target": [plan.target for _ in years]}
    summary["difference"] = [n - t for n, t in zip(summary["net"], summary["target"])]
    for name, values in summary.items():
        rows.append({"row": name, "id": "", "title": {"net": "net savings (savings - investments)", "target": "target: net savings a year the plan must reach",
                                                      "difference": "net - target (negative: short of the target)"}[name],
                     "timing": "", "start_year": None, **{f"year_{y}": v for y, v in zip(years, values)},
                     "lcap_goal": "", "lcap_action": "", "state_priorities": "", "basis": ""})
    return rows


# -- to the schools: a formula whose pot the net savings raise ----------------------------------

POT = re.compile(r"^(\s*amount\s*=\s*)([0-9_]+(?:\.[0-9_]+)?)(\s*(?:#.*)?)$")
ID = re.compile(r'^(\s*id\s*=\s*")([a-z0-9-]+)("\s*(?:#.*)?)$')


def raised_formula(plan: Plan) -> tuple[str, dict]:
    """The plan's formula with its `[pot] amount` raised by the schools' share of the net savings in
    the chosen year (to the formula's unit: whole dollars where it rounds to dollars) and its id
    marked; the text is otherwise the formula's own, comments and all. Returns it and a summary."""
    source = plan.formula_path()
    loaded = load_formula(source)
    model = loaded.model
    where = f"{plan.path.name}: schools.formula"
    if model.pot is None:
        raise WsfError(f"{source.name} has no [pot]: a plan's savings raise a formula's pot", key=where,
                       fix="name a formula with [pot] amount = ... (solve = \"base\"), e.g. formulas/sfusd/wsf-2022-23-pot.toml")
    if model.salary_table is not None:
        raise WsfError(f"{source.name} reads a salary table beside it, which a copy in the output folder would not find", key=where,
                       fix="give the costs in the formula's [costs], or raise the pot by hand")
    net = plan.net(plan.schools.year)
    unit = model.rounding.unit_cents
    added = max(0, round_cents(Fraction(repr(plan.schools.share)) * net) // unit * unit)
    new_pot = round_cents(Fraction(repr(model.pot.amount)) * 100) + added
    text = source.read_text(encoding="utf-8-sig")
    lines, table, pot_lines, id_lines = text.splitlines(keepends=True), "", [], []
    for n, line in enumerate(lines):
        header = re.match(r"^\s*\[\s*([\w.]+)\s*\]", line)
        if header:
            table = header[1]
        elif table == "pot" and POT.match(line.rstrip("\n")):
            pot_lines.append(n)
        elif table == "formula" and ID.match(line.rstrip("\n")):
            id_lines.append(n)
    if len(pot_lines) != 1 or len(id_lines) != 1:
        raise WsfError(f"cannot find one `amount = ...` line under [pot] and one `id = \"...\"` under [formula] in {source.name}", key=where,
                       fix="write the pot as [pot] then amount = 123_000_000 on its own line")
    new_id = f"{model.formula.id}-plus-{plan.info.id}"
    amount = f"{new_pot // 100}" if new_pot % 100 == 0 else f"{new_pot // 100}.{new_pot % 100:02d}"
    lines[pot_lines[0]] = POT.sub(lambda m: f"{m[1]}{amount}{m[3]}", lines[pot_lines[0]].rstrip("\n")) + "\n"
    lines[id_lines[0]] = ID.sub(lambda m: f"{m[1]}{new_id}{m[3]}", lines[id_lines[0]].rstrip("\n")) + "\n"
    header = (f"# {source.name} with its pot raised by {plan.schools.share:.0%} of the net savings of plan {plan.info.id!r} in year "
              f"{plan.schools.year} ({money(added)}), written by wsf tradeoffs: compare the two with wsf compare.\n")
    written = header + "".join(lines)
    check = tomllib.loads(written)
    before = tomllib.loads(text)
    assert check["pot"]["amount"] * 100 == new_pot or abs(check["pot"]["amount"] * 100 - new_pot) < 0.5, "the raised pot did not read back"
    assert {k: v for k, v in check.items() if k not in ("pot", "formula")} == {k: v for k, v in before.items() if k not in ("pot", "formula")}
    return written, {"formula": source.name, "formula_sha256": loaded.sha256, "id": new_id, "year": plan.schools.year,
                     "share": plan.schools.share, "net": net, "added": added, "pot_before": new_pot - added, "pot_after": new_pot}

"""The district's school formula beside its LCAP: what each action's tagged lines send to schools,
what the schools' site plans spend on each action, and each school's unduplicated pupil
percentage for the schoolwide rule.

A line of the formula (a weight, a foundation or a position) names the action its money pays for
with `lcap = "2.1"`; the allocation's column of that line, summed over the schools in cents, is
what the weighted student formula sends to schools for the action.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

from wsf.data.tables import ROW, DataWarning
from wsf.engine.allocate import Allocation
from wsf.errors import WsfError
from wsf.lcap.actions import Actions
from wsf.lcap.grants import unduplicated
from wsf.lcap.numbers import money_text
from wsf.lcap.tables import DOLLARS, TEXT, Column, Table

COLUMNS = (
    Column("action", "Action #", TEXT), Column("title", "Action Title", TEXT), Column("line", "Formula line", TEXT),
    Column("label", "Line label", TEXT), Column("schools", "Schools funded", TEXT), Column("amount", "Sent to schools by the formula", DOLLARS, True),
    Column("lcff_funds", "Action's planned LCFF Funds", DOLLARS), Column("total_funds", "Action's planned Total Funds", DOLLARS),
)


def tagged(allocation: Allocation) -> list[tuple[str, str, str, str]]:
    """(key path, line key, action, label) of every line with an `lcap` tag, in the formula's order."""
    model = allocation.formula.model
    kinds = {**{k: "weights" for k in model.weights}, **{k: "foundations" for k in model.foundations}, **{k: "positions" for k in model.positions}}
    labels = model.labelled_lines()
    out = []
    for key in model.line_keys:
        action = model.funding_of(key).lcap
        if action:
            out.append(("base" if key == "base" else f"{kinds[key]}.{key}", key, action, labels[key].label if key in labels else "Base"))
    return out


def by_action(allocation: Allocation, actions: Actions) -> Table:
    """One row per tagged line: the action, the line, how many schools it funds and the dollars it sends."""
    lines = tagged(allocation)
    if not lines:
        raise WsfError("no line of the formula names an LCAP action, so there is nothing to total per action", file=allocation.formula.path,
                       fix='tag the lines that pay for an action, e.g. lcap = "2.1" under [weights.supplemental]')
    known = actions.by_number()
    rows = []
    for path, key, number, label in lines:
        action = known.get(number)
        if action is None:
            raise WsfError(f'{path}.lcap: the line pays for action {number}, which {actions.path.name} does not list', file=allocation.formula.path,
                           key=f"{path}.lcap", fix=f"the actions are {', '.join(known)}: correct the tag, or add the action to the actions file")
        column = allocation.cents[key]
        rows.append({"action": number, "title": action.title, "line": key, "label": label, "schools": str(int((column != 0).sum())),
                     "amount": int(column.sum()), "lcff_funds": action.lcff_funds, "total_funds": action.total_funds})
    for number in dict.fromkeys(r["action"] for r in rows):
        sent = sum(r["amount"] for r in rows if r["action"] == number)
        action = known[number]
        if sent > action.total_funds:
            warnings.warn(f"{actions.path.name}: action {number} ({action.title}) plans {money_text(action.total_funds)}, but the formula's lines tagged "
                          f"{number} send {money_text(sent)} to schools: the LCAP understates what the action spends", DataWarning, stacklevel=2)
    return Table("wsf_by_action", "What the school formula sends per action", allocation.formula.model.formula.fiscal_year or "",
                 (), COLUMNS, tuple(rows))


def school_shares(allocation: Allocation) -> dict[str, tuple[str, Fraction | None]]:
    """school_id -> (name, unduplicated pupil percentage), as the school formula counts unduplicated pupils."""
    shares = unduplicated(allocation)
    if shares is None:
        raise WsfError("the school formula names no unduplicated count, so no school's unduplicated pupil percentage is known",
                       file=allocation.formula.path, fix='say which count it is: role = "unduplicated" on its weight, or [roles] unduplicated = "COLUMN"')
    names = dict(allocation.cents.select("school_id", "name").iter_rows())
    return {school: (names[school], share) for school, share in shares.items()}



PLAN_COLUMNS = (
    Column("action", "Action #", TEXT), Column("title", "Action Title", TEXT), Column("schools", "Schools", TEXT), Column("lines", "Plan lines", TEXT),
    Column("amount", "Planned by the site plans", DOLLARS, True), Column("lcff_funds", "Action's planned LCFF Funds", DOLLARS),
    Column("total_funds", "Action's planned Total Funds", DOLLARS),
)


def by_plan(check, actions: Actions) -> Table:
    """What the schools' site plans (`wsf.plans.check.PlanCheck`, passed) spend per action: a plan
    line's own `lcap` action, else its funding line's tag. Only a plan that balances is summed."""
    if not check.ok:
        raise check.error()
    model = check.allocation.formula.model
    tags = {key: model.funding_of(key).lcap for key in model.line_keys}
    known = actions.by_number()
    totals: dict[str, dict] = {}
    for line in check.lines.iter_rows(named=True):
        number = line["lcap"] or tags.get(line["key"])
        if number is None:
            continue
        if number not in known:
            where = "its lcap column" if line["lcap"] else f"its funding line {line['key']}'s tag in {check.allocation.formula.path.name}"
            raise WsfError(f"school {line['school_id']}: the line pays for action {number} ({where}), which {actions.path.name} does not list",
                           file=check.plan.path, row=line[ROW], key="column lcap", fix=f"the actions are {', '.join(known)}: correct the action, or add it")
        entry = totals.setdefault(number, {"schools": set(), "lines": 0, "amount": 0})
        entry["schools"].add(line["school_id"])
        entry["lines"] += 1
        entry["amount"] += line["amount"]
    rows = tuple({"action": n, "title": known[n].title, "schools": str(len(totals[n]["schools"])), "lines": str(totals[n]["lines"]),
                  "amount": totals[n]["amount"], "lcff_funds": known[n].lcff_funds, "total_funds": known[n].total_funds}
                 for n in known if n in totals)
    return Table("plans_by_action", "What the school site plans spend per action", model.formula.fiscal_year or "", (), PLAN_COLUMNS, rows)

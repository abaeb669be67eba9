"""The LCAP's rules for actions, each a small named function; a fault names its action and rule.

What a contributing action may be (5 CCR 15496(b) and the CDE template's instructions for the
action tables), checked on the actions as read. The thresholds are regulation, kept here with
their section; nothing else in the package states them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from wsf.errors import WsfError
from wsf.lcap.actions import Action, Actions
from wsf.lcap.numbers import money_text, percent_text


@dataclass(frozen=True)
class Threshold:
    """An unduplicated pupil percentage below which a wider scope must say why (5 CCR 15496(b))."""

    share: Fraction
    scope: str  # the Action.scope it governs
    where: str  # "district", "school"
    needs: str  # what the justification must describe
    source: str


LEA_WIDE = Threshold(Fraction(55, 100), "lea_wide", "district",
                     "how the action is the most effective use of the funds to meet the district's goals for its unduplicated pupils",
                     "5 CCR 15496(b)(1)-(2): a school district under 55% unduplicated pupils may spend districtwide only with that description")
SCHOOLWIDE = Threshold(Fraction(40, 100), "schoolwide", "school",
                       "how the action is principally directed to and effective in meeting the goals for unduplicated pupils",
                       "5 CCR 15496(b)(3)-(4): at a school under 40% unduplicated pupils a schoolwide action needs that description")
RULE_SOURCE = {
    "contributing_needs_lcff": "CDE LCAP instructions, Action Tables: contributing actions are paid from LCFF funds (Planned Expenditures for Contributing Actions)",
    "percentage_only_limited_unfunded": "CDE LCAP instructions, Planned Percentage of Improved Services: for a contributing action limited to unduplicated pupils that has no funding",
    "estimated_lcff_only_contributing": "CDE LCAP instructions, Contributing Actions Annual Update Table: estimated actual LCFF expenditures of contributing actions",
    "lea_wide_below_55_percent": LEA_WIDE.source,
    "schoolwide_below_40_percent": SCHOOLWIDE.source,
}


@dataclass(frozen=True)
class Context:
    """What the scope rules need beyond the actions: the LEA's unduplicated pupil percentage and kind,
    and each school's (id and name -> share), when school data was given."""

    lea_share: Fraction | None
    lea_kind: str  # district, county office, charter school
    schools: dict[str, tuple[str, Fraction | None]] | None = None  # school_id -> (name, unduplicated share)


Rule = Callable[[Actions, Action, Context], WsfError | None]


def lea_kind(code: str) -> str:
    """A 14-digit CDS code's kind of LEA: a charter school has its own school code; a county
    office's district code begins 10; the rest are school districts."""
    if len(code) == 14 and code.isdigit() and code[7:] != "0000000":
        return "charter school"
    return "county office" if code[2:4] == "10" else "district"


def _fault(actions: Actions, action: Action, rule: str, column: str, problem: str, fix: str) -> WsfError:
    return actions.error(action, column, f"rule {rule}: {problem}", f"{fix} ({RULE_SOURCE[rule]})")


def contributing_needs_lcff(actions: Actions, action: Action, context: Context) -> WsfError | None:
    """A contributing action spends LCFF dollars, or (limited, unfunded) counts a planned percentage."""
    if not action.contributing or action.lcff_funds > 0 or action.planned_percentage > 0:
        return None
    other = f" (its {money_text(action.total_funds)} are other funds)" if action.funded else ""
    return _fault(actions, action, "contributing_needs_lcff", "lcff_funds",
                  f"it contributes to increased or improved services but has $0.00 of LCFF funds{other} and no planned percentage of improved services",
                  "put the LCFF dollars that pay for it in lcff_funds; or, if it is an improvement without funding limited to unduplicated pupils, "
                  "give its planned_percentage; or mark it contributing = N")


def percentage_only_limited_unfunded(actions: Actions, action: Action, context: Context) -> WsfError | None:
    """A planned (or estimated actual) percentage of improved services is for an unfunded, limited, contributing action."""
    for column, share in (("planned_percentage", action.planned_percentage), ("estimated_actual_percentage", action.estimated_actual_percentage)):
        if not share:
            continue
        wrong = [why for why, bad in (("it does not contribute", not action.contributing),
                                      (f"its scope is {action.scope_text or 'not given'}, not limited to unduplicated student groups", action.scope != "limited"),
                                      (f"it has {money_text(action.total_funds)} of funding", action.funded)) if bad]
        if wrong:
            return _fault(actions, action, "percentage_only_limited_unfunded", column,
                          f"a {column.replace('_', ' ')} of {percent_text(share)} is for an improvement without funding, limited to unduplicated pupils, but {' and '.join(wrong)}",
                          f"count a funded action by its LCFF dollars and leave {column} blank; or make it a limited action without funding")
    return None


def estimated_lcff_only_contributing(actions: Actions, action: Action, context: Context) -> WsfError | None:
    """Estimated actual LCFF expenditures for contributing actions are reported for contributing actions only."""
    if action.contributing or not action.estimated_actual_lcff:
        return None
    return _fault(actions, action, "estimated_lcff_only_contributing", "estimated_actual_lcff",
                  f"it did not contribute, but reports {money_text(action.estimated_actual_lcff)} of estimated actual expenditures for contributing actions",
                  "leave estimated_actual_lcff blank for an action that does not contribute (its spending is in estimated_actual_funds), or mark it contributing = Y")


def lea_wide_below_55_percent(actions: Actions, action: Action, context: Context) -> WsfError | None:
    """An LEA-wide contributing action in a district under 55% unduplicated pupils says why it is the most effective use."""
    if not action.contributing or action.scope != LEA_WIDE.scope or action.justification or context.lea_kind != "district":
        return None
    if context.lea_share is None:
        return _fault(actions, action, "lea_wide_below_55_percent", "scope",
                      "it is LEA-wide, and the percentages file gives no unduplicated pupil percentage to check the district's against 55%",
                      "give the percentages of a formula that names its unduplicated count (role = \"unduplicated\"), or a justification")
    if context.lea_share >= LEA_WIDE.share:
        return None
    return _fault(actions, action, "lea_wide_below_55_percent", "justification",
                  f"it is LEA-wide in a district whose unduplicated pupils are {percent_text(context.lea_share)} of enrollment, under 55%, and gives no justification",
                  f"describe in its justification {LEA_WIDE.needs}; or limit it to unduplicated student groups")


def schoolwide_below_40_percent(actions: Actions, action: Action, context: Context) -> WsfError | None:
    """A schoolwide contributing action at a school under 40% unduplicated pupils says why it is principally directed."""
    if not action.contributing or action.scope != SCHOOLWIDE.scope or action.justification:
        return None
    if context.schools is None:
        return _fault(actions, action, "schoolwide_below_40_percent", "location",
                      f"it is schoolwide ({action.location}), and no school data says what share of each school's pupils are unduplicated",
                      "pass the district's school formula and data (--wsf FORMULA --schools FILE), or give a justification")
    chosen, unknown = schools_at(action.location, context.schools)
    if unknown:
        known = ", ".join(name for name, _ in list(context.schools.values())[:4])
        return _fault(actions, action, "schoolwide_below_40_percent", "location",
                      f"its location names {', '.join(map(repr, unknown))}, which the school data does not have",
                      f"name schools by school_id or as the school data names them (e.g. {known}), separated by ; after 'Specific Schools:'")
    low = [(name, share) for name, share in chosen if share is None or share < SCHOOLWIDE.share]
    if not low:
        return None
    shown = ", ".join(f"{name} ({'no pupils' if share is None else percent_text(share)})" for name, share in low[:3])
    more = f" and {len(low) - 3} more" if len(low) > 3 else ""
    return _fault(actions, action, "schoolwide_below_40_percent", "justification",
                  f"it is schoolwide at {shown}{more}, under 40% unduplicated pupils, and gives no justification",
                  f"describe in its justification {SCHOOLWIDE.needs}; or provide it only at schools of 40% or more")


def schools_at(location: str, schools: dict[str, tuple[str, Fraction | None]]) -> tuple[list[tuple[str, Fraction | None]], list[str]]:
    """The schools a location names ('All Schools', or 'Specific Schools: A; B' by id or name), and
    the names it gives that no school has. Names are separated by ; (or ,: a name with a comma in it,
    "Martin Luther King, Jr. Middle", is still one school). A location of grade spans is every
    school (the cautious reading)."""
    match = re.match(r"^\s*specific\s+schools?\s*:\s*(.+)$", location, re.IGNORECASE)
    if match is None:
        return list(schools.values()), []
    known = {**{_plain(name): (name, share) for name, share in schools.values()}, **{_plain(i): v for i, v in schools.items()}}
    chosen, unknown = [], []
    for part in match.group(1).split(";"):
        pieces = part.split(",")
        i = 0
        while i < len(pieces):
            j = next((j for j in range(len(pieces), i, -1) if _plain(",".join(pieces[i:j])) in known), None)
            if j is None:
                if pieces[i].strip():
                    unknown.append(pieces[i].strip())
                i += 1
            else:
                chosen.append(known[_plain(",".join(pieces[i:j]))])
                i = j
    return chosen, unknown


def _plain(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().lower()


PLAN_RULES: tuple[Rule, ...] = (contributing_needs_lcff, percentage_only_limited_unfunded, lea_wide_below_55_percent, schoolwide_below_40_percent)
UPDATE_RULES: tuple[Rule, ...] = (contributing_needs_lcff, percentage_only_limited_unfunded, estimated_lcff_only_contributing)


def check(actions: Actions, context: Context) -> None:
    """Every rule on every action; all faults at once (one WsfError)."""
    rules = UPDATE_RULES if actions.update else PLAN_RULES
    errors = [e for action in actions.actions for rule in rules if (e := rule(actions, action, context)) is not None]
    if errors:
        raise WsfError.many(errors)

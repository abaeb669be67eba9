"""An LCAP actions file (CSV or XLSX), read row by row into exact actions.

One row per action, with the columns of the CDE template's Data Entry Table, named in
snake_case (or renamed from the district's own headers by a mapping file). Last year's actions,
for the annual update, are the same file as adopted with three columns of estimated actuals
added. Every cell is read as text and parsed here: money to integer cents, percentages (with
their `%` sign) to fractions, Yes/No, a scope the template knows. Every fault in the file is
reported at once, each naming the row, the action, the column, what is wrong and what to write.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from wsf.data.tables import BLANK, ROW, Mapping, Table, read_table
from wsf.errors import WsfError
from wsf.lcap.numbers import NumberError, money_text, parse_money, parse_percent

MAX_ERRORS = 30  # a file with more faults than this is the wrong file or the wrong mapping: the first ones say so


@dataclass(frozen=True)
class Column:
    name: str  # wsf's name: the CSV header, the workbook column, the error's column
    header: str  # the CDE template's column heading
    kind: str  # text, goal, action, yes_no, scope, money, percent


PLAN = (
    Column("goal", "Goal #", "goal"),
    Column("action", "Action #", "action"),
    Column("title", "Action Title", "text"),
    Column("student_groups", "Student Group(s)", "text"),
    Column("contributing", "Contributing to Increased or Improved Services?", "yes_no"),
    Column("scope", "Scope", "scope"),
    Column("unduplicated_groups", "Unduplicated Student Group(s)", "text"),
    Column("location", "Location", "text"),
    Column("time_span", "Time Span", "text"),
    Column("total_personnel", "Total Personnel", "money"),
    Column("lcff_funds", "LCFF Funds", "money"),
    Column("other_state_funds", "Other State Funds", "money"),
    Column("local_funds", "Local Funds", "money"),
    Column("federal_funds", "Federal Funds", "money"),
    Column("planned_percentage", "Planned Percentage of Improved Services", "percent"),
)
ESTIMATED = (  # last year's actions: what was spent, as estimated before the year's books close
    Column("estimated_actual_funds", "Estimated Actual Expenditures (Total Funds)", "money"),
    Column("estimated_actual_lcff", "Estimated Actual Expenditures for Contributing Actions (LCFF Funds)", "money"),
    Column("estimated_actual_percentage", "Estimated Actual Percentage of Improved Services", "percent"),
)
OPTIONAL = (
    Column("justification", "Justification (5 CCR 15496(b))", "text"),  # why an LEA-wide or schoolwide action below its threshold is principally directed
    Column("total_non_personnel", "Total Non-personnel", "money"),  # the template computes these two; given, they are checked
    Column("total_funds", "Total Funds", "money"),
)
FUNDS = ("lcff_funds", "other_state_funds", "local_funds", "federal_funds")
SCOPES = {"lea_wide": "LEA-wide", "schoolwide": "Schoolwide", "limited": "Limited to Unduplicated Student Group(s)"}
SPELLINGS = {"leawide": "lea_wide", "schoolwide": "schoolwide", "limited": "limited",
             "limitedtounduplicatedstudentgroups": "limited", "limitedtounduplicatedstudentgroup": "limited"}
YES, NO = ("y", "yes"), ("n", "no")


@dataclass(frozen=True)
class Action:
    """One action, its money in cents and its percentages as fractions of the base grant."""

    row: int
    goal: str
    number: str
    title: str
    student_groups: str
    contributing: bool
    scope: str | None  # a SCOPES key; None for an action that does not contribute and gives none
    unduplicated_groups: str
    location: str
    time_span: str
    total_personnel: int
    lcff_funds: int
    other_state_funds: int
    local_funds: int
    federal_funds: int
    planned_percentage: Fraction
    justification: str = ""
    estimated_actual_funds: int | None = None
    estimated_actual_lcff: int | None = None
    estimated_actual_percentage: Fraction | None = None

    @property
    def total_funds(self) -> int:
        return sum(getattr(self, f) for f in FUNDS)

    @property
    def total_non_personnel(self) -> int:
        return self.total_funds - self.total_personnel

    @property
    def funded(self) -> bool:
        return self.total_funds > 0

    @property
    def named(self) -> str:
        return f"action {self.number} ({self.title})"

    @property
    def scope_text(self) -> str:
        return SCOPES.get(self.scope or "", "")


@dataclass(frozen=True)
class Actions:
    """The actions of one file, in its order, and where they came from."""

    actions: tuple[Action, ...]
    table: Table
    update: bool  # last year's actions, with estimated actuals

    @property
    def path(self) -> Path:
        return self.table.path

    @property
    def contributing(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.contributing)

    def by_number(self) -> dict[str, Action]:
        return {a.number: a for a in self.actions}

    def error(self, action: Action, column: str, problem: str, fix: str | None = None) -> WsfError:
        return WsfError(f"{action.named}: {problem}", file=self.path, row=action.row, key=f"column {column}", fix=fix)


def read_actions(path: str | Path, mapping: Mapping | None = None, update: bool = False) -> Actions:
    """The file's actions, or one WsfError listing every fault (the rules of `wsf.lcap.rules` come after)."""
    table = read_table(path, mapping)
    expected = (*PLAN, *(ESTIMATED if update else ()))
    _check_columns(table, expected)
    errors: list[WsfError] = []
    actions = []
    for cells in table.frame.iter_rows(named=True):
        action = _row(table, cells, update, errors)
        if action is not None:
            actions.append(action)
    _check_numbers(table, actions, errors)
    if errors:
        shown = errors[:MAX_ERRORS]
        if len(errors) > MAX_ERRORS:
            shown.append(WsfError(f"and {len(errors) - MAX_ERRORS} more faults", file=table.path,
                                  fix="so many faults usually mean another file, or a mapping that names the wrong columns"))
        raise WsfError.many(shown)
    return Actions(tuple(actions), table, update)


def _check_columns(table: Table, expected: tuple[Column, ...]) -> None:
    present = [c for c in table.frame.columns if c != ROW and not c.startswith(BLANK)]
    known = {c.name for c in (*expected, *OPTIONAL)}
    missing = [c.name for c in expected if c.name not in present]
    if missing and (misplaced := table.misplaced_header(missing)):
        raise misplaced
    errors = []
    for name in missing:
        header = next(c.header for c in expected if c.name == name)
        errors.append(WsfError(f"required column {name!r} ({header}) is missing", file=table.path, key=f"column {name}",
                               fix=f"the file's columns are: {', '.join(present)}; rename one, or map it in a mapping file "
                                   f"([columns] {name} = \"{header}\")"))
    for name in present:
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            hint = f"did you mean {near[0]!r}? " if near else ""
            errors.append(WsfError(f"unknown column {name!r}", file=table.path, key=f"column {name}",
                                   fix=f"{hint}an actions file has the columns {', '.join(c.name for c in expected)} "
                                       f"(and optionally {', '.join(c.name for c in OPTIONAL)}); a column wsf does not read is refused, so a misspelt one is never skipped"))
    if errors:
        raise WsfError.many(errors)


def _row(table: Table, cells: dict, update: bool, errors: list[WsfError]) -> Action | None:
    """One row parsed; its faults appended to `errors` (then None)."""
    row = cells[ROW]
    text = {k: ("" if v is None else re.sub(r"\s+", " ", str(v)).strip()) for k, v in cells.items() if k != ROW}
    who = f"action {text.get('action') or '?'}" + (f" ({text['title']})" if text.get("title") else "")
    before = len(errors)

    def fault(column: str, problem: str, fix: str | None = None) -> None:
        errors.append(WsfError(f"{who}: {problem}", file=table.path, row=row, key=f"column {column}", fix=fix))

    goal = _goal(text["goal"])
    if goal is None:
        fault("goal", f"{text['goal']!r} is not a goal number" if text["goal"] else "the goal number is blank", "write the goal's number: 1, 2, 3 ...")
    number = text["action"]
    if not re.fullmatch(r"[1-9][0-9]*\.[1-9][0-9]*", number):
        fault("action", f"{number!r} is not an action number" if number else "the action number is blank",
              "write goal.action, as the LCAP numbers it: 2.1 (in a spreadsheet, format the column as text, or 2.10 becomes 2.1)")
    elif goal is not None and not number.startswith(f"{goal}."):
        fault("action", f"action {number} is listed under goal {goal}; an action's number starts with its goal's",
              f"write {goal}.{number.split('.', 1)[1]}, or give the goal {number.split('.', 1)[0]}")
    if not text["title"]:
        fault("title", "the action has no title", "give every action its title, as the LCAP names it")
    contributing = text["contributing"].lower()
    if contributing not in (*YES, *NO):
        fault("contributing", f"{text['contributing']!r} is not Yes or No" if text["contributing"] else "is blank",
              "write Y (the action contributes to increased or improved services for unduplicated pupils) or N")
    scope = SPELLINGS.get(re.sub(r"[^a-z]", "", text["scope"].lower())) if text["scope"] else None
    if text["scope"] and scope is None:
        fault("scope", f"{text['scope']!r} is not a scope of the template", f"write one of {', '.join(SCOPES.values())}")
    if contributing in YES:
        for column, what in (("scope", "its scope"), ("unduplicated_groups", "the unduplicated student groups it serves"),
                             ("location", "where it is provided (All Schools, or Specific Schools: ...)")):
            if not text[column]:
                fault(column, f"the action contributes to increased or improved services but does not say {what}",
                      f"fill in {column} (5 CCR 15496(b)), or mark the action contributing = N")
    money, percent = {}, {}
    for column in (*[c.name for c in PLAN if c.kind == "money"], *(["estimated_actual_funds", "estimated_actual_lcff"] if update else []),
                   *(["total_funds", "total_non_personnel"] if "total_funds" in text or "total_non_personnel" in text else [])):
        if column not in text:
            continue
        try:
            money[column] = parse_money(text[column])
        except NumberError as error:
            fault(column, str(error), "write dollars to the cent, as 1234.56 or $1,234.56 (blank is $0)")
    for column in ("planned_percentage", *(["estimated_actual_percentage"] if update else [])):
        try:
            percent[column] = parse_percent(text[column])
        except NumberError as error:
            fault(column, str(error), "write the percentage of the base grant with its % sign, as the template shows it: 0.50%")
    if len(errors) > before:
        return None
    action = Action(
        row=row, goal=str(goal), number=number, title=text["title"], student_groups=text["student_groups"],
        contributing=contributing in YES, scope=scope, unduplicated_groups=text["unduplicated_groups"], location=text["location"],
        time_span=text["time_span"], **{k: money[k] for k in ("total_personnel", *FUNDS)}, planned_percentage=percent["planned_percentage"],
        justification=text.get("justification", ""),
        estimated_actual_funds=money.get("estimated_actual_funds"), estimated_actual_lcff=money.get("estimated_actual_lcff"),
        estimated_actual_percentage=percent.get("estimated_actual_percentage"),
    )
    for column in ("total_funds", "total_non_personnel"):
        if column in money and money[column] != getattr(action, column):
            fault(column, f"{column} is {money_text(money[column])}, but the action's funds give {money_text(getattr(action, column))}",
                  "the template computes it (LCFF + other state + local + federal funds, less personnel for non-personnel): correct the funds, or leave the column out")
    return None if len(errors) > before else action


def _goal(text: str) -> int | None:
    """A goal number; `2.0` is how a spreadsheet writes the number 2."""
    match = re.fullmatch(r"([1-9][0-9]*)(\.0+)?", text)
    return int(match.group(1)) if match else None


def _check_numbers(table: Table, actions: list[Action], errors: list[WsfError]) -> None:
    """What no single cell shows: duplicate actions, personnel above the total, estimated LCFF above the estimated total."""
    seen: dict[str, Action] = {}
    for action in actions:
        if action.number in seen:
            first = seen[action.number]
            errors.append(WsfError(f"action {action.number} is listed twice (rows {first.row} and {action.row})", file=table.path, row=action.row,
                                   key="column action", fix="give each action its own number; in a spreadsheet an action 1.10 typed as a number becomes 1.1: format the column as text"))
        seen.setdefault(action.number, action)
        if action.total_personnel > action.total_funds:
            errors.append(WsfError(f"{action.named}: total personnel {money_text(action.total_personnel)} is more than the action's total funds "
                                   f"{money_text(action.total_funds)}", file=table.path, row=action.row, key="column total_personnel",
                                   fix="personnel is part of the action's funds (LCFF + other state + local + federal): check both"))
        lcff, funds = action.estimated_actual_lcff, action.estimated_actual_funds
        if lcff is not None and funds is not None and lcff > funds:
            errors.append(WsfError(f"{action.named}: estimated actual LCFF expenditures {money_text(lcff)} are more than its estimated actual total "
                                   f"{money_text(funds)}", file=table.path, row=action.row, key="column estimated_actual_lcff",
                                   fix="the LCFF funds spent on an action are part of its total: check both"))

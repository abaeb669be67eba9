"""The five action tables of the CDE LCAP template, with their numbered formulas, exactly.

Total Planned Expenditures, Contributing Actions, Annual Update, Contributing Actions Annual
Update and LCFF Carryover, as the template's instructions for the action tables number them
(1 to 13). Money is integer cents and every percentage an exact fraction of the base grant; the
one amount the template derives from a percentage (12, the carryover in dollars) is rounded half
up to the cent once, and 13 is 10 less 11 exactly, as the template's own workbook computes it.
Renderers only show these values: nothing is computed again for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from wsf.lcap.actions import SCOPES, Action, Actions
from wsf.lcap.grants import Lea
from wsf.lcap.numbers import half_up

TEMPLATE = "CDE LCAP template (5 CCR 15497.5), Instructions: Action Tables"
DOLLARS, PERCENT, TEXT = "dollars", "percent", "text"


@dataclass(frozen=True)
class Item:
    """A numbered field of a table: CDE's number (or a name where the template gives none), its
    wording, its exact value (cents, or a fraction of the base grant) and how it is computed."""

    key: str
    label: str
    value: int | Fraction
    unit: str  # DOLLARS or PERCENT
    formula: str = ""  # "2 divided by 1", as the template writes it; "" for an input


@dataclass(frozen=True)
class Column:
    name: str  # the CSV and workbook column
    header: str  # the template's heading
    unit: str  # DOLLARS, PERCENT or TEXT
    total: bool = False  # summed in the table's totals row


@dataclass(frozen=True)
class Table:
    name: str  # file name: contributing_actions.csv
    title: str  # the template's title
    year: str  # the LCAP year (coming) or the year updated (current)
    items: tuple[Item, ...]
    columns: tuple[Column, ...]
    rows: tuple[dict, ...]  # per action: column name -> cents, fraction or text

    def item(self, key: str) -> Item:
        return next(i for i in self.items if i.key == key)

    def totals(self) -> dict[str, int | Fraction]:
        return {c.name: sum((r[c.name] for r in self.rows), Fraction(0) if c.unit == PERCENT else 0) for c in self.columns if c.total}


@dataclass(frozen=True)
class Tables:
    """Every table of one LEA's LCAP year, in the template's order, and what the plan falls short by."""

    lea: Lea
    tables: tuple[Table, ...]
    actions: Actions
    update: Actions | None = None
    estimated: Lea | None = None  # the current year's grants, for the annual update
    links: Table | None = None  # what the school formula sends per action
    plans: Table | None = None  # what the schools' site plans spend per action
    notes: tuple[str, ...] = field(default=())

    @property
    def extra(self) -> tuple[Table, ...]:
        """The tables beside the template's: the school formula's and the site plans' per action."""
        return tuple(t for t in (self.links, self.plans) if t is not None)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def has(self, name: str) -> bool:
        return any(t.name == name for t in self.tables)

    @property
    def required(self) -> Fraction:
        return self.table("contributing_actions").item("total_percentage").value

    @property
    def planned(self) -> Fraction:
        return self.table("contributing_actions").item("planned_percentage").value

    @property
    def shortfall(self) -> Fraction:
        """Points of the required percentage the plan does not meet (0 when it does)."""
        return max(Fraction(0), self.required - self.planned)

    @property
    def shortfall_cents(self) -> int:
        return half_up(self.shortfall * self.lea.base)


def _yes(action: Action) -> str:
    return "Yes" if action.contributing else "No"


PLANNED_COLUMNS = (
    Column("goal", "Goal #", TEXT), Column("action", "Action #", TEXT), Column("title", "Action Title", TEXT),
    Column("student_groups", "Student Group(s)", TEXT), Column("contributing", "Contributing to Increased or Improved Services?", TEXT),
    Column("scope", "Scope", TEXT), Column("unduplicated_groups", "Unduplicated Student Group(s)", TEXT), Column("location", "Location", TEXT),
    Column("time_span", "Time Span", TEXT), Column("total_personnel", "Total Personnel", DOLLARS, True),
    Column("total_non_personnel", "Total Non-personnel", DOLLARS, True), Column("lcff_funds", "LCFF Funds", DOLLARS, True),
    Column("other_state_funds", "Other State Funds", DOLLARS, True), Column("local_funds", "Local Funds", DOLLARS, True),
    Column("federal_funds", "Federal Funds", DOLLARS, True), Column("total_funds", "Total Funds", DOLLARS, True),
    Column("planned_percentage", "Planned Percentage of Improved Services", PERCENT, True),
)
CONTRIBUTING_COLUMNS = (
    Column("goal", "Goal #", TEXT), Column("action", "Action #", TEXT), Column("title", "Action Title", TEXT),
    Column("contributing", "Contributing to Increased or Improved Services?", TEXT), Column("scope", "Scope", TEXT),
    Column("unduplicated_groups", "Unduplicated Student Group(s)", TEXT), Column("location", "Location", TEXT),
    Column("lcff_funds", "Planned Expenditures for Contributing Actions (LCFF Funds)", DOLLARS, True),
    Column("planned_percentage", "Planned Percentage of Improved Services (%)", PERCENT, True),
)
UPDATE_COLUMNS = (
    Column("goal", "Last Year's Goal #", TEXT), Column("action", "Last Year's Action #", TEXT), Column("title", "Prior Action/Service Title", TEXT),
    Column("contributing", "Contributed to Increased or Improved Services?", TEXT),
    Column("planned_funds", "Last Year's Planned Expenditures (Total Funds)", DOLLARS, True),
    Column("estimated_actual_funds", "Estimated Actual Expenditures (Input Total Funds)", DOLLARS, True),
)
CONTRIBUTING_UPDATE_COLUMNS = (
    Column("goal", "Last Year's Goal #", TEXT), Column("action", "Last Year's Action #", TEXT), Column("title", "Prior Action/Service Title", TEXT),
    Column("contributing", "Contributing to Increased or Improved Services?", TEXT),
    Column("planned_lcff", "Last Year's Planned Expenditures for Contributing Actions (LCFF Funds)", DOLLARS, True),
    Column("estimated_actual_lcff", "Estimated Actual Expenditures for Contributing Actions (Input LCFF Funds)", DOLLARS, True),
    Column("planned_percentage", "Planned Percentage of Improved Services", PERCENT, True),
    Column("estimated_actual_percentage", "Estimated Actual Percentage of Improved Services (Input Percentage)", PERCENT, True),
)


def total_planned_expenditures(lea: Lea, actions: Actions) -> Table:
    rows = tuple({"goal": a.goal, "action": a.number, "title": a.title, "student_groups": a.student_groups, "contributing": _yes(a),
                  "scope": a.scope_text, "unduplicated_groups": a.unduplicated_groups, "location": a.location, "time_span": a.time_span,
                  "total_personnel": a.total_personnel, "total_non_personnel": a.total_non_personnel, "lcff_funds": a.lcff_funds,
                  "other_state_funds": a.other_state_funds, "local_funds": a.local_funds, "federal_funds": a.federal_funds,
                  "total_funds": a.total_funds, "planned_percentage": a.planned_percentage} for a in actions.actions)
    table = Table("total_planned_expenditures", "Total Planned Expenditures Table", lea.fiscal_year, (), PLANNED_COLUMNS, rows)
    sums = table.totals()
    items = tuple(Item(key, label, sums[key], DOLLARS, "sum of the column") for key, label in (
        ("lcff_funds", "Totals: LCFF Funds"), ("other_state_funds", "Totals: Other State Funds"), ("local_funds", "Totals: Local Funds"),
        ("federal_funds", "Totals: Federal Funds"), ("total_funds", "Totals: Total Funds"), ("total_personnel", "Totals: Total Personnel"),
        ("total_non_personnel", "Totals: Total Non-personnel")))
    return Table(table.name, table.title, table.year, items, table.columns, table.rows)


def contributing_actions(lea: Lea, actions: Actions, carryover: Fraction) -> Table:
    """Items 1-5: what the coming year's contributing actions plan against what the grants require."""
    contributing = actions.contributing
    rows = tuple({"goal": a.goal, "action": a.number, "title": a.title, "contributing": _yes(a), "scope": a.scope_text,
                  "unduplicated_groups": a.unduplicated_groups, "location": a.location, "lcff_funds": a.lcff_funds,
                  "planned_percentage": a.planned_percentage} for a in contributing)
    one, two = lea.base, lea.supplemental_concentration
    three = Fraction(two, one)
    four = sum(a.lcff_funds for a in contributing)
    five = sum((a.planned_percentage for a in contributing), Fraction(0))
    by_scope = {scope: sum(a.lcff_funds for a in contributing if a.scope == scope) for scope in SCOPES}
    items = (
        Item("1", "Projected LCFF Base Grant", one, DOLLARS),
        Item("2", "Projected LCFF Supplemental and/or Concentration Grants", two, DOLLARS),
        Item("3", "Projected Percentage to Increase or Improve Services for the Coming School Year", three, PERCENT, "2 divided by 1"),
        Item("carryover", "LCFF Carryover — Percentage (Percentage from Prior Year)", carryover, PERCENT),
        Item("total_percentage", "Total Percentage to Increase or Improve Services for the Coming School Year", three + carryover, PERCENT, "3 + Carryover %"),
        Item("4", "Total Planned Contributing Expenditures (LCFF Funds)", four, DOLLARS, "sum of the LCFF funds of contributing actions"),
        Item("5", "Total Planned Percentage of Improved Services (%)", five, PERCENT, "sum of the planned percentages"),
        Item("planned_percentage", "Planned Percentage to Increase or Improve Services for the Coming School Year", Fraction(four, one) + five, PERCENT,
             "4 divided by 1, plus 5"),
        Item("lea_wide", "Totals by Type: Total LEA-wide", by_scope["lea_wide"], DOLLARS),
        Item("limited", "Totals by Type: Total Limited", by_scope["limited"], DOLLARS),
        Item("schoolwide", "Totals by Type: Total Schoolwide", by_scope["schoolwide"], DOLLARS),
    )
    return Table("contributing_actions", "Contributing Actions Table", lea.fiscal_year, items, CONTRIBUTING_COLUMNS, rows)


def annual_update(estimated: Lea, last: Actions) -> Table:
    rows = tuple({"goal": a.goal, "action": a.number, "title": a.title, "contributing": _yes(a), "planned_funds": a.total_funds,
                  "estimated_actual_funds": a.estimated_actual_funds} for a in last.actions)
    table = Table("annual_update", "Annual Update Table", estimated.fiscal_year, (), UPDATE_COLUMNS, rows)
    sums = table.totals()
    items = (Item("planned", "Last Year's Total Planned Expenditures (Total Funds)", sums["planned_funds"], DOLLARS, "sum of the column"),
             Item("estimated_actual", "Total Estimated Actual Expenditures (Total Funds)", sums["estimated_actual_funds"], DOLLARS, "sum of the column"))
    return Table(table.name, table.title, table.year, items, table.columns, table.rows)


def contributing_actions_annual_update(estimated: Lea, last: Actions) -> Table:
    """Items 6, 4, 7, 5, 8: last year's contributing actions, planned against estimated actual."""
    contributing = last.contributing
    rows = tuple({"goal": a.goal, "action": a.number, "title": a.title, "contributing": _yes(a), "planned_lcff": a.lcff_funds,
                  "estimated_actual_lcff": a.estimated_actual_lcff or 0, "planned_percentage": a.planned_percentage,
                  "estimated_actual_percentage": a.estimated_actual_percentage or Fraction(0)} for a in contributing)
    four = sum(a.lcff_funds for a in contributing)
    seven = sum(a.estimated_actual_lcff or 0 for a in contributing)
    five = sum((a.planned_percentage for a in contributing), Fraction(0))
    eight = sum((a.estimated_actual_percentage or Fraction(0) for a in contributing), Fraction(0))
    items = (
        Item("6", "Estimated Actual LCFF Supplemental and/or Concentration Grants", estimated.supplemental_concentration, DOLLARS),
        Item("4", "Last Year's Total Planned Contributing Expenditures (LCFF Funds)", four, DOLLARS, "sum of the column"),
        Item("7", "Total Estimated Actual Expenditures for Contributing Actions", seven, DOLLARS, "sum of the column"),
        Item("difference_expenditures", "Difference Between Planned and Estimated Actual Expenditures for Contributing Actions", four - seven, DOLLARS,
             "subtract 7 from 4"),
        Item("5", "Total Planned Percentage of Improved Services (%)", five, PERCENT, "sum of the column"),
        Item("8", "Total Estimated Actual Percentage of Improved Services (%)", eight, PERCENT, "sum of the column"),
        Item("difference_percentage", "Difference Between Planned and Estimated Actual Percentage of Improved Services", eight - five, PERCENT,
             "subtract 5 from 8"),
    )
    return Table("contributing_actions_annual_update", "Contributing Actions Annual Update Table", estimated.fiscal_year, items,
                 CONTRIBUTING_UPDATE_COLUMNS, rows)


def lcff_carryover(estimated: Lea, last: Actions, prior_carryover: Fraction) -> Table:
    """Items 9-13: what last year's percentage left unmet, in dollars and as a percentage carried into the coming year."""
    contributing = last.contributing
    nine, six = estimated.base, estimated.supplemental_concentration
    seven = sum(a.estimated_actual_lcff or 0 for a in contributing)
    eight = sum((a.estimated_actual_percentage or Fraction(0) for a in contributing), Fraction(0))
    ten = Fraction(six, nine) + prior_carryover
    eleven = Fraction(seven, nine) + eight
    unmet = max(Fraction(0), ten - eleven)
    items = (
        Item("9", "Estimated Actual LCFF Base Grant", nine, DOLLARS),
        Item("6", "Estimated Actual LCFF Supplemental and/or Concentration Grants", six, DOLLARS),
        Item("prior_carryover", "LCFF Carryover — Percentage (Percentage from Prior Year)", prior_carryover, PERCENT),
        Item("10", "Total Percentage to Increase or Improve Services for the Current School Year", ten, PERCENT, "6 divided by 9, plus Carryover %"),
        Item("7", "Total Estimated Actual Expenditures for Contributing Actions", seven, DOLLARS),
        Item("8", "Total Estimated Actual Percentage of Improved Services (%)", eight, PERCENT),
        Item("11", "Estimated Actual Percentage of Increased or Improved Services", eleven, PERCENT, "7 divided by 9, plus 8"),
        Item("12", "LCFF Carryover — Dollar Amount", half_up(unmet * nine), DOLLARS, "subtract 11 from 10 and multiply by 9 (0 when 11 meets 10)"),
        Item("13", "LCFF Carryover — Percentage", unmet, PERCENT, "12 divided by 9"),
    )
    return Table("lcff_carryover", "LCFF Carryover Table", estimated.fiscal_year, items, (), ())


def build(lea: Lea, actions: Actions, carryover: Fraction = Fraction(0), update: Actions | None = None, estimated: Lea | None = None,
          prior_carryover: Fraction = Fraction(0), links: Table | None = None, plans: Table | None = None) -> Tables:
    """Every table: with last year's actions, the annual update's three, whose carryover (13) is the
    coming year's carryover percentage; without, `carryover` is given."""
    tables = [total_planned_expenditures(lea, actions)]
    if update is not None and estimated is not None:
        carried = lcff_carryover(estimated, update, prior_carryover)
        carryover = carried.item("13").value
        later = [annual_update(estimated, update), contributing_actions_annual_update(estimated, update), carried]
    else:
        later = []
    tables += [contributing_actions(lea, actions, carryover), *later]
    return Tables(lea, tuple(tables), actions, update, estimated, links, plans)

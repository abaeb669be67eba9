"""What the LCAP's HTML documents see: the action tables page, and the budget overview for parents
in the reader's language. Every value is already written out here (from `wsf.lcap.tables`, by the
language's locale); the templates in `wsf/templates/lcap/` only lay them out, autoescaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from markupsafe import Markup

from wsf import __version__
from wsf.lcap.numbers import points
from wsf.lcap.tables import DOLLARS, PERCENT, Table, Tables
from wsf.render.i18n import Language
from wsf.write.files import FIXED_DATE

CREATED = FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")  # fixed, so reruns give identical files


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False


@dataclass(frozen=True)
class ItemView:
    key: str  # CDE's number, or "" where the template gives none
    label: str
    value: str
    formula: str


@dataclass(frozen=True)
class TableView:
    name: str
    title: str
    year: str
    items: tuple[ItemView, ...]
    headers: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]
    totals: tuple[Cell, ...] | None


@dataclass(frozen=True)
class File:
    role: str
    name: str
    sha256: str


@dataclass(frozen=True)
class TablesPage:
    """Context of `tables.html` (`page`)."""

    lang: str
    title: str
    subtitle: str
    tables: tuple[TableView, ...]
    notes: tuple[str, ...]
    files: tuple[File, ...]
    version: str
    created: str


@dataclass(frozen=True)
class Bar:
    label: str
    amount: str
    width: str  # a CSS percentage of the bar


@dataclass(frozen=True)
class Overview:
    """Context of `overview.html` (`page`): the LCFF Budget Overview for Parents, one page."""

    lang: str
    text: object  # the language's [overview] sentences (wsf.render.i18n.Text)
    title: str
    lea_line: str
    lead: Markup
    bars: tuple[Bar, ...]
    lcap: Markup
    services: Markup
    outcome: Markup
    update: Markup | None
    carryover: Markup | None
    files_line: str
    files: tuple[File, ...]
    version: str
    created: str


def shown(lang: Language, value: int | Fraction | str | None, unit: str) -> str:
    """A table's value as the language writes it: cents as money, a share as percentage points to a thousandth."""
    if unit == DOLLARS:
        return lang.money(value)
    if unit == PERCENT:
        return lang.percent(Decimal(points(value)) / 100, places=3)
    return "" if value is None else str(value)


def table_view(lang: Language, table: Table) -> TableView:
    items = tuple(ItemView(i.key if i.key.isdigit() else "", i.label, shown(lang, i.value, i.unit), i.formula) for i in table.items)
    headers = tuple(Cell(c.header, c.unit != "text") for c in table.columns)
    rows = tuple(tuple(Cell(shown(lang, row[c.name], c.unit), c.unit != "text") for c in table.columns) for row in table.rows)
    totals = None
    if table.rows and any(c.total for c in table.columns):
        sums = table.totals()
        totals = tuple(Cell(shown(lang, sums[c.name], c.unit) if c.total else ("Total" if i == 0 else ""), c.total)
                       for i, c in enumerate(table.columns))
    return TableView(table.name, table.title, table.year, items, headers, rows, totals)


def tables_page(lang: Language, tables: Tables, files: tuple[File, ...]) -> TablesPage:
    lea = tables.lea
    views = [table_view(lang, t) for t in (*tables.tables, *tables.extra)]
    return TablesPage(lang.tag, f"{lea.name}: LCAP action tables, {lea.fiscal_year}", f"CDS code {lea.code}", tuple(views), tables.notes,
                      named(lang, files), __version__, CREATED)


def named(lang: Language, files: tuple[File, ...]) -> tuple[File, ...]:
    """The files with their roles in the reader's words."""
    return tuple(File(lang.plain(f"files.{f.role}"), f.name, f.sha256) for f in files)


def overview(lang: Language, tables: Tables, files: tuple[File, ...]) -> Overview:
    """The one-page overview, every sentence in `lang`."""
    lea, plan = tables.lea, tables.table("total_planned_expenditures")
    contributing = tables.table("contributing_actions")
    total_lcff = lea.base + lea.supplemental_concentration
    say = lang.strong
    widths = [Fraction(lea.base, total_lcff), Fraction(lea.supplemental_concentration, total_lcff)]
    bars = (Bar(lang.plain("overview.bar_base"), lang.money(lea.base), f"{float(widths[0]) * 100:.2f}%"),
            Bar(lang.plain("overview.bar_sc"), lang.money(lea.supplemental_concentration), f"{float(widths[1]) * 100:.2f}%"))

    def pct(share: Fraction) -> str:
        return shown(lang, share, PERCENT)

    carried = contributing.item("carryover").value
    required_key = "overview.services_carryover" if carried else "overview.services"
    services = say(required_key, name=lea.name, sc=lang.money(lea.supplemental_concentration), required=pct(tables.required),
                   percentage=pct(contributing.item("3").value), carryover=pct(carried), contributing=lang.money(contributing.item("4").value),
                   planned=pct(tables.planned))
    outcome = (say("overview.meets") if not tables.shortfall else
               say("overview.short", short=pct(tables.shortfall), dollars=lang.money(tables.shortfall_cents)))
    update = carryover = None
    if tables.has("lcff_carryover"):
        spent = tables.table("contributing_actions_annual_update")
        carry = tables.table("lcff_carryover")
        update = say("overview.update", name=lea.name, year=carry.year, planned=lang.money(spent.item("4").value),
                     actual=lang.money(spent.item("7").value))
        unmet = carry.item("13").value
        carryover = (say("overview.carryover", percent=pct(unmet), dollars=lang.money(carry.item("12").value), year=lea.fiscal_year) if unmet
                     else say("overview.no_carryover"))
    return Overview(
        lang=lang.tag, text=lang.text.overview, title=lang.plain("overview.title"),
        lea_line=lang.plain("overview.lea_line", name=lea.name, code=lea.code, year=lea.fiscal_year),
        lead=say("overview.lead", name=lea.name, year=lea.fiscal_year, total=lang.money(total_lcff), sc=lang.money(lea.supplemental_concentration)),
        bars=bars,
        lcap=say("overview.lcap", total=lang.money(plan.item("total_funds").value), lcff=lang.money(plan.item("lcff_funds").value),
                 state=lang.money(plan.item("other_state_funds").value), local=lang.money(plan.item("local_funds").value),
                 federal=lang.money(plan.item("federal_funds").value)),
        services=services, outcome=outcome, update=update, carryover=carryover,
        files_line=lang.plain("overview.files", version=__version__), files=named(lang, files), version=__version__, created=CREATED,
    )


def terminal(tables: Tables) -> str:
    """What `wsf lcap tables` prints: the LEA, the numbered fields of the contributing and carryover tables, the outcome."""
    from wsf.lcap.numbers import money_text, percent_text

    lea = tables.lea
    lines = [f"{lea.name} ({lea.code}), LCAP year {lea.fiscal_year}: {len(tables.actions.actions)} actions, {len(tables.actions.contributing)} contributing"]
    for name in ("contributing_actions", "lcff_carryover"):
        if not tables.has(name):
            continue
        table = tables.table(name)
        lines.append(f"{table.title} ({table.year})")
        for item in table.items:
            value = money_text(item.value) if item.unit == DOLLARS else percent_text(item.value)
            lines.append(f"  {item.key if item.key.isdigit() else '':>3}  {item.label[:80]:<80} {value:>18}")
    verdict = (f"meets the required {percent_text(tables.required)}" if not tables.shortfall else
               f"{percent_text(tables.shortfall)} short of the required {percent_text(tables.required)} ({money_text(tables.shortfall_cents)})")
    lines.append(f"planned {percent_text(tables.planned)}: {verdict}")
    if tables.links is not None:
        for row in tables.links.rows:
            lines.append(f"  action {row['action']}: the school formula's {row['line']} line sends {money_text(row['amount'])} to {row['schools']} schools "
                         f"(the action plans {money_text(row['lcff_funds'])} of LCFF)")
    if tables.plans is not None:
        for row in tables.plans.rows:
            lines.append(f"  action {row['action']}: {row['schools']} schools' site plans spend {money_text(row['amount'])} on it in {row['lines']} lines")
    return "\n".join(lines)

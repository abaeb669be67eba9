"""The finance workbook: a live model of the allocation. Change a rate on the Formula sheet (or
a count on the Inputs sheet) in Excel or LibreOffice and every school's budget, the pot's
scale and the totals follow, as wsf would compute them.

Sheets:

- **Allocations**: one row per school, one column per component (a label for people above
  its key for programs). Each component is a formula over the school's data on Inputs and the
  named rates on Formula (`wsf.engine.components.cells`: each kind says its own formula), times
  the pot's scale where it scales; the total and per pupil are formulas; then live totals, the
  pot and the difference, and notes. What a cell cannot say exactly stays a value, marked as
  computed by wsf: the transition (its gain cap is solved by iteration), and any line a kind
  cannot yet write as a formula. Live totals are unrounded: each is within a cent of wsf's.
- **Chart** (up to 200 schools): dollars per student by school, drawn from Allocations;
  **Poverty**: dollars per student against each school's poverty share; **Change** (with last
  year's file): each school's gain or loss, both drawn live from Workings columns.
- **Formula**: every rate, its value a cell named by its key path (`weights.poverty.weight`),
  with its unit, the rate after the pot's scale (live), what it applies to and its source; the
  pot's scale is a live formula (`pot.scale`), the solved gain cap a named value.
- **Equity** (with current spending): the equity statistics today and under the formula,
  and the poverty bands.
- **Inputs**: the school data as read (and last year's allocation; enrollment as the sum of
  the grades, so a changed count moves its school), then every file by name and SHA-256.
- **Workings**: the base, the average base per pupil and each weight that scales with it,
  before the pot's scale: what the scale is solved from.
- **Detail** (up to 200 schools): every school's lines as count x rate = amount, the amount
  live from Allocations, with the rule in words.

Every sheet prints landscape, one page wide, with its header rows repeated.

Text is always written as text: a cell beginning with = + - @ is stored with a quote prefix
and never runs. Document properties are fixed, so the same inputs give the same bytes. The
schools' rows are given column by column (`wsf.write.rows.Rows`: each component's formula one
template, its row numbers filled in per school) and written in the bytes xlsxwriter's own calls
would write, several times faster.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter.utility import xl_col_to_name

from wsf import __version__
from wsf.api import input_files, provenance
from wsf.data.spending import Spending
from wsf.engine.allocate import Allocation
from wsf.engine.components import components, fixed_keys, scaled_keys
from wsf.engine.components.cells import defined_name, rounded
from wsf.engine.components.lines import Phrase
from wsf.engine.components.positions import FTE
from wsf.engine.components.transition import GAIN_CAP, SCALE, TRANSITION, transition_line
from wsf.engine.components.transition import terms as transition_terms
from wsf.engine.explain import by_school, school_view
from wsf.engine.params import BASE, Params, lookup
from wsf.equity.analysis import DOLLAR_MEASURES, Equity
from wsf.errors import WsfError
from wsf.render.i18n import Language
from wsf.render.phrases import plain, shipped
from wsf.write.files import FIXED_DATE, check_output, check_sheet_fits, risky, write_sheet, write_with_meta, xlsx_book
from wsf.write.rows import Rows

CURRENCY = '"$"#,##0.00;-"$"#,##0.00'
SHARE = "0.0%"
RATE_SHARE = "0.0##%"
FACTOR = "0.000000"
RATE_FACTOR = "0.00####"
COUNT = "#,##0.##"
FTE_FORMAT = "#,##0.00"
UP = {"valign": "top"}  # a row of wrapped text reads from its top
RATE = {**UP, "bg_color": "#FFF2CC", "font_color": "#1F3864", "border": 1, "border_color": "#BFBFBF"}  # a cell to change: an input
VALUE = {**UP, "font_color": "#595959", "italic": True}  # a value computed by wsf, not a formula


class Formats:
    def __init__(self, book: Any) -> None:
        header = {"bold": True, "text_wrap": True, "valign": "bottom", "bg_color": "#DDEBF7"}
        key = {"font_size": 8, "font_color": "#595959", "bottom": 1, "bg_color": "#DDEBF7"}
        self.header = book.add_format(header)
        self.text_header = book.add_format({**header, "quote_prefix": True})
        self.key = book.add_format(key)
        self.key_cell = book.add_format({"font_size": 8, "font_color": "#595959", "indent": 1})
        self.text_key = book.add_format({**key, "quote_prefix": True})
        self.money = book.add_format({"num_format": CURRENCY, **UP})
        self.money_value = book.add_format({"num_format": CURRENCY, **VALUE})
        self.count = book.add_format({"num_format": COUNT})
        self.fte = book.add_format({"num_format": FTE_FORMAT, **VALUE})
        self.count_value = book.add_format({"num_format": COUNT, **VALUE})
        self.share = book.add_format({"num_format": SHARE})
        self.factor = book.add_format({"num_format": FACTOR})
        self.rate_money = book.add_format({"num_format": CURRENCY, **RATE})
        self.rate_share = book.add_format({"num_format": RATE_SHARE, **RATE})
        self.rate_factor = book.add_format({"num_format": RATE_FACTOR, **RATE})
        self.solved_factor = book.add_format({"num_format": FACTOR, "bold": True, **UP})
        self.solved_share = book.add_format({"num_format": "0.00%", **VALUE})
        self.text = book.add_format({"quote_prefix": True, **UP})
        self.top = book.add_format(UP)
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.note = book.add_format({"text_wrap": True, "valign": "top", "font_size": 9, "italic": True})
        self.total = book.add_format({"bold": True, "top": 1})
        self.total_money = book.add_format({"bold": True, "top": 1, "num_format": CURRENCY})
        self.total_count = book.add_format({"bold": True, "top": 1, "num_format": COUNT})
        self.total_fte = book.add_format({"bold": True, "top": 1, "num_format": FTE_FORMAT})
        self.bold = book.add_format({"bold": True})
        self.bold_money = book.add_format({"bold": True, "num_format": CURRENCY})
        self.title = book.add_format({"bold": True, "font_size": 12})


def write_workbook(
    allocation: Allocation, target: str | Path, spending: Spending | None = None, equity: Equity | None = None
) -> list[Path]:
    """Write the workbook and `<target>.meta.json` beside it (they land together, or neither
    does); returns both paths."""
    target = Path(target)
    check_output(target, input_files(allocation, spending))
    check_fits(allocation, spending, equity, target)
    meta = provenance(allocation)
    if spending is not None:
        meta["current_spending"] = [{"file": t.path.name, "sha256": t.sha256} for t in spending.sources]
    return write_with_meta(target, lambda temp: _write_book(temp, allocation, spending, equity), meta)


def check_fits(allocation: Allocation, spending: Spending | None, equity: Equity | None, target: Path) -> None:
    """Every sheet within Excel's limits, or nothing is written (xlsxwriter would drop the rest)."""
    table = allocation.cents
    notes = allocation_notes(allocation, value_keys(allocation), shipped())
    rows = TOP + table.height + (4 if allocation.formula.model.pot is not None else 2) + len(notes)  # headers, schools, totals, pot, notes
    check_sheet_fits(rows, table.width, target, "the workbook's Allocations sheet")
    check_sheet_fits(TOP + table.height + 2, len(Layout(allocation).working), target, "the workbook's Workings sheet")
    data, files = _input_data(allocation), _files(allocation, spending)
    check_sheet_fits(data.height + 4 + len(files), max(data.width, 3), target, "the workbook's Inputs sheet")
    if equity is not None:
        rows = equity.statistics.height + 4 + equity.bands.height
        check_sheet_fits(rows, max(equity.bands.width, 3), target, "the workbook's Equity sheet")


def _write_book(path: Path, allocation: Allocation, spending: Spending | None, equity: Equity | None) -> None:
    info = allocation.formula.model.formula
    properties = {"title": info.title or info.id, "subject": info.id, "author": "wsf", "created": FIXED_DATE, "comments": f"wsf {__version__}"}
    with xlsx_book(path, {"strings_to_numbers": False}) as book:
        book.set_properties(properties)
        formats = Formats(book)
        allocations_sheet(book, formats, allocation)
        if allocation.cents.height <= CHART_SCHOOLS:
            chart_sheet(book, allocation)
            trend_sheets(book, allocation)
        formula_sheet(book, formats, allocation)
        if equity is not None:
            equity_sheet(book, formats, equity, info.title or info.id)
        elif spending is not None:  # say why there is no comparison, rather than leave the sheet out
            sheet = book.add_worksheet("Equity")
            sheet.write_string(0, 0, shipped().plain("district.equity_no_poverty"), formats.wrap)
            sheet.set_column(0, 0, 100)
        inputs_sheet(book, formats, allocation, spending)
        workings_sheet(book, formats, allocation)
        if allocation.cents.height <= CHART_SCHOOLS:
            detail_sheet(book, formats, allocation)


def put(sheet: Any, row: int, col: int, value: Any, formats: Formats, fmt: Any = None) -> None:
    """One cell: text as text (inert when it looks like a formula), numbers as numbers."""
    if value is None:
        return
    if isinstance(value, str):
        sheet.write_string(row, col, value, formats.text if risky(value) else fmt)
    else:
        sheet.write_number(row, col, float(value), fmt)


def texts(values: list[str | None], formats: Formats, fmt: Any = None) -> list[Any]:
    """The format of each text cell `put` would write: inert where it looks like a formula."""
    return [formats.text if v is not None and risky(v) else fmt for v in values]


class Layout:
    """Where each school's numbers are: its row on each sheet and the columns of its data, so a
    component's formula can refer to them (`wsf.engine.components.cells.Cells`)."""

    def __init__(self, allocation: Allocation) -> None:
        model = allocation.formula.model
        self.allocation, self.model = allocation, model
        self.schools = allocation.cents.height
        self.data = {name: xl_col_to_name(i) for i, name in enumerate(_input_data(allocation).columns)}
        self.columns = allocation.cents.columns
        self.table = {name: xl_col_to_name(i) for i, name in enumerate(self.columns)}
        self.scaled = scaled_keys(model)
        self.working = ["school_id", "name", BASE, "base_per_pupil", *[k for k in self.scaled if k != BASE]]
        self.work = {name: xl_col_to_name(i) for i, name in enumerate(self.working)}
        self.scale = SCALE if model.pot is not None else None

    def row(self, i: int) -> int:
        """School i's Excel row on Allocations and Workings (two header rows)."""
        return i + TOP + 1

    def first_last(self) -> tuple[int, int]:
        return TOP + 1, TOP + self.schools


INPUT_ROW, SHEET_ROW = "\x01", "\x02"  # a template's row numbers, until a school's are filled in


class RowCells:
    """`Cells` of the schools: their data on Inputs, their unscaled base on Workings, named rates.
    A component's formula is made once, as a template with row tokens (`ROWS` says what each
    becomes at a school): the same text for every school but its row numbers."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.input_row = INPUT_ROW
        self.r = r = SHEET_ROW
        self.enrollment = self.data("enrollment")
        self.base = f"Workings!{layout.work[BASE]}{r}"
        self.base_per_pupil = f"Workings!{layout.work['base_per_pupil']}{r}"

    def rate(self, path: str) -> str:
        return defined_name(path)

    def data(self, column: str) -> str:
        return f"Inputs!{self.layout.data[column]}{self.input_row}"  # KeyError: not on Inputs, so no formula

    def quantity(self, column: str) -> str:
        return f"Allocations!{self.layout.table[column]}{self.r}"


class RatesOnly:
    """`Cells` of no school: only the named rates (a rate after the pot's scale)."""

    enrollment = base = base_per_pupil = ""

    def rate(self, path: str) -> str:
        return defined_name(path)

    def data(self, column: str) -> str:
        raise KeyError(column)

    quantity = data


SHARE_FIELDS = {"above_share", "cap_share_of_base", "rate"}
FACTOR_FIELDS = {"weight", "fte", "per", "each", "min", "max"}
TOP = 2  # two header rows: labels for people, keys for programs
ROWS = {INPUT_ROW: 2, SHEET_ROW: TOP + 1}  # a template's row tokens: school i's row on Inputs (one header row) and on this sheet (two)


def formula_of(component: Any, cells: Any, pupil_columns: tuple[str, ...]) -> str | None:
    """A component's unscaled dollars at one school as formula text, or None where it cannot say them."""
    cell = getattr(component, "cell", None)
    if cell is None:
        return None
    try:
        return cell(cells, pupil_columns)
    except KeyError:  # it reads a column the Inputs sheet does not hold
        return None


def value_keys(allocation: Allocation) -> set[str]:
    """Components written as values (computed by wsf) on the Allocations sheet: the transition, and
    any whose formula or rounding a cell cannot say exactly."""
    model = allocation.formula.model
    pupils = allocation.pupil_columns
    probe = RowCells(Layout(allocation)) if allocation.cents.height else None
    keys = {TRANSITION}
    for c in components(model):
        if probe is None or formula_of(c, probe, pupils) is None:
            keys.add(c.key)
        elif model.rounding.per_span and c.per_span(Params(model), [pl.lit(0.0)]) is not None:
            keys.add(c.key)  # CDE's rule rounds it grade span by grade span: the engine's values
    return keys


def column_label(allocation: Allocation, name: str, lang: Language) -> str:
    model = allocation.formula.model
    specs = {**model.weights, **model.foundations, **model.positions}
    if name.endswith(FTE) and name[: -len(FTE)] in model.positions:
        return lang.plain("workbook.fte_of", label=specs[name[: -len(FTE)]].label)
    if name in specs:
        return specs[name].label
    fixed = {"school_id": "common.school_id", "name": "workbook.school", "enrollment": "common.enrollment", BASE: "lines.base",
             TRANSITION: "lines.transition", "total": "workbook.total", "per_pupil": "workbook.per_pupil",
             "base_per_pupil": "workbook.base_per_pupil"}
    return lang.sentence(fixed[name]) if name in fixed else name


def headers(sheet: Any, formats: Formats, names: list[str], labels: list[str]) -> None:
    for col, (name, label) in enumerate(zip(names, labels)):
        sheet.write_string(0, col, label, formats.text_header if risky(label) else formats.header)
        sheet.write_string(1, col, name, formats.text_key if risky(name) else formats.key)
    sheet.set_row(0, 62)


def print_setup(sheet: Any, title: str, rows: int = TOP) -> None:
    """Landscape, one page wide, the header rows on every page, the title and page numbers."""
    sheet.set_landscape()
    sheet.set_paper(1)  # US Letter
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0, rows - 1)
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.set_header("&L&8" + title.replace("&", "&&") + "&R&8&A")
    sheet.set_footer("&C&8Page &P of &N")


def allocations_sheet(book: Any, formats: Formats, allocation: Allocation) -> Any:
    """One row per school: the data it is funded on (values), each component a live formula over
    the Inputs sheet's counts and the Formula sheet's named rates (times the pot's scale where it
    scales), the total and per pupil; then live totals, the pot and the difference, and notes."""
    lang = shipped()
    model, table, layout = allocation.formula.model, allocation.cents, Layout(allocation)
    sheet = book.add_worksheet("Allocations")
    columns = table.columns
    values = value_keys(allocation)
    keys = [*model.line_keys, TRANSITION]
    labels = [column_label(allocation, c, lang) + (lang.sentence("workbook.value_mark") if c in values else "") for c in columns]
    headers(sheet, formats, columns, labels)
    by_key = {c.key: c for c in components(model)}
    by_line = model.rounding.by_line is not None
    cents = {c: allocation.cents[c].to_list() for c in columns if c in keys or c in ("total", "per_pupil")}
    amounts = {c: allocation.amounts[c].to_list() for c in keys if c in allocation.amounts.columns}
    final = allocation.amounts["_final_total"].to_list()
    counts = ["enrollment", *model.quantity_columns]
    first, last = layout.first_last()
    school_ids, names = table["school_id"].to_list(), table["name"].to_list()
    count_values = {c: table[c].to_list() for c in counts}
    templates = {}
    for key in keys:
        if key in layout.scaled:
            text = f"Workings!{layout.work[key]}{SHEET_ROW}" + (f"*{layout.scale}" if layout.scale else "")
        else:
            text = None if key in values else formula_of(by_key[key], RowCells(layout), allocation.pupil_columns)
        templates[key] = None if text is None else "=" + (rounded(text, model.rounding.unit_cents) if by_line else text)
    total_template = "=SUM(" + ",".join(f"{layout.table[k]}{SHEET_ROW}" for k in keys) + ")"
    pupils, money = f"{layout.table['enrollment']}{SHEET_ROW}", f"{layout.table['total']}{SHEET_ROW}"
    per_template = f'=IF({pupils}>0,ROUND({money}/{pupils},2),"")'
    enrollment_cell = f"=Inputs!{layout.data.get('enrollment')}{INPUT_ROW}"
    rows = Rows(sheet, TOP, table.height)
    rows.strings([(0, school_ids, texts(school_ids, formats)), (1, names, texts(names, formats))])
    for c in counts:
        if c == "enrollment" and layout.data.get("enrollment"):  # the Inputs sheet's, so it follows a changed count there
            rows.formulas(columns.index(c), enrollment_cell, count_values[c], formats.count, ROWS)
        else:
            rows.numbers(columns.index(c), count_values[c], formats.count if c == "enrollment" else formats.fte)
    for key in keys:
        exact = [v / 100 for v in cents[key]] if by_line or key not in amounts else amounts[key]
        if key in values:
            rows.numbers(columns.index(key), exact, formats.money_value)
        else:
            rows.formulas(columns.index(key), templates[key], exact, formats.money, ROWS)
    totals = [v / 100 for v in cents["total"]] if by_line else final
    rows.formulas(columns.index("total"), total_template, totals, formats.bold_money, ROWS)
    per = ["" if p is None else round(t / e, 2) for p, t, e in zip(cents["per_pupil"], totals, count_values["enrollment"])]
    rows.formulas(columns.index("per_pupil"), per_template, per, formats.money, ROWS)
    total_row = last  # 0-based row just below the last school
    sums = [*counts, *keys, "total"]
    put(sheet, total_row, 0, lang.sentence("workbook.total"), formats, formats.total)
    sheet.write_blank(total_row, 1, None, formats.total)
    total_value = float(allocation.cents["total"].sum()) / 100 if by_line else float(sum(final))
    for col, name in enumerate(columns):
        if col < 2:
            continue
        letter = xl_col_to_name(col)
        if name in sums:
            if name in counts:
                value, fmt = float(allocation.cents[name].sum()), formats.total_count if name == "enrollment" else formats.total_fte
            elif name == "total":
                value, fmt = total_value, formats.total_money
            else:
                value, fmt = (float(allocation.cents[name].sum()) / 100 if by_line else float(sum(amounts[name]))), formats.total_money
            sheet.write_formula(total_row, col, f"=SUM({letter}{first}:{letter}{last})", fmt, value)
        elif name == "per_pupil":
            cell, enrolled = f"{layout.table['total']}{total_row + 1}", f"{layout.table['enrollment']}{total_row + 1}"
            pupils_total = float(allocation.cents["enrollment"].sum())
            value = round(total_value / pupils_total, 2) if pupils_total else 0.0
            sheet.write_formula(total_row, col, f"=IF({enrolled}>0,ROUND({cell}/{enrolled},2),0)", formats.total_money, value)
        else:
            sheet.write_blank(total_row, col, None, formats.total)
    notes_row = total_row + 2
    pot = model.pot
    if pot is not None:
        letter = layout.table["total"]
        total_col = columns.index("total")
        put(sheet, total_row + 1, 0, lang.sentence("workbook.pot"), formats, formats.bold)
        sheet.write_formula(total_row + 1, total_col, "=" + defined_name("pot.amount"), formats.bold_money, pot.amount)
        put(sheet, total_row + 2, 0, lang.sentence("workbook.total_minus_pot"), formats, formats.bold)
        difference = round(total_value - pot.amount, 2) + 0.0
        sheet.write_formula(total_row + 2, total_col, f"=ROUND({letter}{total_row + 1}-{letter}{total_row + 2},2)", formats.bold_money,
                            difference)
        notes_row = total_row + 4
    for note in allocation_notes(allocation, values, lang):
        sheet.merge_range(notes_row, 0, notes_row, min(len(columns) - 1, 9), note, formats.note)
        sheet.set_row(notes_row, 30)
        notes_row += 1
    sheet.freeze_panes(TOP, 2)
    sheet.autofilter(1, 0, max(last - 1, 1), len(columns) - 1)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 28)
    sheet.set_column(2, len(columns) - 1, 16)
    print_setup(sheet, model.formula.title or model.formula.id)
    return sheet


CHART_SCHOOLS = 200  # a bar per school: beyond this many, no chart


def chart_sheet(book: Any, allocation: Allocation) -> Any:
    """Dollars per student by school, a bar each, drawn from the Allocations sheet (so it follows a
    changed rate too), with the district's average per student as a line across."""
    lang = shipped()
    layout = Layout(allocation)
    first, last = layout.first_last()
    names = f"=Allocations!$B${first}:$B${last}"
    per = layout.table["per_pupil"]
    chart = book.add_chart({"type": "bar"})
    chart.add_series({"name": lang.sentence("workbook.per_pupil"), "categories": names,
                      "values": f"=Allocations!${per}${first}:${per}${last}", "fill": {"color": "#2F5597"}, "gap": 40})
    chart.set_title({"name": lang.sentence("workbook.chart_title"), "name_font": {"size": 12}})
    chart.set_x_axis({"num_format": '"$"#,##0', "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_y_axis({"reverse": True, "num_font": {"size": 7}})
    chart.set_legend({"none": True})
    return chartsheet(book, "Chart", chart)


def chartsheet(book: Any, name: str, chart: Any) -> Any:
    """A chart on a sheet of its own, printed landscape on US Letter."""
    sheet = book.add_chartsheet(name)
    sheet.set_chart(chart)
    sheet.set_landscape()
    sheet.set_paper(1)
    return sheet


def chart_columns(allocation: Allocation, layout: Layout) -> list[tuple[str, str, str, list[float], str]]:
    """The Workings columns the Poverty and Change charts draw (a chart needs a range, not a
    formula): each school's poverty share (the count the formula says measures poverty, over
    enrollment) and its change from last year (the total less Inputs' prior), both live."""
    lang, table, out = shipped(), allocation.cents, []
    poverty = allocation.formula.model.column_for("poverty")
    enrollment = table["enrollment"].to_list()
    if poverty is not None and poverty in layout.data:
        count = allocation.inputs[poverty].to_list()
        out.append(("poverty_share", lang.plain("workbook.poverty_share", column=poverty),
                    f"=IF(Inputs!{layout.data['enrollment']}{INPUT_ROW}>0,Inputs!{layout.data[poverty]}{INPUT_ROW}/Inputs!{layout.data['enrollment']}{INPUT_ROW},0)",
                    [c / e if e else 0.0 for c, e in zip(count, enrollment)], "share"))
    if "prior" in layout.data:
        prior = _input_data(allocation)["prior"].to_list()
        out.append(("change", lang.sentence("workbook.change"),
                    f"=IF(ISNUMBER(Inputs!{layout.data['prior']}{INPUT_ROW}),Allocations!{layout.table['total']}{SHEET_ROW}-Inputs!{layout.data['prior']}{INPUT_ROW},0)",
                    [t / 100 - p if p is not None else 0.0 for t, p in zip(allocation.cents["total"].to_list(), prior)], "money"))
    return out


def trend_sheets(book: Any, allocation: Allocation) -> None:
    """Dollars per student against poverty (a point a school), and each school's gain or loss
    from last year (a bar a school, losses in red): both drawn live from the sheets."""
    lang, layout = shipped(), Layout(allocation)
    first, last = layout.first_last()
    extra = {key: xl_col_to_name(i) for i, key in enumerate(
        [k for k, *_ in chart_columns(allocation, layout)], start=len(layout.working))}
    per = layout.table["per_pupil"]
    if "poverty_share" in extra:
        chart = book.add_chart({"type": "scatter"})
        chart.add_series({"name": lang.sentence("workbook.per_pupil"),
                          "categories": f"=Workings!${extra['poverty_share']}${first}:${extra['poverty_share']}${last}",
                          "values": f"=Allocations!${per}${first}:${per}${last}",
                          "marker": {"type": "circle", "size": 6, "fill": {"color": "#2F5597"}, "border": {"color": "#2F5597"}}})
        chart.set_title({"name": lang.sentence("workbook.poverty_chart_title"), "name_font": {"size": 12}})
        chart.set_x_axis({"num_format": "0%", "name": lang.sentence("workbook.poverty_axis"), "min": 0, "max": 1})
        chart.set_y_axis({"num_format": '"$"#,##0', "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        chart.set_legend({"none": True})
        chartsheet(book, "Poverty", chart)
    if "change" in extra:
        chart = book.add_chart({"type": "bar"})
        chart.add_series({"name": lang.sentence("workbook.change"), "categories": f"=Allocations!$B${first}:$B${last}",
                          "values": f"=Workings!${extra['change']}${first}:${extra['change']}${last}",
                          "fill": {"color": "#2E7D32"}, "invert_if_negative": True, "invert_if_negative_color": "#C62828", "gap": 40})
        chart.set_title({"name": lang.sentence("workbook.change_chart_title"), "name_font": {"size": 12}})
        chart.set_x_axis({"num_format": '"$"#,##0;-"$"#,##0', "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        chart.set_y_axis({"reverse": True, "num_font": {"size": 7}, "label_position": "low"})  # names at the left, clear of losses
        chart.set_legend({"none": True})
        chartsheet(book, "Change", chart)


RULE_WIDTH = 100  # characters, about: the Detail sheet's rule column


def detail_sheet(book: Any, formats: Formats, allocation: Allocation) -> Any:
    """Every school's lines as count x rate = amount: the amount is the Allocations sheet's cell
    (live), the count is wsf's (pupils counted, FTE, a school that qualifies: a value), and the rate
    is amount / count, so a changed rate shows here too; the rule in words beside each line."""
    lang = shipped()
    model, layout = allocation.formula.model, Layout(allocation)
    sheet = book.add_worksheet("Detail")
    columns = ["line", "count", "rate", "amount", "rule"]
    headers(sheet, formats, columns, [lang.sentence(f"workbook.detail_{c}") for c in columns])
    sheet.set_row(0, 20)
    rows = by_school(allocation)
    keys = [*model.line_keys, TRANSITION]
    r = TOP
    for i, school_id in enumerate(allocation.cents["school_id"].to_list()):
        row = layout.row(i)
        school = school_view(allocation, rows, school_id)
        lines = [*(c.line(school) for c in components(model)), transition_line(school, allocation.schools_capped)]
        title = f"{rows.inputs[school_id]['name'] or ''} ({school_id})"
        put(sheet, r, 0, title, formats, formats.title)
        r += 1
        for key, line in zip(keys, lines):
            amount = f"D{r + 1}"
            put(sheet, r, 0, column_label(allocation, key, lang), formats, formats.top)
            count = getattr(line.count, "value", None)
            if count is not None and line.calculated:
                put(sheet, r, 1, count, formats, formats.fte if key in model.positions else formats.count_value)
                sheet.write_formula(r, 2, f'=IF(B{r + 1}<>0,{amount}/B{r + 1},"")', formats.money,
                                    (school.amounts.get(key) or 0.0) / count if count else "")
            sheet.write_formula(r, 3, f"=Allocations!{layout.table[key]}{row}", formats.money, school.cents[key] / 100)
            rule = "; ".join(plain(lang, part) for part in line.rule)
            put(sheet, r, 4, rule, formats, formats.wrap)
            if len(rule) > RULE_WIDTH:
                sheet.set_row(r, 13 * math.ceil(len(rule) / RULE_WIDTH))
            r += 1
        put(sheet, r, 0, lang.sentence("workbook.total"), formats, formats.total)
        sheet.write_blank(r, 1, None, formats.total)
        sheet.write_blank(r, 2, None, formats.total)
        sheet.write_formula(r, 3, f"=Allocations!{layout.table['total']}{row}", formats.total_money, school.cents["total"] / 100)
        sheet.write_blank(r, 4, None, formats.total)
        r += 2
    sheet.set_column(0, 0, 44)
    sheet.set_column(1, 1, 10)
    sheet.set_column(2, 3, 16)
    sheet.set_column(4, 4, RULE_WIDTH)
    sheet.freeze_panes(TOP, 1)
    print_setup(sheet, model.formula.title or model.formula.id)
    return sheet


def allocation_notes(allocation: Allocation, values: set[str], lang: Language) -> list[str]:
    """What a reader of the Allocations sheet must know: what is live, what is a value, rounding."""
    model = allocation.formula.model
    notes = [lang.sentence("workbook.note_live")]
    notes.append(lang.sentence("workbook.note_rounding_dollar" if model.rounding.to == "dollar" else "workbook.note_rounding"))
    if model.transition is not None:
        solved = model.transition.max_gain is None and model.pot is not None and model.transition.gap_closure is None
        notes.append(lang.sentence("workbook.note_transition_solved" if solved else "workbook.note_transition"))
    others = [column_label(allocation, k, lang) for k in model.line_keys if k in values]
    if others:
        notes.append(lang.plain("workbook.note_values", lines=", ".join(others)))
    if model.positions:
        notes.append(lang.sentence("workbook.note_fte"))
    return notes


def workings_sheet(book: Any, formats: Formats, allocation: Allocation) -> Any:
    """The base and each weight that scales with it, before the pot's scale, per school: what the
    scale is solved from, and what the Allocations sheet multiplies by it."""
    lang = shipped()
    model, layout = allocation.formula.model, Layout(allocation)
    sheet = book.add_worksheet("Workings")
    headers(sheet, formats, layout.working, [column_label(allocation, c, lang) for c in layout.working])
    by_key = {c.key: c for c in components(model)}
    scale = allocation.scale or 1.0
    amounts = {k: allocation.amounts[k].to_list() for k in layout.scaled}
    ids, names = allocation.cents["school_id"].to_list(), allocation.cents["name"].to_list()
    enrollment = allocation.cents["enrollment"].to_list()
    cells = RowCells(layout)
    templates = {key: formula_of(by_key[key], cells, allocation.pupil_columns) for key in layout.scaled}
    per_pupil = f"=IF({cells.enrollment}>0,{layout.work[BASE]}{SHEET_ROW}/{cells.enrollment},0)"
    rows = Rows(sheet, TOP, layout.schools)
    rows.strings([(0, ids, texts(ids, formats)), (1, names, texts(names, formats))])
    for key in layout.scaled:
        col, unscaled = layout.working.index(key), [v / scale for v in amounts[key]]
        if templates[key] is None:
            rows.numbers(col, unscaled, formats.money_value)
        else:
            rows.formulas(col, "=" + templates[key], unscaled, formats.money, ROWS)
    per = [base / scale / pupils if pupils else 0.0 for base, pupils in zip(amounts[BASE], enrollment)]
    rows.formulas(3, per_pupil, per, formats.money, ROWS)
    for col, (key, label, template, values, fmt) in enumerate(chart_columns(allocation, layout), start=len(layout.working)):
        sheet.write_string(0, col, label, formats.header)
        sheet.write_string(1, col, key, formats.key)
        rows.formulas(col, template, values, getattr(formats, fmt), ROWS)
    sheet.freeze_panes(TOP, 2)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 28)
    sheet.set_column(2, len(layout.working) - 1, 16)
    note_row = layout.schools + TOP + 1
    sheet.merge_range(note_row, 0, note_row, min(len(layout.working) - 1, 7), lang.sentence("workbook.note_workings"), formats.note)
    sheet.set_row(note_row, 30)
    print_setup(sheet, model.formula.title or model.formula.id)
    return sheet


def scale_formula(allocation: Allocation) -> str:
    """The pot's scale: (pot - the fixed parts) / the parts that scale, summed over the schools."""
    model, layout = allocation.formula.model, Layout(allocation)
    first, last = layout.first_last()
    fixed = [f"SUM(Allocations!{layout.table[k]}{first}:{layout.table[k]}{last})" for k in fixed_keys(model)]
    scaled = [f"SUM(Workings!{layout.work[k]}{first}:{layout.work[k]}{last})" for k in layout.scaled]
    return f"=({defined_name('pot.amount')}-({'+'.join(fixed) or '0'}))/({'+'.join(scaled)})"


def _rate_rows(allocation: Allocation, lang: Language) -> list[dict[str, Any]]:
    """The formula's rates, one row each, in the file's order: the components' terms, then the
    pot's, the transition's and the rounding's, in the language's words; then any rate a
    component reads that no term shows (an `above_share`, a position's cost), so every rate the
    Allocations sheet computes with is a named cell here."""
    model = allocation.formula.model
    terms = [t for c in components(model) for t in c.terms(allocation.scale)]
    terms += transition_terms(model, allocation.scale, allocation.gain_cap)

    def words(value) -> str:
        return value if isinstance(value, str) else plain(lang, value)

    rows = [
        {
            "key": t.key,
            "label": words(t.label),
            "kind": lang.sentence(f"terms.{t.kind}"),
            "value": None if t.value is None else t.value.value,
            "format": type(t.value).__name__ if t.value is not None else "",
            "unit": words(t.unit) if isinstance(t.unit, Phrase) else (lang.sentence(f"units.{t.unit}") if t.unit else ""),
            "rate_used": None if t.rate_used is None else t.rate_used.value,
            "applies_to": words(t.applies),
            "source": words(t.source),
            "path": t.path if t.value is not None else None,
        }
        for t in terms
    ]
    shown = {row["path"] for row in rows}
    for c in components(model):
        for path in c.rates():
            if path in shown:
                continue
            shown.add(path)
            value = lookup(model, path)
            field = path.rsplit(".", 1)[-1]
            label = column_label(allocation, c.key, lang)
            rows.append({"key": c.key, "label": f"{label}: {field}", "kind": lang.sentence("workbook.kind_rate"), "value": float(value),
                         "format": "Share" if field in SHARE_FIELDS else "Factor" if field in FACTOR_FIELDS else "Money",
                         "unit": "", "rate_used": None, "applies_to": "", "source": "", "path": path})
    return rows


def rate_used_formula(allocation: Allocation, row: dict[str, Any]) -> str | None:
    """The rate after the pot's scale as a live formula over the named rates, where it is one."""
    path = row["path"]
    if path is None or row["rate_used"] is None:
        return None
    model = allocation.formula.model
    scale = f"*{SCALE}" if model.pot is not None else ""
    if path.startswith("base.") or path == "per_capita.amount":
        return f"={defined_name(path)}{scale}"
    component = next((c for c in components(model) if c.key == row["key"]), None)
    pays = getattr(component, "pays", None)
    if pays is not None and hasattr(pays, "cell") and path == pays.path():
        try:
            return f"={pays.cell(RatesOnly())}{scale if component.scaled else ''}"
        except KeyError:
            return None
    if path.startswith(("foundations.", "weights.")):
        return f"={defined_name(path)}"
    return None


def formula_sheet(book: Any, formats: Formats, allocation: Allocation) -> Any:
    """Every rate, with the cell of its value named by its key path (change it, and every school
    on the Allocations sheet follows); the pot's scale is a live formula, the solved gain cap a
    value computed by wsf."""
    lang = shipped()
    rows = _rate_rows(allocation, lang)
    sheet = book.add_worksheet("Formula")
    columns = ["label", "value", "unit", "rate_used", "applies_to", "kind", "name", "key", "source"]
    widths = [40, 14, 26, 14, 34, 16, 36, 16, 60]
    headers(sheet, formats, columns, [lang.sentence(f"workbook.formula_{c}") for c in columns])
    for col, (name, width) in enumerate(zip(columns, widths)):
        sheet.set_column(col, col, width, formats.wrap if name in ("label", "source", "applies_to", "unit") else formats.top)
    named: set[str] = set()
    for r, row in enumerate(rows, start=TOP):
        value_fmt = {"Money": formats.rate_money, "Share": formats.rate_share}.get(row["format"], formats.rate_factor)
        path = row["path"]
        name = defined_name(path) if path is not None and defined_name(path) not in named else None
        for col, column in enumerate(columns):
            if column == "value" and path == SCALE:
                sheet.write_formula(r, col, scale_formula(allocation), formats.solved_factor, allocation.scale)
            elif column == "value":
                put(sheet, r, col, row["value"], formats, formats.solved_share if path == GAIN_CAP else value_fmt)
            elif column == "rate_used":
                live = rate_used_formula(allocation, row)
                if live is not None:
                    sheet.write_formula(r, col, live, formats.money, row["rate_used"])
                else:
                    put(sheet, r, col, row["rate_used"], formats, formats.money)
            elif column == "name":
                put(sheet, r, col, name, formats)
            elif column == "source" and path == GAIN_CAP:
                put(sheet, r, col, lang.sentence("workbook.gain_cap_value"), formats)
            else:
                put(sheet, r, col, row[column], formats)
        wrapped = [len(str(row[c] or "")) / widths[columns.index(c)] for c in ("label", "unit", "applies_to", "source")]
        lines = max(1, *(math.ceil(n) for n in wrapped))  # a wrapped cell's lines, roughly: the row is made that tall
        if lines > 1:
            sheet.set_row(r, 13 * lines)
        if name is not None:
            named.add(name)
            book.define_name(name, f"=Formula!${xl_col_to_name(1)}${r + 1}")
    sheet.freeze_panes(TOP, 1)
    sheet.autofilter(1, 0, max(len(rows) + 1, 2), len(columns) - 1)
    note = len(rows) + TOP + 1
    sheet.merge_range(note, 0, note, 4, lang.sentence("workbook.note_rates"), formats.note)
    sheet.set_row(note, 45)
    print_setup(sheet, allocation.formula.model.formula.title or allocation.formula.model.formula.id)
    return sheet


def measure_label(measure: str, lang: Language) -> str:
    """A measure's name for people: the equity report's own, or the workbook's."""
    for prefix in ("vertical_slope_", "implied_weight_"):
        if measure.startswith(prefix):
            return lang.plain(f"workbook.measure_{prefix.rstrip('_')}", column=measure.removeprefix(prefix))
    for key in (f"equity.measures.{measure}", f"workbook.measure_{measure}"):
        try:
            return lang.sentence(key)
        except WsfError:
            continue
    return measure


def equity_sheet(book: Any, formats: Formats, equity: Equity, title: str = "") -> Any:
    lang = shipped()
    sheet = book.add_worksheet("Equity")
    stats = equity.statistics
    keys = ["measure", "current", "formula", "key"]
    headers(sheet, formats, keys, [lang.sentence(f"workbook.{k}") for k in keys])
    for r, (measure, current, formula) in enumerate(stats.iter_rows(), start=TOP):
        money = measure in DOLLAR_MEASURES or measure.startswith("vertical_slope_")
        fmt = formats.money if money else formats.count if measure in ("schools", "pupils") else formats.factor
        put(sheet, r, 0, measure_label(measure, lang), formats)
        put(sheet, r, 1, current, formats, fmt)
        put(sheet, r, 2, formula, formats, fmt)
        put(sheet, r, 3, measure, formats, formats.key_cell)
    sheet.set_column(0, 0, 52)
    sheet.set_column(1, 2, 20)
    sheet.set_column(3, 3, 22)
    sheet.freeze_panes(TOP, 1)
    top = stats.height + TOP + 2
    put(sheet, top - 1, 0, lang.plain("workbook.bands_title", poverty=equity.poverty), formats, formats.title)
    bands = equity.bands.with_columns(
        *[(pl.col(c) / 100) for c in ("current_per_pupil", "formula_per_pupil", "difference_per_pupil")]
    )
    money = {"current_per_pupil", "formula_per_pupil", "difference_per_pupil"}
    shares = {"poverty_from", "poverty_to"}
    sheet.set_row(top, 30)
    for col, name in enumerate(bands.columns):
        put(sheet, top, col, lang.sentence("workbook.band" if name == "band" else f"workbook.band_{name}"), formats, formats.header)
        put(sheet, top + 1, col, name, formats, formats.key)
        for r, value in enumerate(bands[name].to_list(), start=top + 2):
            put(sheet, r, col, value, formats, formats.money if name in money else (formats.share if name in shares else formats.count))
    sheet.set_column(4, len(bands.columns) - 1, 20)
    print_setup(sheet, title, rows=TOP)
    return sheet


def _input_data(allocation: Allocation) -> pl.DataFrame:
    """The school data as read, and last year's allocation as `prior`."""
    data = allocation.inputs.rename({"_prior": "prior"}) if "_prior" in allocation.inputs.columns else allocation.inputs
    return data.select([c for c in data.columns if not c.startswith("_")])


def _files(allocation: Allocation, spending: Spending | None) -> list[tuple[str, str, str]]:
    lang = shipped()
    files = [(lang.sentence("workbook.role_formula"), allocation.formula.path.name, allocation.formula.sha256)]
    files += [(lang.sentence("workbook.role_formula"), t.path.name, t.sha256) for t in allocation.formula.tables]  # its salary table
    files += [(lang.sentence("workbook.role_data"), t.path.name, t.sha256) for t in allocation.sources]
    return files + [(lang.sentence("workbook.role_spending"), t.path.name, t.sha256) for t in (spending.sources if spending else ())]


def enrollment_sum(allocation: Allocation) -> str | None:
    """Enrollment as the sum of the school's pupil columns (grades or spans) on Inputs, a template;
    None where enrollment is itself the data."""
    columns = allocation.pupil_columns
    if not columns or columns == ("enrollment",):
        return None
    layout = Layout(allocation)
    return "=SUM(" + ",".join(f"{layout.data[c]}{INPUT_ROW}" for c in columns) + ")"


def inputs_sheet(book: Any, formats: Formats, allocation: Allocation, spending: Spending | None) -> Any:
    lang = shipped()
    data = _input_data(allocation)
    summed = enrollment_sum(allocation)  # enrollment follows a changed grade count
    sheet = write_sheet(book, "Inputs", data, money=("prior",), formulas={"enrollment": (summed, ROWS)} if summed else None)
    sheet.freeze_panes(1, 2)
    print_setup(sheet, allocation.formula.model.formula.title or allocation.formula.model.formula.id, rows=1)
    top = data.height + 3
    put(sheet, top - 1, 0, lang.sentence("workbook.files"), formats, formats.title)
    for col, name in enumerate(("role", "file", "sha256")):
        put(sheet, top, col, name, formats, formats.header)
    for r, row in enumerate(_files(allocation, spending), start=top + 1):
        for col, value in enumerate(row):
            put(sheet, r, col, value, formats)
    return sheet

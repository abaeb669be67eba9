"""The finance workbook: the allocation, the formula's rates, the equity statistics and the
inputs, in one XLSX that central finance can check and build on.

Sheets:

- **Allocations**: the allocation table (one row per school, one column per component, named
  by its key), then a totals row of live `=SUM(...)` formulas, the pot and the difference
  (zero when the table reconciles). Money formats, frozen header and names, filters.
- **Formula**: every rate: key, label, kind, value as written, unit, the rate after the pot's
  scale where it is one number for every school, what it applies to, and its source.
- **Equity** (with current spending): the equity statistics today and under the formula,
  and the poverty bands.
- **Inputs**: the school data as read (and last year's allocation), then every file by name
  and SHA-256.

Text is always written as text: a cell beginning with = + - @ is stored with a quote prefix
and never runs. Document properties are fixed, so the same inputs give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter.utility import xl_col_to_name

from wsf import __version__
from wsf.api import input_files, provenance
from wsf.data.spending import Spending
from wsf.engine.allocate import Allocation
from wsf.engine.components import components
from wsf.engine.components.lines import Phrase
from wsf.engine.components.transition import terms as transition_terms
from wsf.equity.analysis import DOLLAR_MEASURES, Equity
from wsf.render.i18n import Language
from wsf.render.phrases import plain, shipped
from wsf.write.files import FIXED_DATE, MONEY, check_output, check_sheet_fits, risky, write_sheet, write_with_meta, xlsx_book

SHARE = "0.0%"
FACTOR = "0.000000"


class Formats:
    def __init__(self, book: Any) -> None:
        self.header = book.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
        self.money = book.add_format({"num_format": MONEY})
        self.share = book.add_format({"num_format": SHARE})
        self.factor = book.add_format({"num_format": FACTOR})
        self.text = book.add_format({"quote_prefix": True})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.total = book.add_format({"bold": True, "top": 1})
        self.total_money = book.add_format({"bold": True, "top": 1, "num_format": MONEY})
        self.bold = book.add_format({"bold": True})
        self.bold_money = book.add_format({"bold": True, "num_format": MONEY})
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
    table = allocation.table
    rows = 1 + table.height + 1 + (2 if allocation.formula.model.pot is not None else 0)  # header, schools, totals, pot
    check_sheet_fits(rows, table.width, target, "the workbook's Allocations sheet")
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
        formula_sheet(book, formats, allocation)
        if equity is not None:
            equity_sheet(book, formats, equity)
        elif spending is not None:  # say why there is no comparison, rather than leave the sheet out
            sheet = book.add_worksheet("Equity")
            sheet.write_string(0, 0, shipped().plain("district.equity_no_poverty"), formats.wrap)
            sheet.set_column(0, 0, 100)
        inputs_sheet(book, formats, allocation, spending)


def put(sheet: Any, row: int, col: int, value: Any, formats: Formats, fmt: Any = None) -> None:
    """One cell: text as text (inert when it looks like a formula), numbers as numbers."""
    if value is None:
        return
    if isinstance(value, str):
        sheet.write_string(row, col, value, formats.text if risky(value) else fmt)
    else:
        sheet.write_number(row, col, float(value), fmt)


def allocations_sheet(book: Any, formats: Formats, allocation: Allocation) -> Any:
    lang = shipped()
    table = allocation.table
    sheet = write_sheet(book, "Allocations", table)
    sheet.freeze_panes(1, 2)
    last = table.height  # data rows are 1..last (Excel rows 2..last+1)
    total_row = last + 1
    counts = ["enrollment", *allocation.formula.model.quantity_columns]  # pupils, and each position's FTE
    sums = [*counts, *allocation.money_columns[:-1]]  # every column but per_pupil adds up
    put(sheet, total_row, 0, lang.sentence("workbook.total"), formats, formats.total)
    sheet.write_blank(total_row, 1, None, formats.total)
    columns = table.columns
    for col, name in enumerate(columns):
        if col < 2:
            continue
        letter = xl_col_to_name(col)
        if name in sums:
            value = float(allocation.cents[name].sum()) / (1 if name in counts else 100)
            fmt = formats.total if name in counts else formats.total_money
            sheet.write_formula(total_row, col, f"=SUM({letter}2:{letter}{last + 1})", fmt, value)
        elif name == "per_pupil":
            pupils, money = xl_col_to_name(columns.index("enrollment")), xl_col_to_name(columns.index("total"))
            cell = f"{money}{total_row + 1}"
            enrolled = f"{pupils}{total_row + 1}"
            pupils_total = float(allocation.cents["enrollment"].sum())
            value = round(float(allocation.cents["total"].sum()) / 100 / pupils_total, 2) if pupils_total else 0.0
            sheet.write_formula(total_row, col, f"=IF({enrolled}>0,ROUND({cell}/{enrolled},2),0)", formats.total_money, value)
        else:
            sheet.write_blank(total_row, col, None, formats.total)
    pot = allocation.formula.model.pot
    if pot is not None:
        total_col = columns.index("total")
        letter = xl_col_to_name(total_col)
        put(sheet, total_row + 1, 0, lang.sentence("workbook.pot"), formats, formats.bold)
        sheet.write_number(total_row + 1, total_col, pot.amount, formats.bold_money)
        put(sheet, total_row + 2, 0, lang.sentence("workbook.total_minus_pot"), formats, formats.bold)
        difference = round(float(allocation.cents["total"].sum()) / 100 - pot.amount, 2) + 0.0
        sheet.write_formula(
            total_row + 2, total_col, f"=ROUND({letter}{total_row + 1}-{letter}{total_row + 2},2)", formats.bold_money, difference
        )
    return sheet


def _rate_rows(allocation: Allocation, lang: Language) -> list[dict[str, Any]]:
    """The formula's rates, one row each, in the file's order: the components' terms, then the
    pot's, the transition's and the rounding's, in the language's words."""
    model = allocation.formula.model
    terms = [t for c in components(model) for t in c.terms(allocation.scale)]
    terms += transition_terms(model, allocation.scale, allocation.gain_cap)

    def words(value) -> str:
        return value if isinstance(value, str) else plain(lang, value)

    return [
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
        }
        for t in terms
    ]


def formula_sheet(book: Any, formats: Formats, allocation: Allocation) -> Any:
    rows = _rate_rows(allocation, shipped())
    sheet = book.add_worksheet("Formula")
    columns = ["key", "label", "kind", "value", "unit", "rate_used", "applies_to", "source"]
    widths = [16, 46, 16, 16, 34, 14, 34, 70]
    for col, (name, width) in enumerate(zip(columns, widths)):
        sheet.write_string(0, col, name, formats.header)
        sheet.set_column(col, col, width, formats.wrap if name in ("label", "source", "applies_to") else None)
    for r, row in enumerate(rows, start=1):
        value_fmt = {"Money": formats.money, "Share": formats.share}.get(row["format"], formats.factor)
        for col, name in enumerate(columns):
            fmt = value_fmt if name == "value" else (formats.money if name == "rate_used" else None)
            put(sheet, r, col, row[name], formats, fmt)
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    return sheet


def equity_sheet(book: Any, formats: Formats, equity: Equity) -> Any:
    lang = shipped()
    sheet = book.add_worksheet("Equity")
    stats = equity.statistics
    put(sheet, 0, 0, "measure", formats, formats.header)
    put(sheet, 0, 1, "current", formats, formats.header)
    put(sheet, 0, 2, "formula", formats, formats.header)
    for r, (measure, current, formula) in enumerate(stats.iter_rows(), start=1):
        fmt = formats.money if measure in DOLLAR_MEASURES or measure.startswith("vertical_slope_") else formats.factor
        put(sheet, r, 0, measure, formats)
        put(sheet, r, 1, current, formats, fmt)
        put(sheet, r, 2, formula, formats, fmt)
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 2, 16)
    sheet.freeze_panes(1, 1)
    top = stats.height + 3
    put(sheet, top - 1, 0, lang.plain("workbook.bands_title", poverty=equity.poverty), formats, formats.title)
    bands = equity.bands.with_columns(
        *[(pl.col(c) / 100) for c in ("current_per_pupil", "formula_per_pupil", "difference_per_pupil")]
    )
    money = {"current_per_pupil", "formula_per_pupil", "difference_per_pupil"}
    shares = {"poverty_from", "poverty_to"}
    for col, name in enumerate(bands.columns):
        put(sheet, top, col, name, formats, formats.header)
        for r, value in enumerate(bands[name].to_list(), start=top + 1):
            put(sheet, r, col, value, formats, formats.money if name in money else (formats.share if name in shares else None))
    sheet.set_column(3, len(bands.columns) - 1, 16)
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


def inputs_sheet(book: Any, formats: Formats, allocation: Allocation, spending: Spending | None) -> Any:
    lang = shipped()
    data = _input_data(allocation)
    sheet = write_sheet(book, "Inputs", data, money=("prior",))
    sheet.freeze_panes(1, 2)
    top = data.height + 3
    put(sheet, top - 1, 0, lang.sentence("workbook.files"), formats, formats.title)
    for col, name in enumerate(("role", "file", "sha256")):
        put(sheet, top, col, name, formats, formats.header)
    for r, row in enumerate(_files(allocation, spending), start=top + 1):
        for col, value in enumerate(row):
            put(sheet, r, col, value, formats)
    return sheet

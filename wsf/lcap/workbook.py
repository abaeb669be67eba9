"""The LCAP action tables as one XLSX: a sheet per table in the template's column order, its
numbered fields as live formulas (3 is =2/1, 12 is the carryover in dollars) with the exact
values cached, its actions below with live totals, and the inputs by SHA-256.

Text is always written as text: a cell beginning with = + - @ is stored with a quote prefix and
never runs. Document properties are fixed, so the same inputs give the same bytes.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from wsf import __version__
from wsf.lcap.pages import File
from wsf.lcap.tables import DOLLARS, PERCENT, TEXT, Table, Tables
from wsf.render.workbook import put  # one cell, text never a formula: the finance workbook's own
from wsf.write.files import FIXED_DATE, MONEY, xlsx_book

SHARE = "0.000%"
SHEETS = {  # Excel allows 31 characters
    "total_planned_expenditures": "Total Planned Expenditures", "contributing_actions": "Contributing Actions",
    "annual_update": "Annual Update", "contributing_actions_annual_update": "Contributing Annual Update",
    "lcff_carryover": "LCFF Carryover", "wsf_by_action": "School formula by action", "plans_by_action": "Site plans by action",
}
# The numbered fields the template computes, as Excel formulas over the sheet's own cells: {key} is an item's cell,
# {column:name} the range of an action column; the inputs (1, 2, 6, 7, 8, 9, carryover) are values.
FORMULAS = {
    "contributing_actions": {
        "3": "={2}/{1}", "total_percentage": "={3}+{carryover}", "4": "=SUM({column:lcff_funds})", "5": "=SUM({column:planned_percentage})",
        "planned_percentage": "={4}/{1}+{5}", "lea_wide": '=SUMIF({column:scope},"LEA-wide",{column:lcff_funds})',
        "limited": '=SUMIF({column:scope},"Limited to Unduplicated Student Group(s)",{column:lcff_funds})',
        "schoolwide": '=SUMIF({column:scope},"Schoolwide",{column:lcff_funds})',
    },
    "contributing_actions_annual_update": {
        "4": "=SUM({column:planned_lcff})", "7": "=SUM({column:estimated_actual_lcff})", "difference_expenditures": "={4}-{7}",
        "5": "=SUM({column:planned_percentage})", "8": "=SUM({column:estimated_actual_percentage})", "difference_percentage": "={8}-{5}",
    },
    "lcff_carryover": {"10": "={6}/{9}+{prior_carryover}", "11": "={7}/{9}+{8}", "12": "=ROUND(MAX(0,{10}-{11})*{9},2)", "13": "=MAX(0,{10}-{11})"},
    "annual_update": {"planned": "=SUM({column:planned_funds})", "estimated_actual": "=SUM({column:estimated_actual_funds})"},
}
for _key in ("lcff_funds", "other_state_funds", "local_funds", "federal_funds", "total_funds", "total_personnel", "total_non_personnel"):
    FORMULAS.setdefault("total_planned_expenditures", {})[_key] = f"=SUM({{column:{_key}}})"


class Formats:
    def __init__(self, book: Any) -> None:
        self.title = book.add_format({"bold": True, "font_size": 12})
        self.header = book.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
        self.money = book.add_format({"num_format": MONEY})
        self.share = book.add_format({"num_format": SHARE})
        self.text = book.add_format({"quote_prefix": True})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.total = book.add_format({"bold": True, "top": 1})
        self.total_money = book.add_format({"bold": True, "top": 1, "num_format": MONEY})
        self.total_share = book.add_format({"bold": True, "top": 1, "num_format": SHARE})
        self.note = book.add_format({"italic": True, "font_color": "#6b7280"})


def write_book(path: Path, tables: Tables, files: tuple[File, ...]) -> None:
    lea = tables.lea
    with xlsx_book(path, {"strings_to_numbers": False}) as book:
        book.set_properties({"title": f"{lea.name}: LCAP action tables, {lea.fiscal_year}", "subject": lea.code, "author": "wsf",
                             "created": FIXED_DATE, "comments": f"wsf {__version__}"})
        formats = Formats(book)
        for table in (*tables.tables, *tables.extra):
            sheet_of(book, formats, table, f"{lea.name} ({lea.code})")
        inputs = book.add_worksheet("Inputs")
        for col, name in enumerate(("role", "file", "sha256")):
            inputs.write_string(0, col, name, formats.header)
        for row, file in enumerate(files, start=1):
            for col, value in enumerate((file.role, file.name, file.sha256)):
                put(inputs, row, col, value, formats)
        inputs.set_column(0, 1, 28)
        inputs.set_column(2, 2, 70)


def cell_value(value: int | Fraction | str, unit: str) -> float | str:
    """What a cell holds: dollars from cents, a fraction of 1 for a percentage (formatted 0.000%), or text."""
    if unit == DOLLARS:
        return value / 100
    if unit == PERCENT:
        return float(value)
    return value


def sheet_of(book: Any, formats: Formats, table: Table, who: str) -> Any:
    sheet = book.add_worksheet(SHEETS[table.name])
    put(sheet, 0, 0, f"{table.title} ({table.year}): {who}", formats, formats.title)
    items_top = 2
    start = items_top + len(table.items) + (2 if table.items else 0)  # the header row of the actions
    first, last = start + 1, start + len(table.rows)  # data rows (0-based)
    ranges = {c.name: f"{xl_col_to_name(i)}{first + 1}:{xl_col_to_name(i)}{max(last, first) + 1}" for i, c in enumerate(table.columns)}
    cells = {item.key: f"C{items_top + i + 1}" for i, item in enumerate(table.items)}
    formulas = FORMULAS.get(table.name, {})
    for i, item in enumerate(table.items):
        row = items_top + i
        put(sheet, row, 0, item.key if item.key.isdigit() else "", formats)
        put(sheet, row, 1, item.label, formats, formats.wrap)
        fmt = formats.money if item.unit == DOLLARS else formats.share
        cached = cell_value(item.value, item.unit)
        if item.key in formulas and (table.rows or "column:" not in formulas[item.key]):
            text = formulas[item.key]
            for name, where in ranges.items():
                text = text.replace(f"{{column:{name}}}", where)
            for key, where in cells.items():
                text = text.replace(f"{{{key}}}", where)
            sheet.write_formula(row, 2, text, fmt, cached)
        else:
            sheet.write_number(row, 2, cached, fmt)
        put(sheet, row, 3, item.formula, formats, formats.note)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 40 if table.rows else 70)
    sheet.set_column(2, 2, 18)
    if not table.rows:
        sheet.set_column(3, 3, 44)
        return sheet
    for col, column in enumerate(table.columns):
        sheet.write_string(start, col, column.header, formats.header)
        width = 34 if column.unit == TEXT and column.name in ("title", "student_groups", "unduplicated_groups", "location") else 16
        sheet.set_column(col, col, width if col > 2 else max(width, 10 if col < 2 else 40))
        for r, row in enumerate(table.rows, start=first):
            fmt = formats.money if column.unit == DOLLARS else formats.share if column.unit == PERCENT else formats.wrap
            put(sheet, r, col, cell_value(row[column.name], column.unit), formats, fmt)
    total_row = last + 1
    sums = table.totals()
    put(sheet, total_row, 0, "Total", formats, formats.total)
    for col, column in enumerate(table.columns):
        if col == 0:
            continue
        if column.total:
            fmt = formats.total_money if column.unit == DOLLARS else formats.total_share
            sheet.write_formula(total_row, col, f"=SUM({ranges[column.name]})", fmt, cell_value(sums[column.name], column.unit))
        else:
            sheet.write_blank(total_row, col, None, formats.total)
    sheet.freeze_panes(start + 1, 3)
    return sheet

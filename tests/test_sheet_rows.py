"""`wsf.write.rows.Rows` writes the bytes xlsxwriter's public calls write for the same cells, and
falls back to those calls wherever its own XML could differ."""

from __future__ import annotations

import io
import math

import pytest
import xlsxwriter

from wsf.write import rows as rows_module
from wsf.write.rows import Rows

FIRST, COUNT = 2, 40  # two header rows; 40 rows cross three 16-row span groups
ROW, OTHER = "\x01", "\x02"
TOKENS = {ROW: FIRST + 1, OTHER: 2}  # the block row's own number, and one on another sheet
NUMBERS = [None if k % 7 == 3 else k * 1.25 - 3 for k in range(COUNT)]
TEXT = [None if k == 5 else ("=risky" if k == 30 else f"school {k} & <co>") for k in range(COUNT)]
RESULTS = [k * 0.1 if k % 5 else ("" if k % 10 else "#N/A") for k in range(COUNT)]
TEMPLATE = f"=IF(A{ROW}>0,Other!B{OTHER}&\"<x>\",0)"


def fill(template: str, k: int) -> str:
    for token, offset in TOKENS.items():
        template = template.replace(token, str(k + offset))
    return template


def book_bytes(fast: bool, extra=None, total: bool = True) -> bytes:
    """A sheet of headers, a block of numbers, text (risky ones late, in two formats each first
    used there: row by row one comes first, column by column the other), formulas and a column
    formatted by set_column, the block's way or the public way; a total row below, or none."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"created": __import__("datetime").datetime(2000, 1, 1)})
    sheet = book.add_worksheet("Data")
    header, money, risky, risky_bold, bold = (book.add_format(f) for f in (
        {"bold": True}, {"num_format": "0.00"}, {"quote_prefix": True}, {"quote_prefix": True, "bold": True}, {"bold": True, "italic": True}))
    sheet.set_column(4, 4, 12, money)
    sheet.write_string(0, 0, "school", header)
    sheet.write_string(1, 5, "key", header)
    formats = [risky if t is not None and t.startswith("=") else None for t in TEXT]
    flipped = [risky_bold if f is not None else None for f in reversed(formats)]
    if fast:
        block = Rows(sheet, FIRST, COUNT)
        block.strings([(0, TEXT, formats), (2, list(reversed(TEXT)), flipped)])
        block.numbers(1, NUMBERS, money)
        block.formulas(3, TEMPLATE, RESULTS, bold, TOKENS)
        block.numbers(4, [k if k % 2 else None for k in range(COUNT)])  # the column's format
        block.numbers(6, [1.0] * COUNT, money)
        block.formulas(6, "=SUM(B" + ROW + ":C" + ROW + ")", [True, False] * (COUNT // 2), None, TOKENS)  # a column given again
    else:
        for k in range(COUNT):
            row = FIRST + k
            for col, texts, fmts in ((0, TEXT, formats), (2, list(reversed(TEXT)), flipped)):
                if texts[k] is not None:
                    sheet.write_string(row, col, texts[k], fmts[k])
            if NUMBERS[k] is not None:
                sheet.write_number(row, 1, NUMBERS[k], money)
            sheet.write_formula(row, 3, fill(TEMPLATE, k), bold, RESULTS[k])
            if k % 2:
                sheet.write_number(row, 4, k)
            sheet.write_formula(row, 6, fill("=SUM(B" + ROW + ":C" + ROW + ")", k), None, [True, False][k % 2])
    if extra is not None:
        extra(book, sheet)
    if total:
        sheet.write_string(FIRST + COUNT + 1, 0, "Total", header)
    book.close()
    return buffer.getvalue()


@pytest.mark.parametrize("total", [True, False])
def test_a_block_writes_the_public_calls_bytes(total: bool) -> None:
    assert book_bytes(fast=True, total=total) == book_bytes(fast=False, total=total)


def test_the_block_writes_its_own_xml(monkeypatch) -> None:
    """The test above has teeth: the block's rows are its own XML, not xlsxwriter's."""
    written = []
    cells = Rows._cells
    monkeypatch.setattr(Rows, "_cells", lambda self, ks: written.append(len(ks)) or cells(self, ks))
    book_bytes(fast=True)
    assert written == [1, COUNT - 1]


def test_xml_unlike_xlsxwriters_hands_every_row_to_xlsxwriter(monkeypatch) -> None:
    cells = Rows._cells
    monkeypatch.setattr(Rows, "_cells", lambda self, ks: [xml.replace("<v>", "<v>9") for xml in cells(self, ks)])
    assert book_bytes(fast=True) == book_bytes(fast=False)


def test_a_column_the_first_row_lacks_is_checked_at_its_own_first_row(monkeypatch) -> None:
    """Column E has no cell in the block's first row; XML unlike xlsxwriter's for it alone is
    caught at its first cell (row 1), and xlsxwriter writes the rows from there."""
    cells, checked = Rows._cells, []
    monkeypatch.setattr(Rows, "_cells", lambda self, ks: checked.append(ks.start) or [
        xml.replace('<c r="E', '<c  r="E') for xml in cells(self, ks)])
    assert book_bytes(fast=True) == book_bytes(fast=False)
    assert checked == [0, 1]


def test_without_xlsxwriters_internals_every_cell_goes_the_public_way(monkeypatch) -> None:
    monkeypatch.setattr(rows_module, "NEEDS", (*rows_module.NEEDS, "_not_in_any_xlsxwriter"))
    assert book_bytes(fast=True) == book_bytes(fast=False)


@pytest.mark.parametrize("what", ["public cell in a block row", "row height", "chart"])
def test_rows_xlsxwriter_also_holds_are_xlsxwriters(what: str) -> None:
    def extra(book, sheet):
        if what == "public cell in a block row":
            sheet.write_number(FIRST + 9, 9, 42)
        elif what == "row height":
            sheet.set_row(FIRST + 12, 30, book.add_format({"italic": True}))
        else:  # a chart's cached values are read from xlsxwriter's table
            chart = book.add_chart({"type": "bar"})
            chart.add_series({"categories": f"=Data!$A${FIRST + 1}:$A${FIRST + COUNT}", "values": f"=Data!$B${FIRST + 1}:$B${FIRST + COUNT}"})
            sheet.insert_chart("J2", chart)

    assert book_bytes(fast=True, extra=extra) == book_bytes(fast=False, extra=extra)


def test_a_number_the_public_way_refuses_is_refused_the_same_way() -> None:
    book = xlsxwriter.Workbook(io.BytesIO())
    with pytest.raises(TypeError, match="NAN/INF not supported"):
        Rows(book.add_worksheet(), 1, 3).numbers(0, [1.0, 2.0, math.nan])
    book.close()

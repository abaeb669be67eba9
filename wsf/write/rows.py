"""Many rows of a worksheet given column by column, written in the bytes xlsxwriter writes for them.

xlsxwriter stores every cell as a tuple and later writes its XML, some 3 µs of Python a cell:
the finance workbook of 10,000 schools has ~460,000 cells, most of its time. A `Rows` block holds
its columns as lists (numbers; text, as shared strings; formulas from one template whose row
tokens become each row's numbers) and writes its rows' XML itself when xlsxwriter writes the
sheet, with xlsxwriter's own functions for everything but the cells.

That reaches into xlsxwriter (its cell table, row loop, shared strings and XML escaping), so it
checks itself. The block's first row is written the public way as each column is given, and
xlsxwriter writes that row's XML; the block's own XML for it must be the same, or every other
row goes the public way too (slower, the same workbook). A row that xlsxwriter also holds cells
of goes the public way; a value the public way would refuse or change (a NaN, text over Excel's
length) sends its column the public way, so the error or the change is xlsxwriter's own. On an
xlsxwriter without the internals the block needs, every cell goes the public way at once.
"""

from __future__ import annotations

import math
from io import StringIO
from typing import Any

from xlsxwriter.utility import xl_col_to_name

ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!")  # xlsxwriter's formula results typed "e"
NEEDS = ("table", "row_info", "col_info", "comments", "row_spans", "str_table", "fh", "dim_rowmin", "dim_rowmax", "xls_rowmax",
         "xls_colmax", "xls_strmax", "_write_rows", "_write_row", "_calculate_spans", "_check_dimensions", "_prepare_formula",
         "_escape_data", "_get_range_data")

try:  # what xlsxwriter stores for a shared string: the block stores it for rows it hands back late
    from xlsxwriter.worksheet import CellStringTuple
except ImportError:  # another xlsxwriter: the public way only
    CellStringTuple = None


class Rows:
    """Rows `first` .. `first + count - 1` of `sheet`, given column by column (a value None is
    no cell). Text is registered as shared strings when given, in the order given, as the
    public calls would; the rest waits until xlsxwriter writes the sheet. A cell both given to a
    block and written the public way is the block's."""

    def __init__(self, sheet: Any, first: int, count: int) -> None:
        self.sheet, self.first, self.count = sheet, first, count
        self.columns: dict[int, tuple] = {}  # col -> (kind, values, formats, formula parts)
        self.fast = (
            count > 1
            and CellStringTuple is not None
            and all(hasattr(sheet, name) for name in NEEDS)
            and not getattr(sheet, "constant_memory", True)
            and first + count <= sheet.xls_rowmax
            and "_write_rows" not in vars(sheet)  # one block a sheet
        )
        self.handed = False  # the rows handed to xlsxwriter's table (a chart reads them)
        if self.fast:
            sheet._write_rows, sheet._get_range_data = self._write_rows, self._range_data

    # -- the columns ---------------------------------------------------------------------------

    def numbers(self, col: int, values: list[Any], fmt: Any = None) -> None:
        """Numbers (write_number), all in one format."""
        values = [None if v is None else float(v) for v in values]
        if not self._fits(col) or any(v is not None and not math.isfinite(v) for v in values):
            return self._public(col, "number", values, fmt)
        self._given(col, ("number", values, fmt, None))

    def strings(self, columns: list[tuple[int, list[str | None], list[Any]]]) -> None:
        """Text (write_string), a format a cell, of several columns registered row by row, as
        writing them a row at a time would."""
        public = not self.fast or any(not self._fits(col) or any(v is not None and len(v) > self.sheet.xls_strmax // 2 for v in values)
                                      for col, values, _ in columns)
        for col, values, formats in columns:  # the first row, or every row, the public way
            self.columns.pop(col, None)
        for k in range(self.count if public else 1):
            for col, values, formats in columns:
                if values[k] is not None:
                    self.sheet.write_string(self.first + k, col, values[k], formats[k])
        if public:
            return
        index = self.sheet.str_table._get_shared_string_index
        indices = {col: [None] * self.count for col, _, _ in columns}
        for col, values, _ in columns:  # the first row's, as write_string stored it
            if values[0] is not None:
                indices[col][0] = self.sheet.table[self.first][col].string
        for k in range(1, self.count):
            for col, values, _ in columns:
                if values[k] is not None:
                    indices[col][k] = index(values[k])
        for col, values, formats in columns:
            self._given(col, ("string", indices[col], formats, None), public_first=False)

    def formulas(self, col: int, template: str, values: list[Any], fmt: Any, tokens: dict[str, int]) -> None:
        """Formulas (write_formula with its cached result) from one template: each token in it
        becomes the block's row index plus the token's offset (its row number on some sheet)."""
        if not self._fits(col):
            return self._public(col, "formula", values, fmt, (template, tokens))
        self._given(col, ("formula", values, fmt, (template, tokens)))

    def _fits(self, col: int) -> bool:
        return not self.fast or col < self.sheet.xls_colmax

    def _given(self, col: int, column: tuple, public_first: bool = True) -> None:
        if not self.fast:
            return self._public(col, *column)
        self.columns[col] = column
        if public_first:
            self._publish(0, {col: column})
        present = [k for k, v in enumerate(column[1]) if v is not None]
        if present:  # the sheet's dimensions, as the public calls would leave them
            self.sheet._check_dimensions(self.first + present[0], col)
            self.sheet._check_dimensions(self.first + present[-1], col)

    def _public(self, col: int, kind: str, values: list[Any], formats: Any, extra: Any = None) -> None:
        self.columns.pop(col, None)
        for k in range(self.count):
            self._publish(k, {col: (kind, values, formats, extra)})

    def _publish(self, k: int, columns: dict[int, tuple]) -> None:
        """Row k's cells of these columns, the public way (text already registered: as stored)."""
        sheet, row = self.sheet, self.first + k
        for col, (kind, values, formats, extra) in sorted(columns.items()):
            value = values[k]
            if value is None:
                continue
            fmt = formats[k] if isinstance(formats, list) else formats
            if kind == "number":
                sheet.write_number(row, col, value, fmt)
            elif kind == "formula":
                template, tokens = extra
                sheet.write_formula(row, col, fill(template, tokens, k), fmt, value)
            else:  # registered when given: stored as write_string stores it
                sheet.table[row][col] = CellStringTuple(value, fmt)

    # -- writing the sheet ---------------------------------------------------------------------

    def _write_rows(self) -> None:
        """xlsxwriter's row loop, but the block's rows are this block's XML, except check rows:
        its first, and the first of each column it lacks, go into xlsxwriter's table, xlsxwriter
        writes them, and the block's XML for them must be the same (else xlsxwriter writes the
        rest); rows xlsxwriter holds cells of too are xlsxwriter's."""
        sheet, first, last = self.sheet, self.first, self.first + self.count - 1
        write_rows = type(sheet)._write_rows
        if self.handed:
            return write_rows(sheet)
        if sheet.dim_rowmin is None or not sheet.table.get(first):  # nothing to check the block's XML against
            self._hand_over()
            return write_rows(sheet)
        mixed = {k for k in range(1, self.count) if sheet.table.get(first + k) or first + k in sheet.comments}
        checks = {next((k for k, v in enumerate(values) if v is not None), 0) for _, values, _, _ in self.columns.values()} | {0}
        for k in sorted(mixed | checks - {0}):
            self._publish(k, self.columns)
        sheet._calculate_spans()
        spans = self._spans(sheet.row_spans, mixed | checks)
        low, high = sheet.dim_rowmin, sheet.dim_rowmax
        sheet.row_spans, sheet._calculate_spans = spans, lambda: None

        def xlsxwriter_rows(a: int, b: int) -> None:
            if a <= b:
                sheet.dim_rowmin, sheet.dim_rowmax = a, b
                write_rows(sheet)

        def checked(k: int, cells: str) -> bool:
            """Row k written by xlsxwriter: is it the block's XML for it?"""
            row, out = first + k, sheet.fh
            sheet.fh = theirs = StringIO()
            xlsxwriter_rows(row, row)
            sheet.fh = ours = StringIO()
            sheet._write_row(row, spans.get(row // 16), sheet.row_info.get(row))
            sheet.fh = out
            out.write(theirs.getvalue())
            return ours.getvalue() + cells + "</row>" == theirs.getvalue()

        try:
            xlsxwriter_rows(low, first - 1)
            resume = None if checked(0, self._cells(range(1))[0]) else 1  # xlsxwriter writes the rows from here
            if resume is None:
                self._index_formats(mixed | checks)
                for k, xml in enumerate(self._cells(range(1, self.count)), start=1):
                    row = first + k
                    if k in checks and k not in mixed:
                        if not checked(k, xml):
                            resume = k + 1
                            break
                    elif k in mixed or (not xml and row in sheet.row_info):
                        xlsxwriter_rows(row, row)
                    elif xml:
                        sheet._write_row(row, spans.get(row // 16), sheet.row_info.get(row))
                        sheet.fh.write(xml)
                        sheet.fh.write("</row>")
            if resume is not None:
                self._hand_over(resume)
                xlsxwriter_rows(first + resume, last)
            xlsxwriter_rows(last + 1, high)
        finally:
            sheet.dim_rowmin, sheet.dim_rowmax = low, high
            del sheet._calculate_spans

    def _hand_over(self, start: int = 1) -> None:
        """The rows from `start` into xlsxwriter's table, the public way: xlsxwriter writes them
        from there (the first is there from the start)."""
        if not self.handed:
            for k in range(start, self.count):
                self._publish(k, self.columns)
            self.handed = True

    def _range_data(self, *cells: int) -> Any:
        """A chart's cached values come from xlsxwriter's table: the rows go there first."""
        self._hand_over()
        return type(self.sheet)._get_range_data(self.sheet, *cells)

    def _spans(self, spans: dict[int, str], mixed: set[int]) -> dict[int, str]:
        """xlsxwriter's spans (each 16 rows' first:last column with a cell, 1-based) widened by
        the block's cells (a mixed row's are in xlsxwriter's table, so in its spans already)."""
        spans = dict(spans)
        full = [col for col, column in self.columns.items() if None not in column[1]]
        partial = [(col, column[1]) for col, column in self.columns.items() if None in column[1]]
        groups: dict[int, tuple[int, int]] = {}
        for k in range(1, self.count):
            if k in mixed:
                continue
            cols = full + [col for col, values in partial if values[k] is not None] if partial else full
            if cols:
                group, low, high = (self.first + k) // 16, min(cols), max(cols)
                if group in groups:
                    low, high = min(low, groups[group][0]), max(high, groups[group][1])
                groups[group] = (low, high)
        for group, (low, high) in groups.items():
            if group in spans:
                a, b = map(int, spans[group].split(":"))
                low, high = min(low + 1, a) - 1, max(high + 1, b) - 1
            spans[group] = f"{low + 1}:{high + 1}"
        return spans

    def _format(self, k: int, col: int, formats: Any) -> Any:
        """The format a cell is written with: its own, else its row's, else its column's."""
        fmt = formats[k] if isinstance(formats, list) else formats
        if fmt:
            return fmt
        info = self.sheet.row_info.get(self.first + k)
        if info is not None and info.row_format:
            return info.row_format
        info = self.sheet.col_info.get(col)
        return None if info is None else info.column_format

    def _index_formats(self, mixed: set[int]) -> None:
        """Give each format its style number in the order xlsxwriter would: it numbers a format
        when it first writes a row or cell with it, row by row, cell by cell."""
        sheet = self.sheet

        def unnumbered(fmt: Any) -> bool:
            return fmt is not None and fmt.xf_index is None and fmt._get_format_key() not in fmt.xf_format_indices

        used = set()  # the formats the block's cells are written with, roughly (a superset)
        for col, (_, values, formats, _) in self.columns.items():
            column = sheet.col_info.get(col)
            used |= set(formats) if isinstance(formats, list) else {formats}
            used.add(None if column is None else column.column_format)
        used |= {info.row_format for row, info in sheet.row_info.items() if self.first < row < self.first + self.count}
        used |= {cell.format for k in mixed for cell in sheet.table[self.first + k].values()}
        pending = {f for f in used if unnumbered(f)}
        for k in range(1, self.count):
            if not pending:
                return
            row = self.first + k
            info = sheet.row_info.get(row)
            formats = [info.row_format if info is not None else None]
            if k in mixed:
                formats += [self._format(k, col, cell.format) for col, cell in sorted(sheet.table[row].items())]
            else:
                formats += [self._format(k, col, f) for col, (_, values, f, _) in sorted(self.columns.items()) if values[k] is not None]
            for fmt in formats:
                if unnumbered(fmt):
                    fmt._get_xf_index()
                    pending = {f for f in pending if unnumbered(f)}

    def _cells(self, ks: range) -> list[str]:
        """The cells' XML of block rows ks, a string a row: each column's cells from one pattern
        (its letter, style and formula fixed), the row numbers and values filled in."""
        sheet, columns = self.sheet, []
        rows = [self.first + k + 1 for k in ks]
        row_formats = any(info.row_format for row, info in sheet.row_info.items() if self.first <= row < self.first + self.count)
        for col, (kind, values, formats, extra) in sorted(self.columns.items()):
            values = values[ks.start : ks.stop]
            missing = [i for i, v in enumerate(values) if v is None]
            args: list[list[Any]] = [rows, [0 if v is None else v for v in values] if missing else values]  # {0} row, {1} value
            if isinstance(formats, list) or (not formats and row_formats):  # a style a cell
                styles: dict[Any, str] = {}
                args.append([self._style(k, col, formats, styles) for k in ks])
                style = "{2}"
            else:
                style = self._style(ks.start, col, formats, {})
            head = f'<c r="{xl_col_to_name(col)}{{0}}"{style}'
            if kind == "number":
                pattern = head + "><v>{1:.16G}</v></c>"
            elif kind == "string":
                pattern = head + ' t="s"><v>{1}</v></c>'
            else:
                template, tokens = extra
                formula = sheet._escape_data(sheet._prepare_formula(template)).replace("{", "{{").replace("}", "}}")
                if not all(type(v) in (float, int) for v in args[1]):  # a number's result has no type: its text is its str
                    kinds, results = zip(*[formula_result(v, sheet) for v in args[1]])
                    args[1] = list(results)
                    args.append(list(kinds))
                    head += "{" + str(len(args) - 1) + "}"
                for token, offset in tokens.items():
                    args.append([k + offset for k in ks])
                    formula = formula.replace(token, "{" + str(len(args) - 1) + "}")
                pattern = head + "><f>" + formula + "</f><v>{1}</v></c>"
            cells = list(map(pattern.format, *args))
            for i in missing:
                cells[i] = ""
            columns.append(cells)
        return ["".join(row) for row in zip(*columns)] if columns else ["" for _ in ks]

    def _style(self, k: int, col: int, formats: Any, styles: dict[Any, str]) -> str:
        """A cell's style attribute (its format's number), remembered by format."""
        fmt = self._format(k, col, formats)
        if fmt not in styles:
            styles[fmt] = "" if fmt is None else f' s="{fmt._get_xf_index()}"'
        return styles[fmt]


def fill(template: str, tokens: dict[str, int], k: int) -> str:
    """A template's formula at block row k: each token replaced by k plus its offset."""
    for token, offset in tokens.items():
        template = template.replace(token, str(k + offset))
    return template


def formula_result(value: Any, sheet: Any) -> tuple[str, str]:
    """A formula's cached result as xlsxwriter writes it: its type attribute and its text."""
    if isinstance(value, bool):
        return ' t="b"', "1" if value else "0"
    if isinstance(value, str):
        return ("" if value == "" else ' t="e"' if value in ERRORS else ' t="str"'), sheet._escape_data(value)
    return "", f"{value}"


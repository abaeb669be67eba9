"""Writing results: atomically, byte-for-byte reproducibly, and safe to open in a spreadsheet.

Every file is written to a temporary name beside its target and moved into place only when
complete (`wsf.write.atomic`), so a failed or interrupted run leaves nothing half-written and the
previous output as it was. Each table has a `<name>.meta.json` beside it recording the formula,
every input by SHA-256 and the table's own SHA-256; the two are renamed into place together.
No output may replace an input (`check_output`).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from wsf import __version__
from wsf.data.tables import file_sha256
from wsf.errors import WsfError
from wsf.write.atomic import (
    atomic_files,
    atomic_path,
    os_error_number,
    refuse_dangerous_folder,
    swap_folder_into_place,
    write_errors,
)

__all__ = ["atomic_path", "check_folder_target", "check_output", "swap_folder_into_place", "write_json", "write_table", "write_with_meta"]

FIXED_DATE = dt.datetime(2000, 1, 1)  # document dates are fixed so reruns give identical bytes
MONEY = "#,##0.00;-#,##0.00"
META = ".meta.json"  # beside every table: what it was made from, and its own SHA-256


# A spreadsheet may run text as a formula when it starts with = + - @ (OWASP), or with a form of
# them that Unicode folds to one (full-width, small, super- and subscript: NFKC), after any
# leading whitespace (tab, CR), control or invisible format character (a zero-width space).
LEADS = "=+-@\u207a\u207c\u208a\u208c\u2a75\u2a76\ufb29\ufe62\ufe63\ufe66\ufe6b\uff0b\uff0d\uff1d\uff20"
RISKY_START = r"^[\s\p{Cc}\p{Cf}]*[" + re.escape(LEADS) + "]"  # the same rule for Polars (Rust regex)
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def risky(value: str) -> bool:
    """Would a spreadsheet run this text as a formula?"""
    start = next((c for c in value if not (c.isspace() or unicodedata.category(c) in ("Cc", "Cf"))), "")
    return start != "" and start in LEADS


def neutralise(value: str | None) -> str | None:
    """Text a spreadsheet would run as a formula, made inert (OWASP: prefix a quote)."""
    return "'" + value if value and risky(value) else value


def neutralised(column: str) -> pl.Expr:
    """`neutralise` on a text column, vectorised."""
    text = pl.col(column)
    return pl.when(text.str.contains(RISKY_START)).then(pl.lit("'") + text).otherwise(text).alias(column)


def printable(text: str) -> str:
    """Text for a terminal: no control characters (an escape sequence in a school name could retitle
    or rewrite the terminal) and no bidirectional overrides; line breaks and tabs stay."""
    return "".join(c for c in text if c in "\n\t" or not (unicodedata.category(c) == "Cc" or c in BIDI))


def safe_filename(name: str, fallback: str = "school") -> str:
    """A file name from a school name that cannot leave its folder or surprise a shell."""
    name = re.sub(r"[^\w.-]+", "-", name, flags=re.UNICODE)
    name = re.sub(r"\.{2,}", ".", name).strip(".-_")  # no "..": a name is never a path step
    return (name or fallback)[:80]


# -- never an input ---------------------------------------------------------------------------


def check_output(output: str | Path, inputs: Iterable[tuple[str, str | Path | None]], *, folder: bool = False) -> None:
    """Refuse an output that would destroy an input, before anything is computed or written.

    `inputs` are (option, path) pairs, e.g. ("--prior", "prior.csv"). A file output may not be
    an input (the same real path after symlinks, or the same file by device and inode: a hard
    link), nor may its `.meta.json`. A folder output is replaced whole, so it may not hold an
    input (or be one), nor be the current folder, the home folder or one above them.
    """
    output = Path(output)
    given = [(option, Path(path)) for option, path in inputs if path is not None]
    if folder:
        refuse_dangerous_folder(output)
        real = Path(os.path.realpath(output))
        for option, path in given:
            if Path(os.path.realpath(path)).is_relative_to(real):
                raise WsfError(
                    f"{output} holds the {option} input {path}: replacing the folder would delete it",
                    key="-o",
                    fix="write the output to a new folder, or move the input out of this one",
                )
        return
    for written, what in ((output, "the output"), (output.with_name(output.name + META), f"the output's {META}")):
        for option, path in given:
            if _same_file(written, path):
                raise WsfError(
                    f"{what} {written} is the {option} input {path}: writing it would overwrite the input",
                    key="-o",
                    fix="give the output another name, e.g. -o out/allocations.csv",
                )


def check_folder_target(output: Path, ours: Callable[[str], bool], what: str) -> None:
    """A folder output replaces only a folder that is new, empty, or holds nothing but files a
    run of this command writes (`ours(name)`): never a folder of the user's own files."""
    if output.exists() and not output.is_dir():
        raise WsfError("is a file, not a folder", file=output, key="-o", fix=f"give a folder name for the {what} report")
    if output.is_dir():
        foreign = sorted(p.name for p in output.iterdir() if not ours(p.name))
        if foreign:
            raise WsfError(
                f"the folder exists and holds files this report did not write ({', '.join(foreign[:5])})",
                file=output,
                key="-o",
                fix="choose a new folder, or empty this one",
            )


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # st_dev and st_ino: also a hard link
    except OSError:  # one of them does not exist
        return False


# -- tables ------------------------------------------------------------------------------------

XLSX_ROWS, XLSX_COLUMNS = 1_048_576, 16_384  # Excel's sheet size; xlsxwriter drops what is beyond


def check_sheet_fits(rows: int, columns: int, target: Path, what: str = "the table") -> None:
    """Refuse a sheet Excel cannot hold, before anything is written (the header row counts)."""
    if rows > XLSX_ROWS or columns > XLSX_COLUMNS:
        raise WsfError(
            f"{what} would need {rows:,} rows and {columns:,} columns; "
            f"an XLSX sheet holds at most {XLSX_ROWS:,} rows and {XLSX_COLUMNS:,} columns",
            file=target,
            key="-o",
            fix=f"write {target.with_suffix('.csv').name} or {target.with_suffix('.parquet').name} instead",
        )


def write_table(frame: pl.DataFrame, target: str | Path, meta: dict[str, Any] | None = None, sheet: str = "Allocations") -> list[Path]:
    """Write a frame as CSV, Parquet or XLSX by extension (one sheet, named `sheet`), and with
    `meta` its `.meta.json` (the two land together); returns the paths written."""
    target = Path(target)
    writers: dict[str, Callable[[pl.DataFrame, Path], None]] = {
        ".csv": _write_csv,
        ".parquet": _write_parquet,
        ".xlsx": lambda frame, path: _write_xlsx(frame, path, sheet),
    }
    writer = writers.get(target.suffix.lower())
    if writer is None:
        raise WsfError(f"cannot write {target.suffix or 'a file without extension'!r}", file=target, fix="name the output .csv, .parquet or .xlsx")
    if target.suffix.lower() == ".xlsx":
        check_sheet_fits(frame.height + 1, frame.width, target)
    if meta is None:
        with atomic_path(target) as temp:
            io_errors(writer, frame, temp)
        return [target]
    return write_with_meta(target, lambda temp: io_errors(writer, frame, temp), meta)


def write_with_meta(target: Path, write: Callable[[Path], None], meta: dict[str, Any]) -> list[Path]:
    """A file and its `<name>.meta.json`, which adds the file's own SHA-256 to `meta` so a reader
    can check the two belong together. Both are written to temporaries, then renamed under the
    folder's lock, the meta.json first and the file last: concurrent runs to one target never
    mix their halves, and a failure leaves the previous pair as it was."""
    target = Path(target)
    meta_target = target.with_name(target.name + META)
    with atomic_files([meta_target, target]) as (meta_temp, temp):
        write(temp)
        meta = {**meta, "output": {"file": target.name, "sha256": file_sha256(temp)}}
        with write_errors(meta_target):
            _write_json(meta, meta_temp)
    return [target, meta_target]


def io_errors(writer: Callable[..., None], *args: Any) -> None:
    """Run a writer; an I/O error Polars reports as its own (`... (os error 28)`) becomes an
    OSError, so the caller names the file and the reason."""
    try:
        writer(*args)
    except pl.exceptions.PolarsError as error:
        number = os_error_number(str(error))
        if number is None:
            raise
        raise OSError(number, os.strerror(number)) from None


@contextmanager
def xlsx_book(path: Path, options: dict[str, Any] | None = None) -> Iterator[Any]:
    """An xlsxwriter workbook put together in memory and written to `path` in one write: a full
    disk is one plain OSError, and no half-written zip is left open for the garbage collector to
    print a traceback about. Text never becomes a formula or a link."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False, **(options or {})})
    yield book
    book.close()
    path.write_bytes(buffer.getvalue())


def write_json(data: dict[str, Any], target: Path) -> Path:
    with atomic_path(target) as temp:
        _write_json(data, temp)
    return target


def _write_json(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _text_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c, t in frame.schema.items() if t == pl.String]


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    safe = frame.with_columns(neutralised(c) for c in _text_columns(frame))
    safe.write_csv(path, line_terminator="\n")


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    frame.write_parquet(path, compression="zstd", statistics=False)


def _write_xlsx(frame: pl.DataFrame, path: Path, sheet: str = "Allocations") -> None:
    with xlsx_book(path) as book:
        book.set_properties({"created": FIXED_DATE, "author": "wsf", "comments": f"wsf {__version__}"})
        write_sheet(book, sheet, frame)


def write_sheet(
    book: Any, title: str, frame: pl.DataFrame, money: tuple[str, ...] | None = None, formulas: dict[str, tuple[str, dict[str, int]]] | None = None
) -> Any:
    """One sheet: bold frozen header, filters, money formats, widths, text never a formula.
    `formulas` makes a column's cells formulas, `{column: (template, tokens)}` (`Rows.formulas`),
    its values their cached results."""
    from wsf.write.rows import Rows  # xlsxwriter is imported when a sheet is written, not by every command

    sheet = book.add_worksheet(title)
    header = book.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
    money_fmt = book.add_format({"num_format": MONEY})
    percent_fmt = book.add_format({"num_format": "0.00%"})
    text_fmt = book.add_format({"quote_prefix": True})
    if money is None:
        money = tuple(c for c, t in frame.schema.items() if isinstance(t, pl.Decimal))
    percent = tuple(c for c, t in frame.schema.items() if t.is_float() and c.endswith(("_percent", "_share")))  # shares of 1
    rows = Rows(sheet, 1, frame.height)
    for col, name in enumerate(frame.columns):
        sheet.write_string(0, col, name, header)
        values = frame[name].to_list()
        is_money = name in money
        width = max([len(name)] + [len(f"{v:,.2f}" if is_money and v is not None else str(v)) for v in values[:500]])
        if name in percent:
            width = len(name)
        column_fmt = money_fmt if is_money else percent_fmt if name in percent else None
        sheet.set_column(col, col, min(max(width + 2, 8), 60), column_fmt)
        if any(isinstance(v, str) for v in values):  # text (a String or Categorical column)
            rows.strings([(col, values, [text_fmt if v is not None and risky(v) else None for v in values])])
        else:
            rows.numbers(col, values, column_fmt)
    for name, (template, tokens) in (formulas or {}).items():
        col = frame.columns.index(name)
        rows.formulas(col, template, frame[name].to_list(), None, tokens)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(frame.height, 1), max(len(frame.columns) - 1, 0))
    return sheet

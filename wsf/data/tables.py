"""Reading data files as they are published: CSV, Parquet or XLSX, plus a mapping file.

This layer knows about bytes, encodings, separators, title rows and header names, and
nothing about school finance. It hands `inputs` a frame whose columns carry wsf's names and
a `_row` column with the row number a person sees in a spreadsheet (header = row 1).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wsf.errors import WsfError

ROW = "_row"
BLANK = "_blank_"  # a column without a header: `_blank_3` (never read)
FORMATS = (".csv", ".txt", ".tsv", ".parquet", ".xlsx")
MAX_XLSX_BYTES = 256 << 20  # unpacked: a statewide school table is a few MB; more is a roster for CSV, or a zip bomb


class DataWarning(UserWarning):
    """Input read, but not as cleanly as it should have been (shown to the user)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadOptions(_Strict):
    sheet: str | None = None
    header_row: Annotated[int, Field(ge=1, le=1000)] = 1
    separator: Annotated[str, Field(min_length=1, max_length=1)] | None = None


Values = str | Annotated[list[str], Field(min_length=1)]


class RowFilter(_Strict):
    """Rows to keep and drop, by the file's own headers; values compare as trimmed text."""

    keep: dict[str, Values] = {}
    drop: dict[str, Values] = {}


class Mapping(_Strict):
    """wsf column name -> the file's header (or several headers joined, e.g. a CDS code)."""

    read: ReadOptions = ReadOptions()
    rows: RowFilter = RowFilter()
    columns: dict[str, Values] = {}


@dataclass(frozen=True)
class Table:
    path: Path
    sha256: str
    frame: pl.DataFrame
    read: str = ""  # how it was read, when the file could have been read otherwise: "sheet 'Cover' (the first; also 'Schools')"
    header_row: int = 1

    def misplaced_header(self, names: list[str]) -> WsfError | None:
        """The error to give when the header naming `names` is a later row than the one read
        (a title above it): one message with the row to name, instead of every column missing."""
        found = header_row_of(self.frame, names)
        if found is None:
            return None
        return WsfError(
            f"row {self.header_row} is not the header: the columns {', '.join(map(repr, names))} are named in row {found}",
            file=self.path,
            fix=f"put [read] header_row = {found} in a mapping file and pass it with --mapping FILE (or delete the rows above the header)",
        )


def header_row_of(frame: pl.DataFrame, names: list[str]) -> int | None:
    """The spreadsheet row (of the first 30) whose cells hold every one of `names`, if any."""
    if not names or ROW not in frame.columns:
        return None
    wanted = {n.strip().lower() for n in names}
    for row in frame.head(30).iter_rows(named=True):
        cells = {str(v).strip().lower() for k, v in row.items() if k != ROW and v is not None}
        if wanted <= cells:
            return row[ROW]
    return None


def load_mapping(path: str | Path | None) -> Mapping:
    if path is None:
        return Mapping()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        return Mapping.model_validate(data)
    except OSError as exc:
        raise WsfError(f"cannot read mapping file: {exc.strerror}", file=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WsfError(f"not a valid TOML mapping file: {exc}", file=path) from None
    except RecursionError:
        raise WsfError("not a mapping file: arrays or tables nested hundreds deep", file=path) from None
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in err["loc"])
        raise WsfError(
            err["msg"],
            file=path,
            key=key,
            fix='a mapping file has [read] (sheet, header_row, separator) and [columns] (wsf_name = "File header")',
        ) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: str | Path, mapping: Mapping | None = None) -> Table:
    """Read a whole file as text columns, renamed to wsf's names, with spreadsheet row numbers."""
    path = Path(path)
    mapping = mapping or Mapping()
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise WsfError(f"unknown file type {suffix!r}", file=path, fix="give a .csv, .parquet or .xlsx file")
    if not path.is_file():
        raise WsfError("file not found", file=path)
    skip = mapping.read.header_row - 1
    read = ""
    if suffix == ".parquet":
        frame = _read_parquet(path)
    elif suffix == ".xlsx":
        raw, read = _read_xlsx(path, mapping.read.sheet, skip)
        frame = _named(raw, path)
    else:
        frame = _named(_read_csv(path, mapping.read.separator, skip), path)
    if frame.height == 0:
        raise WsfError("the file has a header but no rows", file=path, fix="export the table again, with its data rows")
    frame = frame.with_row_index(ROW, offset=mapping.read.header_row + 1)
    frame = frame.filter(~pl.all_horizontal(pl.exclude(ROW).is_null() | (pl.exclude(ROW).str.strip_chars() == "")))  # blank lines
    frame = _apply_mapping(frame, mapping, path, read)
    if frame.height == 0:
        raise WsfError("no rows are left after the mapping's [rows] filter", file=path, fix="check the values in [rows] keep/drop")
    return Table(path=path, sha256=file_sha256(path), frame=frame, read=read, header_row=mapping.read.header_row)


def decode_text(path: Path, raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252/Latin-1 with a warning, else an error."""
    if b"\x00" in raw:
        raise WsfError("contains NUL bytes; this is not a text file", file=path, fix="export the data as CSV text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        line = raw[: utf8_error.start].count(b"\n") + 1
        raise WsfError(
            f"line {line}: bytes that are neither UTF-8 nor Latin-1 text "
            f"(byte 0x{raw[utf8_error.start]:02x} at offset {utf8_error.start})",
            file=path,
            fix="save the file as UTF-8 (in Excel: Save As > CSV UTF-8)",
        ) from None
    warnings.warn(f"{path.name}: not UTF-8; read as Windows-1252/Latin-1 text", DataWarning, stacklevel=2)
    return text


def _read_csv(path: Path, separator: str | None, skip: int) -> pl.DataFrame:
    text = decode_text(path, path.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if not any(line.strip() for line in lines[skip:]):
        raise WsfError("the file is empty", file=path, fix="export the table again, with its header row")
    header = lines[skip] if skip < len(lines) else ""
    if separator is None:
        separator = max((",", ";", "\t"), key=lambda s: header.count(s))
    try:
        return pl.read_csv(
            text.encode(),
            separator=separator,
            skip_rows=skip,
            has_header=False,  # the header row is read as data and named by `_named`, which sees duplicates
            infer_schema=False,
            truncate_ragged_lines=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise WsfError(f"cannot be read as CSV: {first}", file=path, fix="check that every row has as many fields as the header") from None


def _named(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """A frame read without a header, its first row the header: named by it, spaces collapsed.

    Two headers that name the same column (`frl, frl`, or `frl` and `frl `) are refused: the
    reader would otherwise keep one and silently drop the other."""
    if frame.height == 0:
        raise WsfError("the file is empty", file=path, fix="export the table again, with its header row")
    names = [re.sub(r"\s+", " ", str(v)).strip() if v is not None else "" for v in frame.row(0)]
    check_headers(names, path)
    # a column without a header carries nothing wsf can use; it gets an internal name and is dropped
    named = [name or f"{BLANK}{i + 1}" for i, name in enumerate(names)]
    return frame.slice(1).rename(dict(zip(frame.columns, named)))


def check_headers(names: list[str], path: Path) -> None:
    """Refuse repeated headers and wsf's own row-number column, by column position."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name == ROW:
            raise WsfError(f"column {i} is named {ROW!r}, which wsf uses for row numbers", file=path, key=f"column {ROW}",
                           fix="rename the column (or remove it); wsf does not read it")
        if name and name in seen:
            raise WsfError(
                f"columns {seen[name]} and {i} are both named {name!r} (spaces ignored), so wsf cannot tell which to read",
                file=path,
                key=f"column {name}",
                fix="rename or remove one of them",
            )
        seen.setdefault(name, i)


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several unrelated types for a corrupt file
        raise WsfError(f"cannot be read as Parquet: {str(exc).splitlines()[0]}", file=path) from None
    return _clean_names(frame.with_columns(pl.all().cast(pl.String)), path)


def _clean_names(frame, path: Path):
    """Column names as stored, spaces collapsed: a DataFrame or a LazyFrame (Parquet has no header row)."""
    names = [re.sub(r"\s+", " ", c).strip() for c in columns_of(frame)]
    check_headers(names, path)
    return frame.rename(dict(zip(columns_of(frame), [n or f"{BLANK}{i + 1}" for i, n in enumerate(names)])))


def _read_xlsx(path: Path, sheet: str | None, skip: int) -> tuple[pl.DataFrame, str]:
    """The sheet (named, or the first) as text, and which sheet was read when there were others."""
    inflated_size(path)
    try:
        import fastexcel

        sheets = list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception as exc:  # fastexcel errors carry no common base class
        raise WsfError(f"cannot read the workbook: {str(exc).splitlines()[0]}", file=path,
                       fix="open it in a spreadsheet and save it again as .xlsx") from None
    listed = ", ".join(repr(s) for s in sheets)
    if sheet is not None and sheet not in sheets:
        raise WsfError(f"has no sheet named {sheet!r}; its sheets are {listed}", file=path,
                       fix="put one of those names in the mapping file: [read] sheet = \"...\"")
    if not sheets:
        raise WsfError("the workbook has no sheets", file=path)
    chosen = sheet or sheets[0]
    others = [s for s in sheets if s != chosen]
    read = "" if not others else (
        f"read sheet {chosen!r}" + ("" if sheet else " (the first)") + f"; the workbook also has {', '.join(repr(s) for s in others)}: "
        "to read another, put [read] sheet = \"...\" in a mapping file")
    try:
        frame = pl.read_excel(
            path,
            sheet_name=chosen,
            has_header=False,
            read_options={"header_row": None, "skip_rows": skip},
            infer_schema_length=0,
            drop_empty_rows=False,  # blank rows are dropped after numbering, so row numbers stay the sheet's
        )
    except Exception as exc:  # fastexcel errors carry no common base class
        raise WsfError(f"cannot read sheet {chosen!r}: {str(exc).splitlines()[0]}", file=path,
                       fix="name the sheet and header row in a mapping file ([read] sheet, header_row)") from None
    return frame.with_columns(pl.all().cast(pl.String)), read


def inflated_size(path: Path) -> int:
    """The bytes an XLSX file unpacks to, counted by unpacking (a zip's own sizes can lie), up to
    `MAX_XLSX_BYTES`: a sheet that inflates beyond it is refused before any is read into memory."""
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for entry in archive.infolist():
                with archive.open(entry) as member:
                    while block := member.read(1 << 20):
                        total += len(block)
                        if total > MAX_XLSX_BYTES:
                            raise WsfError(
                                f"unpacks to more than {MAX_XLSX_BYTES >> 20} MB, more than a school or roster table needs",
                                file=path,
                                fix="save the table as CSV (or Parquet) and give that file instead",
                            )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, NotImplementedError) as exc:
        raise WsfError(f"is not a valid .xlsx workbook ({exc})", file=path, fix="open it in a spreadsheet and save it again as .xlsx") from None
    return total


def scan_parquet(path: str | Path, mapping: Mapping | None = None) -> tuple[pl.LazyFrame, Table]:
    """A Parquet file read lazily (types as stored, no row numbers), renamed by the mapping:
    the fast path for large rosters, read once in a streaming pass."""
    path = Path(path)
    if not path.is_file():
        raise WsfError("file not found", file=path)
    try:
        frame = pl.scan_parquet(path)
        frame.collect_schema()
    except Exception as exc:  # polars raises several unrelated types for a corrupt file
        raise WsfError(f"cannot be read as Parquet: {str(exc).splitlines()[0]}", file=path) from None
    table = Table(path=path, sha256=file_sha256(path), frame=pl.DataFrame())
    return _apply_mapping(_clean_names(frame, path), mapping or Mapping(), path), table


def columns_of(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    return frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns


def _apply_mapping(frame, mapping: Mapping, path: Path, read: str = ""):
    """Rename headers to wsf's names; a list of headers is joined (e.g. county+district+school).
    Works on a DataFrame or a LazyFrame alike."""
    wanted: list[str] = [*mapping.rows.keep, *mapping.rows.drop]
    for source in mapping.columns.values():
        wanted += [source] if isinstance(source, str) else source
    columns = columns_of(frame)
    missing = [c for c in wanted if c not in columns]
    if missing:
        found = header_row_of(frame, missing) if isinstance(frame, pl.DataFrame) else None
        hints = [f"the header seems to be row {found}: put [read] header_row = {found} in the mapping file"] if found else []
        raise WsfError(
            f"the mapping names column {missing[0]!r}, which is not in the file",
            file=path,
            fix="; ".join([*hints, f"the file's columns are: {', '.join(c for c in columns if c != ROW and not c.startswith('_'))}", *([read] if read else [])]),
        )
    for column, values in mapping.rows.keep.items():
        frame = frame.filter(_text(column).is_in(_listed(values)))
    for column, values in mapping.rows.drop.items():
        frame = frame.filter(~_text(column).is_in(_listed(values)).fill_null(False))
    mapped = [(pl.col(src) if isinstance(src, str) else pl.concat_str([_text(c) for c in src])).alias(dst) for dst, src in mapping.columns.items()]
    used = set(wanted) | set(mapping.columns)
    # names beginning with "_" are wsf's own (no formula key can start with one): unread columns so named are
    # dropped, but for columns without a header, whose cells may still show where the header is
    rest = [c for c in columns if c not in used and (not c.startswith("_") or c.startswith(BLANK))]
    return frame.select(*([ROW] if ROW in columns else []), *mapped, *rest)


def _text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars()


def _listed(values: Values) -> list[str]:
    return [values] if isinstance(values, str) else values

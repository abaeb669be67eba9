"""School tables and per-school amounts (prior allocations), checked against a formula.

Each reader returns plain frames with wsf's column names and numeric types, or raises one
`WsfError` listing every rule that failed: how many rows, and a few of them by row number and
`school_id`. Rosters (`wsf.roster`) are aggregated to this same shape, so everything after
sees one kind of input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from wsf.errors import WsfError
from wsf.formula import Formula
from wsf.grades import ALL, GRADE_COLUMNS, GRADES
from wsf.tables import ROW, Mapping, Table, read_table

MAX_PUPILS = 1_000_000  # per school or per count: larger is a typo or a wrong column
TRUE = ("true", "t", "yes", "y", "1", "1.0")
FALSE = ("false", "f", "no", "n", "0", "0.0", "")
THOUSANDS = r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"
SPAN_PREFIX = "enrollment_"


@dataclass(frozen=True)
class SchoolData:
    """One row per school: school_id, name, level, pupil columns, enrollment, counts."""

    frame: pl.DataFrame
    pupil_columns: tuple[str, ...]
    sources: tuple[Table, ...] = field(default=())


class Checks:
    """Collects every failed rule of one file, then raises them together."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.errors: list[WsfError] = []

    def rows(self, frame: pl.DataFrame, bad: pl.Expr, column: str, problem: str, fix: str, show: pl.Expr | None = None) -> None:
        failed = frame.filter(bad.fill_null(False))
        if failed.height == 0:
            return
        label = pl.col("school_id") if "school_id" in failed.columns else pl.col(column)
        shown = show if show is not None else pl.col(column)
        examples = failed.head(3).select(ROW, label.cast(pl.String).alias("who"), shown.cast(pl.String).alias("what"))
        listed = "; ".join(
            f"row {r} ({who}: {what if what not in (None, '') else 'empty'})" for r, who, what in examples.iter_rows()
        )
        count = f"{failed.height} row{'s' if failed.height > 1 else ''}"
        self.errors.append(WsfError(f"{count} {problem}, e.g. {listed}", file=self.table.path, key=f"column {column}", fix=fix))

    def add(self, problem: str, column: str | None = None, fix: str | None = None) -> None:
        self.errors.append(WsfError(problem, file=self.table.path, key=f"column {column}" if column else None, fix=fix))

    def done(self) -> None:
        if self.errors:
            raise WsfError.many(self.errors)


def read_schools(path: str | Path, formula: Formula, mapping: Mapping | None = None, directory: bool = False) -> SchoolData:
    """A school table; with `directory`, only ids, names and levels (counts come from a roster)."""
    table = read_table(path, mapping)
    checks = Checks(table)
    frame = table.frame
    _require(checks, frame, ["school_id", "name"])
    if directory:
        checks.done()
        frame = _ids(checks, frame, "school_id").with_columns(_level(frame))
        return SchoolData(frame.select("school_id", "name", "level"), (), (table,))
    pupil_columns = _pupil_columns(checks, frame, formula)
    counts = [c for c in formula.count_columns if c not in pupil_columns]
    shares = formula.share_columns
    for column in [c for c in [*counts, *shares] if c not in frame.columns]:
        users = [f"weights.{k}" for k, w in formula.weights.items() if w.column == column]
        checks.add(
            f"the formula counts {column!r} ({', '.join(users)}) but the file has no such column",
            column,
            fix=f"add the column or map one in a mapping file; the file's columns are: {', '.join(c for c in frame.columns if c != ROW)}",
        )
    if any(f.when and f.when.level for f in formula.foundations.values()) and "level" not in frame.columns:
        checks.add("a foundation depends on `level`, but the file has no level column", "level")
    checks.done()

    frame = _ids(checks, frame, "school_id")
    frame = frame.with_columns(pl.col("name").str.strip_chars(), _level(frame))
    whole = formula.formula.unit == "pupils"
    numbers = [*pupil_columns, *counts]
    if "enrollment" in frame.columns and "enrollment" not in pupil_columns:
        numbers.append("enrollment")
    frame = _numbers(checks, frame, numbers, whole=whole)
    frame = _numbers(checks, frame, shares, whole=False)
    for column in shares:
        checks.rows(frame, pl.col(column) > 1, column, "with a share above 1", "a share of enrollment is between 0 and 1 (55% is 0.55)")
    checks.done()

    frame = frame.with_columns(pl.sum_horizontal(pupil_columns).alias("_pupils"))
    if "enrollment" in frame.columns and "enrollment" not in pupil_columns:
        checks.rows(
            frame,
            (pl.col("enrollment") - pl.col("_pupils")).abs() > 1e-6,
            "enrollment",
            "with an enrollment that is not the sum of the grade columns",
            "correct the total or the grade columns so they agree",
            show=pl.format("{} vs {}", _shown(pl.col("enrollment")), _shown(pl.col("_pupils"))),
        )
    frame = frame.drop("enrollment", strict=False).rename({"_pupils": "enrollment"})
    _uncovered_grades(checks, frame, formula)
    _counts_within_enrollment(checks, frame, counts)
    checks.done()
    # a grade no span funds passed only with no pupils in it: it contributes nothing, and is not a pupil column
    pupil_columns = [c for c in pupil_columns if not c.startswith("grade_") or c.removeprefix("grade_") in formula.grade_span]
    keep = list(dict.fromkeys(["school_id", "name", "level", *pupil_columns, "enrollment", *counts, *shares]))
    return SchoolData(frame.select(keep), tuple(pupil_columns), (table,))


def read_amounts(path: str | Path, column: str, schools: SchoolData, mapping: Mapping | None = None,
                 optional: tuple[str, ...] = ()) -> tuple[pl.DataFrame, Table]:
    """A per-school dollar column (prior allocations, current spending) for known schools,
    with any `optional` number columns the file has (e.g. `prior_enrollment`)."""
    table = read_table(path, mapping)
    checks = Checks(table)
    _require(checks, table.frame, ["school_id", column])
    checks.done()
    frame = _ids(checks, table.frame, "school_id")
    extra = [c for c in optional if c in frame.columns]
    frame = _numbers(checks, frame, [column, *extra], whole=False)
    checks.rows(
        frame,
        ~pl.col("school_id").is_in(schools.frame["school_id"].implode()),
        "school_id",
        "for a school that is not in the school data",
        "remove the row, or add the school to the school data",
    )
    checks.done()
    return frame.select("school_id", column, *extra), table


# -- rules -----------------------------------------------------------------------------


def _require(checks: Checks, frame: pl.DataFrame, columns: list[str]) -> None:
    present = [c for c in frame.columns if c != ROW]
    for column in columns:
        if column not in frame.columns:
            checks.add(
                f"required column {column!r} is missing",
                column,
                fix=f"the file's columns are: {', '.join(present)}; rename one, or map it in a mapping file ([columns] {column} = \"Header\")",
            )


def _shown(value: pl.Expr) -> pl.Expr:
    """A count as a person writes it: 700, not 700.0."""
    return pl.when(value == value.round()).then(value.cast(pl.Int64).cast(pl.String)).otherwise(value.cast(pl.String))


def _level(frame: pl.DataFrame) -> pl.Expr:
    if "level" not in frame.columns:
        return pl.lit(None, pl.String).alias("level")
    return pl.col("level").str.strip_chars().str.to_lowercase()


def _ids(checks: Checks, frame: pl.DataFrame, column: str) -> pl.DataFrame:
    frame = frame.with_columns(pl.col(column).str.strip_chars())
    checks.rows(frame, pl.col(column).is_null(), column, "with an empty id", "give every row an id")
    checks.rows(
        frame,
        pl.col(column).is_not_null() & pl.col(column).is_duplicated(),
        column,
        f"with a duplicate {column}",
        "each id must appear once; remove or merge the duplicates",
    )
    checks.done()
    return frame


def _pupil_columns(checks: Checks, frame: pl.DataFrame, formula: Formula) -> list[str]:
    """Grade columns, or one `enrollment_<span>` column per [base] span, or `enrollment` with `all`."""
    unknown = [c for c in frame.columns if c.lower().startswith("grade_") and c not in GRADE_COLUMNS]
    for column in unknown:
        checks.add(f"{column!r} looks like a grade column but names no grade", column, fix=f"grade columns are {', '.join(GRADE_COLUMNS)}")
    grade_columns = [c for c in GRADE_COLUMNS if c in frame.columns]
    span_columns = [c for c in frame.columns if c.startswith(SPAN_PREFIX)]
    if grade_columns and span_columns:
        checks.add("the file has both grade columns and per-span enrollment columns", fix="give enrollment one way only")
    if grade_columns:
        return grade_columns
    if span_columns:
        expected = [f"{SPAN_PREFIX}{span}" for span in formula.base]
        for column in sorted(set(span_columns) - set(expected)):
            checks.add(f"{column!r} names no span of the formula's [base]", column, fix=f"per-span columns are {', '.join(expected)}")
        for column in sorted(set(expected) - set(span_columns)):
            checks.add(f"per-span enrollment column {column!r} is missing", column, fix=f"give one column per [base] span: {', '.join(expected)}")
        return expected
    if ALL in formula.base and "enrollment" in frame.columns:
        return ["enrollment"]
    need = "an `enrollment` column or grade columns" if ALL in formula.base else f"grade columns ({GRADE_COLUMNS[0]} .. {GRADE_COLUMNS[-1]})"
    checks.add(f"no enrollment: the formula's [base] needs {need}", fix="add them, or map the file's headers in a mapping file")
    return []


def _numbers(checks: Checks, frame: pl.DataFrame, columns: list[str], whole: bool = True) -> pl.DataFrame:
    """Parse text to numbers; `"1,234"` is read as 1234; text, blanks and nonsense are errors."""
    parsed = {}
    for column in columns:
        text = pl.col(column).cast(pl.String).str.strip_chars()
        clean = pl.when(text.str.contains(THOUSANDS)).then(text.str.replace_all(",", "")).otherwise(text)
        parsed[column] = clean.cast(pl.Float64, strict=False)
    frame = frame.with_columns(**{f"_{c}": e for c, e in parsed.items()})
    what = "a whole number of pupils" if whole else "an amount in dollars"
    for column in columns:
        value = pl.col(f"_{column}")
        checks.rows(frame, value.is_null(), column, "that are not numbers", f"write {what} (no text, no blanks)")
        checks.rows(frame, ~value.is_finite() | (value.abs() > (MAX_PUPILS if whole else 1e12)), column, "with an absurd value", f"write {what}")
        checks.rows(frame, value < 0, column, "with a negative value", "amounts and counts cannot be negative")
        if whole:
            checks.rows(frame, value.is_finite() & (value != value.round()), column, "with a fractional count", "counts of pupils are whole numbers")
    return frame.drop(columns).rename({f"_{c}": c for c in columns})


def _uncovered_grades(checks: Checks, frame: pl.DataFrame, formula: Formula) -> None:
    for grade in GRADES:
        column = f"grade_{grade}"
        if column in frame.columns and grade not in formula.grade_span:
            checks.rows(
                frame,
                pl.col(column) > 0,
                column,
                f"with pupils in grade {grade}, which no [base] span funds",
                f"add a span covering {grade} to [base], or move those pupils",
            )


def _counts_within_enrollment(checks: Checks, frame: pl.DataFrame, counts: list[str]) -> None:
    for column in counts:
        checks.rows(
            frame,
            pl.col(column) > pl.col("enrollment"),
            column,
            "with a count above the school's enrollment",
            "a count of pupils cannot exceed enrollment; check the column mapping",
            show=pl.format("{} > {}", _shown(pl.col(column)), _shown(pl.col("enrollment"))),
        )

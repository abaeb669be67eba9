"""School tables and per-school amounts (prior allocations), checked against a formula.

Each reader returns plain frames with wsf's column names and numeric types, or raises one
`WsfError` listing every rule that failed: how many rows, and a few of them by row number and
`school_id`. Rosters (`wsf.data.roster`) are aggregated to this same shape, so everything after
sees one kind of input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from wsf.data.tables import ROW, Mapping, Table, read_table
from wsf.engine.components import needs
from wsf.errors import WsfError
from wsf.formula.grades import ALL, GRADE_COLUMNS, GRADES, SPAN_PREFIX, grade_of_header, parse_span
from wsf.formula.model import Formula

MAX_PUPILS = 1_000_000  # per school or per count: larger is a typo or a wrong column
TRUE = ("true", "t", "yes", "y", "1", "1.0")
FALSE = ("false", "f", "no", "n", "0", "0.0", "")
THOUSANDS = r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"


@dataclass(frozen=True)
class SchoolData:
    """One row per school: school_id, name, level, pupil columns, enrollment, counts."""

    frame: pl.DataFrame
    pupil_columns: tuple[str, ...]
    sources: tuple[Table, ...] = field(default=())


class Checks:
    """Collects every failed rule of one file, then raises them together."""

    def __init__(self, table: Table, headers: dict[str, str] | None = None) -> None:
        self.table = table
        self.errors: list[WsfError] = []
        self.headers = headers or {}  # wsf's column name -> the file's own header, when they differ

    def _key(self, column: str) -> str:
        header = self.headers.get(column)
        return f"column {column}" if header in (None, column) else f"column {header!r} ({column})"

    def rows(self, frame: pl.DataFrame, bad: pl.Expr, column: str, problem: str, fix: str, show: pl.Expr | None = None,
             one: str | None = None) -> None:
        """Rows failing a rule: how many, and up to three by row number, id and value. `problem`
        follows "3 rows"; `one`, if the singular differs, follows "1 row"."""
        failed = frame.filter(bad.fill_null(False))
        if failed.height == 0:
            return
        label = pl.col("school_id") if "school_id" in failed.columns and column != "school_id" else pl.lit(None, pl.String)
        shown = show if show is not None else pl.col(column)
        examples = failed.head(3).select(ROW, label.cast(pl.String).alias("who"), shown.cast(pl.String).alias("what"))
        listed = "; ".join(
            f"row {r} ({who + ': ' if who else ''}{what if what not in (None, '') else 'empty'})" for r, who, what in examples.iter_rows()
        )
        count = "1 row " + (one or problem) if failed.height == 1 else f"{failed.height:,} rows {problem}"
        self.errors.append(WsfError(f"{count}, e.g. {listed}", file=self.table.path, key=self._key(column), fix=fix))

    def add(self, problem: str, column: str | None = None, fix: str | None = None) -> None:
        self.errors.append(WsfError(problem, file=self.table.path, key=self._key(column) if column else None, fix=fix))

    def done(self) -> None:
        if self.errors:
            raise WsfError.many(self.errors)


def read_schools(path: str | Path, formula: Formula, mapping: Mapping | None = None, directory: bool = False) -> SchoolData:
    """A school table; with `directory`, only ids, names and levels (counts come from a roster)."""
    table = read_table(path, mapping)
    checks = Checks(table)
    frame = table.frame
    require_columns(checks, frame, ["school_id", "name"])
    present = ", ".join(c for c in frame.columns if c != ROW and not c.startswith("_"))
    if directory:  # a school's own numbers (its capacity) still come from the school table
        numbers = _number_columns(checks, frame, formula, [], present)
        checks.done()
        frame = check_ids(checks, frame, "school_id").with_columns(_level(frame))
        known_levels(checks, frame, formula)
        frame = parse_numbers(checks, frame, numbers, "number")
        checks.done()
        return SchoolData(frame.select("school_id", "name", "level", *numbers), (), (table,))
    pupil_columns = _pupil_columns(checks, frame, formula)
    counts = [c for c in formula.count_columns if c not in pupil_columns]
    shares = formula.share_columns
    numbers_read = _number_columns(checks, frame, formula, [*pupil_columns, *counts, *shares], present)
    for column in [c for c in [*counts, *shares] if c not in frame.columns]:
        readers = {**needs(formula, "count"), **needs(formula, "share")}.get(column, [])
        users = [f"weights.{k}" for k in readers] or [f"roles.{r}" for r, c in formula.roles.items() if c == column]
        checks.add(
            f"the formula counts {column!r} ({', '.join(users)}) but the file has no such column",
            column,
            fix=f"add the column or map one in a mapping file; the file's columns are: {present}",
        )
    for column, keys in formula.text_columns.items():
        if column not in frame.columns:
            checks.add(f"the formula reads {column!r} ({', '.join(keys)}) but the file has no such column", column,
                       fix=f"add a {column} column (e.g. elementary, middle, high) or map one; the file's columns are: {present}")
    checks.done()

    frame = check_ids(checks, frame, "school_id")
    frame = frame.with_columns(pl.col("name").str.strip_chars(), _level(frame))
    known_levels(checks, frame, formula)
    fractional = loosened(formula, "fractional")
    numbers = [*pupil_columns, *(c for c in counts if c not in fractional)]
    if "enrollment" in frame.columns and "enrollment" not in pupil_columns:
        numbers.append("enrollment")
    frame = parse_numbers(checks, frame, numbers, formula.formula.unit)
    frame = parse_numbers(checks, frame, [c for c in counts if c in fractional], "ada")
    frame = parse_numbers(checks, frame, shares, "share")
    frame = parse_numbers(checks, frame, numbers_read, "number")
    for column in shares:
        checks.rows(frame, pl.col(column) > 1, column, "with a share above 1", "a share of enrollment is between 0 and 1 (55% is 0.55, and may be written 55%)")
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
    total_rows(checks, frame, ["enrollment", *pupil_columns, *counts], "every count")
    _missing_grade_columns(checks, frame, formula, pupil_columns)
    _uncovered_grades(checks, frame, formula)
    exceed = loosened(formula, "may_exceed_enrollment")
    _counts_within_enrollment(checks, frame, [c for c in counts if c not in exceed])
    checks.done()
    # a grade no span funds passed only with no pupils in it: it contributes nothing, and is not a pupil column
    pupil_columns = [c for c in pupil_columns if not c.startswith("grade_") or c.removeprefix("grade_") in formula.grade_span]
    keep = list(dict.fromkeys(["school_id", "name", "level", *pupil_columns, "enrollment", *counts, *shares, *numbers_read]))
    return SchoolData(frame.select(keep), tuple(pupil_columns), (table,))


NEW = "new"  # written in the prior column: the school is new this year, on purpose


@dataclass(frozen=True)
class Prior:
    """Last year's allocations: `frame` has school_id, prior (null for a school declared new) and,
    if the file has it, prior_enrollment. `new`: schools said to be new (--new-school, or `new`
    in the prior column); `accepted`: schools whose prior is far from this year's formula amount
    and right (--accept-prior)."""

    frame: pl.DataFrame
    table: Table | None = None
    new: frozenset[str] = frozenset()
    accepted: frozenset[str] = frozenset()


def read_prior(path: str | Path, schools: SchoolData, mapping: Mapping | None = None,
               new: tuple[str, ...] = (), accepted: tuple[str, ...] = ()) -> Prior:
    """Last year's allocations for known schools; `new` in the prior column declares a new school."""
    table = read_table(path, mapping)
    checks = Checks(table)
    require_columns(checks, table.frame, ["school_id", "prior"])
    checks.done()
    frame = check_ids(checks, table.frame, "school_id")
    marked = frame.filter(pl.col("prior").str.strip_chars().str.to_lowercase() == NEW)["school_id"].to_list()
    frame = frame.with_columns(pl.when(pl.col("school_id").is_in(marked)).then(pl.lit("0")).otherwise(pl.col("prior")).alias("prior"))
    frame = parse_numbers(checks, frame, ["prior"], "dollars")
    extra = [c for c in ("prior_enrollment",) if c in frame.columns]
    frame = parse_numbers(checks, frame, extra, "ada")
    _known(checks, frame, schools)
    total_rows(checks, frame, ["prior"], "a prior that is")
    checks.done()
    known = set(schools.frame["school_id"].to_list())
    for option, ids in (("--new-school", new), ("--accept-prior", accepted)):
        unknown = sorted(set(ids) - known)
        if unknown:
            raise WsfError(f"no school with school_id {', '.join(map(repr, unknown))}", key=option,
                           fix=f"school ids look like: {', '.join(sorted(known)[:5])}")
    declared = set(new) | set(marked)
    paid = frame.filter(pl.col("school_id").is_in(sorted(declared)) & (pl.col("prior") > 0))["school_id"].to_list()
    if paid:
        raise WsfError(f"{', '.join(paid)} {'is' if len(paid) == 1 else 'are'} said to be new, but {table.path.name} gives a prior",
                       key="--new-school", fix="a new school had no allocation last year: remove its prior, or do not call it new")
    frame = frame.with_columns(pl.when(pl.col("school_id").is_in(marked)).then(None).otherwise(pl.col("prior")).alias("prior"))
    return Prior(frame.select("school_id", "prior", *extra), table, frozenset(declared), frozenset(accepted))


def _known(checks: Checks, frame: pl.DataFrame, schools: SchoolData) -> None:
    """Rows for schools the school data lacks; ids that lost their leading zeros are said to have."""
    known = schools.frame["school_id"]
    unknown = frame.filter(~pl.col("school_id").is_in(known.implode()))["school_id"]
    checks.rows(
        frame,
        ~pl.col("school_id").is_in(known.implode()),
        "school_id",
        "for a school that is not in the school data",
        "remove the row, or add the school to the school data" + lost_zeros(unknown, known, schools.sources[0].path.name if schools.sources else "the school data"),
    )


def lost_zeros(unknown: pl.Series, known: pl.Series, where: str) -> str:
    """A fix line's clause for ids that match known ids once leading zeros are dropped ('101' for '0101')."""
    bare = {k.lstrip("0"): k for k in known.to_list() if k and k[0] == "0"}
    pairs = [(u, bare[u.lstrip("0")]) for u in unknown.to_list() if u and u.lstrip("0") in bare and u != bare[u.lstrip("0")]]
    if not pairs:
        return ""
    shown, full = pairs[0]
    return (f"; these ids seem to have lost their leading zeros ({shown!r} here is {full!r} in {where}): format the id column "
            "as text in the spreadsheet before saving, or give the ids as the school data writes them")


# -- rules -----------------------------------------------------------------------------


def require_columns(checks: Checks, frame: pl.DataFrame, columns: list[str]) -> None:
    present = [c for c in frame.columns if c != ROW and not c.startswith("_")]
    missing = [c for c in columns if c not in frame.columns]
    if missing and (misplaced := checks.table.misplaced_header(missing)):
        raise misplaced
    read = f"; {checks.table.read}" if checks.table.read else ""
    for column in missing:
        checks.add(
            f"required column {column!r} is missing",
            column,
            fix=f"the file's columns are: {', '.join(present)}; rename one, or map it in a mapping file ([columns] {column} = \"Header\"){read}",
        )


def _shown(value: pl.Expr) -> pl.Expr:
    """A count as a person writes it: 700, not 700.0."""
    return pl.when(value == value.round()).then(value.cast(pl.Int64).cast(pl.String)).otherwise(value.cast(pl.String))


def _number_columns(checks: Checks, frame: pl.DataFrame, formula: Formula, read: list[str], present: str) -> list[str]:
    """The number columns a rule reads (a capacity, TK teacher FTE, a share a condition compares)
    that no count or share already reads; each one missing is an error."""
    numbers = [c for c in formula.number_columns if c not in read and c != "enrollment"]
    for column in numbers:
        if column not in frame.columns:
            keys = ", ".join(formula.number_columns[column])
            checks.add(f"the formula reads {column!r} ({keys}) but the file has no such column", column,
                       fix=f"add the column or map one in a mapping file; the file's columns are: {present}")
    return numbers


def _level(frame: pl.DataFrame) -> pl.Expr:
    if "level" not in frame.columns:
        return pl.lit(None, pl.String).alias("level")
    return pl.col("level").str.strip_chars().str.to_lowercase()


def known_levels(checks: Checks, frame: pl.DataFrame, formula: Formula) -> None:
    """A formula that lists its levels refuses a school of any other (or of none): rules by level
    would give it nothing, silently."""
    levels = formula.formula.levels
    if levels is not None:
        checks.rows(frame, ~pl.col("level").is_in([level.lower() for level in levels]).fill_null(False), "level",
                    f"with a level that is not one of the formula's ({', '.join(levels)})",
                    f"write one of {', '.join(levels)} (as [formula] levels lists them), or add the level to the formula")


def check_ids(checks: Checks, frame: pl.DataFrame, column: str) -> pl.DataFrame:
    frame = frame.with_columns(pl.col(column).str.strip_chars())
    checks.rows(frame, pl.col(column).is_null() | (pl.col(column) == ""), column, "with an empty id", "give every row an id")
    checks.rows(
        frame,
        pl.col(column).is_not_null() & (pl.col(column) != "") & pl.col(column).is_duplicated(),
        column,
        f"with a duplicate {column}",
        "each id must appear once; remove or merge the duplicates",
    )
    checks.done()
    return frame


def _pupil_columns(checks: Checks, frame: pl.DataFrame, formula: Formula) -> list[str]:
    """Grade columns, or one `enrollment_<span>` column per [base] span, or `enrollment` with `all`."""
    for column in frame.columns:
        grade = grade_of_header(column)
        if grade is not None:
            checks.add(
                f"{column!r} looks like {_grade_name(grade)} enrollment, but wsf reads grade columns named grade_{grade}",
                column,
                fix=f'rename the header to grade_{grade}, or map it in a mapping file: [columns] grade_{grade} = "{column}"',
            )
        elif column.lower().startswith("grade_") and column not in GRADE_COLUMNS:
            checks.add(f"{column!r} looks like a grade column but names no grade", column, fix=f"grade columns are {', '.join(GRADE_COLUMNS)}")
    grade_columns = [c for c in GRADE_COLUMNS if c in frame.columns]
    read = {*formula.number_columns, *formula.count_columns, *formula.share_columns}  # enrollment_capacity is a number, not a span
    span_columns = [c for c in frame.columns if c.startswith(SPAN_PREFIX) and c not in read]
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


# What a number column holds: (how a person writes it, the largest plausible value, whole numbers only)
KINDS = {
    "pupils": ("a whole number of pupils", MAX_PUPILS, True),
    "ada": ("a number of pupils (average daily attendance may have decimals)", MAX_PUPILS, False),
    "dollars": ("an amount in dollars, such as 3200000 or $3,200,000.00", 1e12, False),
    "signed_dollars": ("an amount in dollars, such as -1250.00 or $3,200,000.00 (a ledger's credits are negative)", 1e12, False),
    "share": ("a share of enrollment between 0 and 1 (55% is 0.55; 55% is read as 0.55 too)", 1e12, False),
    "number": ("a number, such as 400 or 0.875", 1e9, False),
}


def parse_numbers(checks: Checks, frame: pl.DataFrame, columns: list[str], kind: str = "pupils") -> pl.DataFrame:
    """Parse text to numbers as spreadsheets save them: `"1,234"` is 1234; dollars may carry a `$`
    (`$3,200,000.00`), shares a `%` (`55%` is 0.55). Text, blanks and nonsense are errors."""
    what, most, whole = KINDS[kind]
    parsed = {}
    for column in columns:
        text = pl.col(column).cast(pl.String).str.strip_chars()
        if kind in ("dollars", "signed_dollars"):  # "$3,200,000.00", "-$5", "$ 12"
            text = text.str.replace(r"^(-?)\s*(?:US)?\$\s*", "${1}")
        percent = text.str.ends_with("%") if kind == "share" else pl.lit(False)
        text = pl.when(percent).then(text.str.strip_suffix("%").str.strip_chars()).otherwise(text)
        clean = pl.when(text.str.contains(THOUSANDS)).then(text.str.replace_all(",", "")).otherwise(text)
        number = clean.cast(pl.Float64, strict=False)
        parsed[column] = pl.when(percent).then(number / 100).otherwise(number)
    frame = frame.with_columns(**{f"_{c}": e for c, e in parsed.items()})
    for column in columns:
        value = pl.col(f"_{column}")
        checks.rows(frame, value.is_null(), column, "that are not numbers", f"write {what} (no text, no blanks)", one="that is not a number")
        checks.rows(frame, ~value.is_finite() | (value.abs() > most), column, "with an absurd value", f"write {what}")
        if kind != "signed_dollars":
            checks.rows(frame, value < 0, column, "with a negative value", "amounts and counts cannot be negative")
        if whole:
            checks.rows(frame, value.is_finite() & (value != value.round()), column, "with a fractional count", "counts of pupils are whole numbers")
    return frame.drop(columns).rename({f"_{c}": c for c in columns})


def _grade_name(grade: str) -> str:
    return {"K": "kindergarten", "TK": "transitional kindergarten"}.get(grade, f"grade {grade}")


# The grades a school of a level serves, for the levels districts commonly write; a level written as
# a span ("K-8", "6-12") serves that span. Other levels say nothing about grades.
LEVEL_GRADES = {"elementary": "K-5", "es": "K-5", "middle": "6-8", "ms": "6-8", "high": "9-12", "hs": "9-12"}


def _level_grades(level: str | None) -> tuple[str, ...]:
    if not level:
        return ()
    span = LEVEL_GRADES.get(level, level.upper())
    try:
        return parse_span(span)
    except ValueError:
        return ()


def _missing_grade_columns(checks: Checks, frame: pl.DataFrame, formula: Formula, pupil_columns: list[str]) -> None:
    """A grade the formula funds, with no column for it, at schools whose level says they serve it:
    their pupils in that grade would silently get nothing (a kindergarten header wsf did not read)."""
    if not pupil_columns or not pupil_columns[0].startswith("grade_"):
        return
    for grade in formula.grade_span:
        if f"grade_{grade}" in frame.columns:
            continue
        serving = frame.filter(pl.col("level").map_elements(lambda lv, g=grade: g in _level_grades(lv), return_dtype=pl.Boolean))
        if serving.height:
            shown = ", ".join(serving["school_id"].head(3).to_list())
            checks.add(
                f"the formula funds {_grade_name(grade)} and {serving.height} school{'s' if serving.height > 1 else ''} "
                f"({shown}{', ...' if serving.height > 3 else ''}) serve it by their level, but the file has no grade_{grade} column",
                f"grade_{grade}",
                fix=f"add a grade_{grade} column (0 where a school has none), or map the file's {_grade_name(grade)} header to grade_{grade}",
            )


TOTAL_NAMES = re.compile(r"^(grand |district |school |all schools )?(sub)?totals?:?$|^all schools$|^district$", re.IGNORECASE)


def total_rows(checks: Checks, frame: pl.DataFrame, columns: list[str], what: str) -> None:
    """A spreadsheet's total row read as a school: named total, or holding, in every number column,
    the sum of the other rows (at least three of them: with fewer, one school can be the others' sum)."""
    label = frame["name"].fill_null("") if "name" in frame.columns else pl.Series([""] * frame.height)
    named = frame["school_id"].str.strip_chars().str.contains(TOTAL_NAMES.pattern) | label.str.strip_chars().str.contains(TOTAL_NAMES.pattern)
    summed = pl.Series([frame.height >= 4] * frame.height)
    for column in columns:
        values = frame[column].cast(pl.Float64)
        summed &= (values - (values.sum() - values)).abs() < 0.005
    summed &= frame[columns[0]].cast(pl.Float64) > 0
    name = pl.col("name").fill_null("") if "name" in frame.columns else pl.lit("")
    first = frame.filter(named | summed)["school_id"].head(1).to_list() or ["..."]
    checks.rows(
        frame,
        pl.lit(named | summed),
        columns[0],
        f"that look like a spreadsheet's total, not a school (named total, or {what} the sum of the other rows)",
        f'delete the total row, or drop it in a mapping file: [rows] drop = {{ school_id = "{first[0]}" }}',
        show=pl.format("{}: {}", name, _shown(pl.col(columns[0]))),
        one=f"that looks like a spreadsheet's total, not a school (named total, or {what} the sum of the other rows)",
    )


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


def loosened(formula: Formula, flag: str) -> set[str]:
    """The count columns whose every weight says `flag` (`fractional`, `may_exceed_enrollment`):
    they are read by that rule; a column any other reader takes as pupils (another weight, a
    `[roles]` entry) keeps the rules of whole pupils within enrollment."""
    said: dict[str, list[bool]] = {}
    for weight in formula.weights.values():
        if weight.count is not None:
            said.setdefault(weight.count, []).append(getattr(weight, flag))
    roles = set(formula.roles.values())
    return {column for column in formula.count_columns if all(said.get(column, [False])) and column not in roles}


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

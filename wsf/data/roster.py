"""Student rosters: one row per pupil, aggregated to the counts a school table would give.

A statewide roster has millions of rows, so the normal path is one streaming run: pupils are
grouped by (school, grade as written) with their flags summed, and everything else (grade
spellings, coverage, pivoting grades into columns) happens on that small result; beside the
group-by, the same run keeps an 8-byte hash of each student id, to find empty and repeated ids.
The roster itself is never held in memory. The run counts what could be wrong; only when a count
says something is wrong is the file read again in full, with row numbers, to name the rows,
exactly as a school table's errors do.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from wsf.data.schools import FALSE, TRUE, Checks, SchoolData, check_ids, require_columns
from wsf.data.tables import Mapping, Table, columns_of, read_table, scan_parquet
from wsf.formula.grades import GRADES, normalise_grade
from wsf.formula.model import Formula

ID_PARTS = 8  # the id check counts its hashes an eighth at a time (see _id_hashes)


def read_students(path: str | Path, formula: Formula, mapping: Mapping | None = None, schools: SchoolData | None = None) -> SchoolData:
    """Aggregate a roster to counts per school; with a school table, every school is kept."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        frame, table = scan_parquet(path, mapping)
    else:
        table = read_table(path, mapping)
        frame = table.frame.lazy()
    checks = Checks(table)
    if formula.share_columns:
        checks.add("the formula has weights on a `share` of enrollment, which a roster cannot give", fix="use a school table (--schools) for this formula")
    if formula.number_columns and schools is None:
        checks.add(f"the formula reads {', '.join(repr(c) for c in formula.number_columns)} of each school, which a roster cannot give",
                   fix="pass --schools FILE with those columns beside the roster")
    flags = formula.flag_columns
    require_columns(checks, pl.DataFrame(schema=columns_of(frame)), ["student_id", "school_id", "grade", *flags])
    checks.done()

    known = None if schools is None else schools.frame["school_id"]
    grouped = _counts(frame, formula)
    if _suspect(grouped, formula, known):  # name the rows; a hash collision is a false alarm and passes
        _name_the_rows(read_table(path, mapping) if path.suffix.lower() == ".parquet" else table, formula, schools)

    covered = [g for g in GRADES if g in formula.grade_span]
    counted = formula.count_columns
    pupil_columns = tuple(f"grade_{g}" for g in covered)
    agg = grouped.group_by("school_id").agg(
        *[pl.col("_pupils").filter(pl.col("grade") == g).sum().cast(pl.Float64).alias(f"grade_{g}") for g in covered],
        *[pl.col(c).sum().cast(pl.Float64) for c in counted],
    )
    if schools is not None:
        numbers = [c for c in schools.frame.columns if c in formula.number_columns]
        agg = schools.frame.select("school_id", "name", "level", *numbers).join(agg, on="school_id", how="left", validate="1:1")
        agg = agg.with_columns(pl.col(*pupil_columns, *counted).fill_null(0.0))
        sources = (*schools.sources, table)
    else:
        agg = agg.with_columns(pl.col("school_id").alias("name"), pl.lit(None, pl.String).alias("level"))
        sources = (table,)
    result = agg.with_columns(pl.sum_horizontal(pupil_columns).alias("enrollment"))
    numbers = [c for c in result.columns if c in formula.number_columns]
    return SchoolData(result.select("school_id", "name", "level", *pupil_columns, "enrollment", *counted, *numbers), pupil_columns, sources)


def _counts(frame: pl.LazyFrame, formula: Formula) -> pl.DataFrame:
    """Pupils and flags per (school, grade spelled as the file spells it), with the id check.

    One streaming run computes both: the group-by and the hashes of the ids (`_id_hashes`).
    Ids are compared trimmed, as in a school table."""
    parts = _id_hashes(frame)
    grouped, *parts = pl.collect_all([_pupils_by_school_and_grade(frame, formula), *parts], engine="streaming")
    duplicates = _duplicate_ids(parts)
    grouped = grouped.with_columns(pl.lit(duplicates).alias("_id_faults"))
    return grouped.with_columns(pl.col("grade").replace_strict(_grade_spellings(grouped), default=None, return_dtype=pl.String))


def _pupils_by_school_and_grade(frame: pl.LazyFrame, formula: Formula) -> pl.LazyFrame:
    """`_pupils`, each count and `_bad_FLAG` (values that are no true/false) per school and grade.

    The group-by keys the school id as stored (cheap); trimming and regrouping then happen on its
    small result, in the same streaming run: run after it, outside the run, they added 5-19 MB to
    the peak at 6M pupils (memory the run had freed was not reused for them).

    Each pupil's flags become true/false columns in a `with_columns` before the group-by, which
    then only sums: the same expressions inside the aggregation (or in a `select`) held about
    50 MB more on the streaming engine for a 6M-pupil roster."""
    schema = frame.collect_schema()
    flags = formula.flag_columns
    is_true = {f: _flag(f, schema[f]) for f in flags}
    derived = {k: pl.any_horizontal([is_true[f] for f in c.any_of]) for k, c in formula.counts.items()}
    bad = {f"_bad_{f}": _not_a_flag(f, schema[f]) for f in flags if schema[f] != pl.Boolean}  # a Boolean is always a flag
    sums = [*formula.count_columns, *bad]
    pupils = frame.with_columns(
        pl.col("school_id", "grade").cast(pl.String),
        *[(derived[c] if c in derived else is_true[c]).alias(c) for c in formula.count_columns],
        *[rule.alias(name) for name, rule in bad.items()],
    ).select("school_id", "grade", *sums)
    grouped = pupils.group_by("school_id", "grade").agg(pl.len().alias("_pupils"), *[pl.col(c).sum() for c in sums])
    return grouped.with_columns(pl.col("school_id").str.strip_chars()).group_by("school_id", "grade").agg(pl.col("_pupils", *sums).sum())


def _id_hash(student: pl.Expr) -> pl.Expr:
    return student.cast(pl.String).str.strip_chars().hash(seed=0).alias("_hash")


def _id_hashes(frame: pl.LazyFrame) -> list[pl.LazyFrame]:
    """The 64-bit hash of every trimmed student id, split `ID_PARTS` ways by value.

    Only the 8-byte hashes are kept, never the roster: several times faster and smaller than
    counting the text. A repeated id lands twice in one part, so each part is counted on its
    own: a table for an eighth of the hashes at a time, about 40 MB less at 6M pupils than one
    table for them all. The parts come from one scan (`cache`)."""
    hashed = frame.select(_id_hash(pl.col("student_id"))).cache()
    return [hashed.filter(pl.col("_hash") % ID_PARTS == i) for i in range(ID_PARTS)]


def _duplicate_ids(parts: list[pl.DataFrame]) -> int:
    """Empty, blank or repeated ids, counted from their hashes (a collision can only raise a
    false alarm, which the full read then clears).

    A missing id and an empty one hash to values of their own, so counting those two values
    finds them without a second comparison of every id."""
    empty, missing = pl.DataFrame({"student_id": ["", None]}, schema={"student_id": pl.String}).select(_id_hash(pl.col("student_id"))).to_series()
    faults = 0
    while parts:
        part = parts.pop().to_series()  # dropped before the next part's table is built
        faults += int((part == empty).sum()) + int((part == missing).sum()) + part.len() - part.n_unique()
    return faults


def _flag(column: str, dtype: pl.DataType) -> pl.Expr:
    """True/false as stored: a Boolean, 1/0 (integers or floats), or text (true/false, yes/no, y/n, 1/0; blank is false)."""
    if dtype == pl.Boolean:
        return pl.col(column).fill_null(False)
    if dtype.is_numeric():
        return pl.col(column) == 1
    return pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase().is_in(TRUE)


def _not_a_flag(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Boolean:
        return pl.lit(False)
    if dtype.is_numeric():  # 1/0 as integers or as floats (1.0/0.0, as Parquet writers often store flags)
        return ~pl.col(column).cast(pl.Float64).is_in([0.0, 1.0]) & pl.col(column).is_not_null()
    return ~pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("").is_in([*TRUE, *FALSE])


def _grade_spellings(grouped: pl.DataFrame) -> dict[str, str]:
    """Each grade as written in the file (a few dozen at most) -> TK, K, 1 .. 12."""
    spellings = grouped["grade"].drop_nulls().unique().to_list()
    return {raw: grade for raw in spellings if (grade := normalise_grade(raw))}


def _suspect(grouped: pl.DataFrame, formula: Formula, known: pl.Series | None) -> bool:
    """Does any count say a row is wrong? Then the full read names the rows (or clears them)."""
    bad_flags = sum(int(grouped[c].sum()) for c in grouped.columns if c.startswith("_bad_"))
    schools = grouped["school_id"]
    return bool(
        grouped["_id_faults"][0]
        or bad_flags
        or grouped["grade"].null_count()
        or not grouped["grade"].drop_nulls().is_in(list(formula.grade_span)).all()
        or schools.null_count()
        or (schools == "").any()
        or (known is not None and not schools.drop_nulls().is_in(known.implode()).all())
    )


def _name_the_rows(table: Table, formula: Formula, schools: SchoolData | None) -> None:
    """The full read, with row numbers: raise a WsfError naming the rows that fail each rule."""
    checks = Checks(table)
    frame = check_ids(checks, table.frame, "student_id")
    flags = formula.flag_columns
    spellings = {raw: normalise_grade(raw) for raw in frame["grade"].drop_nulls().unique().to_list()}
    frame = frame.with_columns(
        pl.col("school_id").str.strip_chars(),
        pl.col("grade").replace_strict({k: v for k, v in spellings.items() if v}, default=None, return_dtype=pl.String).alias("_grade"),
        *[pl.col(f).str.strip_chars().str.to_lowercase().fill_null("").alias(f) for f in flags],
    )
    checks.rows(frame, pl.col("school_id").is_null() | (pl.col("school_id") == ""), "school_id", "with no school_id", "give every pupil a school")
    checks.rows(frame, pl.col("_grade").is_null(), "grade", "with an unknown grade", "grades are TK, K, 1 .. 12")
    checks.rows(
        frame,
        pl.col("_grade").is_not_null() & ~pl.col("_grade").is_in(list(formula.grade_span)),
        "grade",
        "in a grade no [base] span funds",
        "add a span for that grade to [base] or remove those pupils",
    )
    for flag in flags:
        checks.rows(frame, ~pl.col(flag).is_in([*TRUE, *FALSE]), flag, "that are not true/false", "write true or false (or 1/0, yes/no)",
                    one="that is not true/false")
    if schools is not None:
        checks.rows(
            frame,
            ~pl.col("school_id").is_in(schools.frame["school_id"].implode()),
            "school_id",
            "whose school is not in the school table",
            f"add the school to {schools.sources[0].path.name} or correct the pupil's school_id",
        )
    checks.done()


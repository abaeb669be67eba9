"""The alternatives a user would pick instead of wsf, each computing benchmarks/statewide.toml.

Every contender takes (formula, students.parquet, schools.csv) and returns one row per school
of the school table, sorted by `school_id`: `school_id`, `total_cents` (the school's total in
integer cents, rounded half up as wsf rounds it). The anchors are written by hand, as a user
without wsf would write them: the formula's rates are typed in below, not read from the
formula file. `test_anchors_agree.py` checks that they agree with wsf to the cent, so a fast
anchor can never be fast by computing something else.

- `floor`: only reading the roster columns wsf needs with Polars (no formula at all).
- `duckdb`: one SQL query over the Parquet file: aggregate to schools, then the formula.
- `duckdb_checked`: the same, after a query making wsf's checks (unique trimmed ids, known grades, known schools).
- `pandas`: pyarrow read, groupby, the formula on the school frame.
- `polars`: a hand-written Polars lazy query, collected on the streaming engine.
- `wsf`: `wsf.api.allocate_files`, the library call the CLI makes.

Run one as a process (the process benchmarks do):
    python benchmarks/anchors.py NAME FORMULA STUDENTS SCHOOLS
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl

FLAGS = ["frl", "el", "foster", "sped_moderate", "sped_intensive"]
ROSTER_COLUMNS = ["student_id", "school_id", "grade", *FLAGS]

# statewide.toml, typed in by hand: adjusted base per grade (TK-3 10,025 with K-3 +10.4%;
# 4-6 10,177; 7-8 10,478; 9-12 12,144), weights and the foundation.
RATE = {"TK": 10_025.0, **dict.fromkeys(["K", "1", "2", "3"], 10_025 * 1.104), **dict.fromkeys(["4", "5", "6"], 10_177.0)}
RATE |= {**dict.fromkeys(["7", "8"], 10_478.0), **dict.fromkeys(["9", "10", "11", "12"], 12_144.0)}
SPANS = {"tk": ["TK"], "k3": ["K", "1", "2", "3"], "g46": ["4", "5", "6"], "g78": ["7", "8"], "g912": ["9", "10", "11", "12"]}
POVERTY, ENGLISH_LEARNER, CONCENTRATION, ABOVE_SHARE = 0.20, 0.20, 0.65, 0.55
SPED_MODERATE, SPED_INTENSIVE, LEADERSHIP = 3_000.0, 9_500.0, 250_000.0


def floor(formula: Path, students: Path, schools: Path) -> pl.DataFrame:
    """The floor: read the roster columns wsf must read (it checks `student_id` is unique)."""
    return pl.read_parquet(students, columns=ROSTER_COLUMNS)


# -- DuckDB ------------------------------------------------------------------------------

DUCKDB_SQL = """
WITH counts AS (
    SELECT school_id,
           count(*) AS enrollment,
           count(*) FILTER (grade = 'TK') AS tk,
           count(*) FILTER (grade IN ('K', '1', '2', '3')) AS k3,
           count(*) FILTER (grade IN ('4', '5', '6')) AS g46,
           count(*) FILTER (grade IN ('7', '8')) AS g78,
           count(*) FILTER (grade IN ('9', '10', '11', '12')) AS g912,
           count(*) FILTER (frl) AS frl,
           count(*) FILTER (el) AS el,
           count(*) FILTER (sped_moderate) AS sped_moderate,
           count(*) FILTER (sped_intensive) AS sped_intensive,
           count(*) FILTER (frl OR el OR foster) AS unduplicated
    FROM read_parquet($students)
    GROUP BY school_id
),
based AS (
    SELECT s.school_id,
           coalesce(c.enrollment, 0)::DOUBLE AS enrollment,
           coalesce(c.tk * 10025e0 + c.k3 * (10025e0 * 1.104e0) + c.g46 * 10177e0
                    + c.g78 * 10478e0 + c.g912 * 12144e0, 0) AS base,
           coalesce(c.frl, 0) AS frl, coalesce(c.el, 0) AS el,
           coalesce(c.sped_moderate, 0) AS sped_moderate, coalesce(c.sped_intensive, 0) AS sped_intensive,
           coalesce(c.unduplicated, 0) AS unduplicated
    FROM read_csv($schools, all_varchar = true) s
    LEFT JOIN counts c USING (school_id)
),
amounts AS (
    SELECT school_id, base,
           CASE WHEN enrollment > 0 THEN base / enrollment ELSE 0 END AS average,
           frl * 0.20e0 * average AS poverty,
           el * 0.20e0 * average AS english_learner,
           sped_moderate * 3000e0 AS sped_moderate,
           sped_intensive * 9500e0 AS sped_intensive,
           greatest(unduplicated - 0.55e0 * enrollment, 0) * 0.65e0 * average AS concentration,
           250000e0 AS leadership
    FROM based
)
SELECT school_id,
       floor(round(base * 100 + poverty * 100 + english_learner * 100 + sped_moderate * 100
                   + sped_intensive * 100 + concentration * 100 + leadership * 100, 6) + 0.5)::BIGINT AS total_cents
FROM amounts
ORDER BY school_id
"""


def duckdb(formula: Path, students: Path, schools: Path) -> pl.DataFrame:
    import duckdb as db

    with db.connect() as con:
        return con.sql(DUCKDB_SQL, params={"students": str(students), "schools": str(schools)}).pl()


CHECKS_SQL = """
SELECT count(*) - count(DISTINCT trim(p.student_id)) AS repeated_ids,
       count(*) FILTER (p.grade NOT IN ('TK', 'K', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12')) AS unknown_grades,
       count(*) FILTER (s.school_id IS NULL) AS unknown_schools
FROM read_parquet($students) p
LEFT JOIN read_csv($schools, all_varchar = true) s USING (school_id)
"""


def duckdb_checked(formula: Path, students: Path, schools: Path) -> pl.DataFrame:
    """DuckDB making the checks wsf makes before it allocates: student ids unique once trimmed,
    every grade known, every pupil's school in the school table; then the formula's query."""
    import duckdb as db

    params = {"students": str(students), "schools": str(schools)}
    with db.connect() as con:
        repeated, grades, unknown = con.sql(CHECKS_SQL, params=params).fetchall()[0]
        if repeated or grades or unknown:
            raise ValueError(f"roster: {repeated} repeated ids, {grades} unknown grades, {unknown} pupils of unknown schools")
        return con.sql(DUCKDB_SQL, params=params).pl()


# -- pandas ------------------------------------------------------------------------------


def pandas(formula: Path, students: Path, schools: Path) -> pl.DataFrame:
    import numpy as np
    import pandas as pd

    pupils = pd.read_parquet(students, columns=["school_id", "grade", *FLAGS], engine="pyarrow")
    pupils["unduplicated"] = pupils["frl"] | pupils["el"] | pupils["foster"]
    by_grade = pupils.groupby(["school_id", "grade"]).size().unstack(fill_value=0)
    counts = pupils.groupby("school_id")[["frl", "el", "sped_moderate", "sped_intensive", "unduplicated"]].sum()
    frame = pd.read_csv(schools, dtype=str)[["school_id"]].set_index("school_id")
    frame = frame.join(counts).join(by_grade).fillna(0)
    for grade in RATE:
        if grade not in frame:
            frame[grade] = 0
    enrollment = frame[list(RATE)].sum(axis=1)
    base = sum(frame[g] * rate for g, rate in RATE.items())
    average = (base / enrollment.where(enrollment > 0)).fillna(0.0)
    parts = [
        base,
        frame["frl"] * POVERTY * average,
        frame["el"] * ENGLISH_LEARNER * average,
        frame["sped_moderate"] * SPED_MODERATE,
        frame["sped_intensive"] * SPED_INTENSIVE,
        (frame["unduplicated"] - ABOVE_SHARE * enrollment).clip(lower=0) * CONCENTRATION * average,
        LEADERSHIP,
    ]
    cents = sum(part * 100 for part in parts)
    total = np.floor(np.round(cents.to_numpy(dtype=float), 6) + 0.5).astype(np.int64)
    result = pl.DataFrame({"school_id": frame.index.to_numpy().astype(str), "total_cents": total})
    return result.sort("school_id")


# -- Polars, by hand ---------------------------------------------------------------------


def polars(formula: Path, students: Path, schools: Path) -> pl.DataFrame:
    grade, flag = pl.col("grade"), pl.col
    counts = (
        pl.scan_parquet(students)
        .group_by("school_id")
        .agg(
            pl.len().alias("enrollment"),
            *[grade.is_in(grades).sum().alias(span) for span, grades in SPANS.items()],
            *[flag(f).sum() for f in ["frl", "el", "sped_moderate", "sped_intensive"]],
            (flag("frl") | flag("el") | flag("foster")).sum().alias("unduplicated"),
        )
    )
    rate = {span: RATE[grades[0]] for span, grades in SPANS.items()}
    enrollment = pl.col("enrollment").cast(pl.Float64)
    base = pl.sum_horizontal([pl.col(span) * r for span, r in rate.items()])
    average = pl.when(enrollment > 0).then(pl.col("base") / enrollment).otherwise(0.0)
    parts = [
        pl.col("base"),
        pl.col("frl") * POVERTY * average,
        pl.col("el") * ENGLISH_LEARNER * average,
        pl.col("sped_moderate") * SPED_MODERATE,
        pl.col("sped_intensive") * SPED_INTENSIVE,
        pl.max_horizontal(pl.col("unduplicated") - ABOVE_SHARE * enrollment, 0.0) * CONCENTRATION * average,
        pl.lit(LEADERSHIP),
    ]
    cents = pl.sum_horizontal([part * 100 for part in parts]).round(6)
    return (
        pl.scan_csv(schools, schema_overrides={"school_id": pl.String})
        .select("school_id")
        .join(counts, on="school_id", how="left")
        .with_columns(pl.exclude("school_id").fill_null(0))
        .with_columns(base.alias("base"))
        .select("school_id", (cents + 0.5).floor().cast(pl.Int64).alias("total_cents"))
        .sort("school_id")
        .collect(engine="streaming")
    )


# -- wsf ---------------------------------------------------------------------------------


def wsf(formula: Path, students: Path, schools: Path) -> pl.DataFrame:
    from wsf.api import allocate_files

    allocation = allocate_files(formula, students=students, schools=schools)
    return allocation.cents.select("school_id", pl.col("total").alias("total_cents"))


CONTENDERS: dict[str, Callable[[Path, Path, Path], pl.DataFrame]] = {
    "wsf": wsf,
    "floor": floor,
    "duckdb": duckdb,
    "duckdb_checked": duckdb_checked,
    "pandas": pandas,
    "polars": polars,
}


if __name__ == "__main__":
    name, *paths = sys.argv[1:]
    result = CONTENDERS[name](*(Path(p) for p in paths))
    print(name, result.height)

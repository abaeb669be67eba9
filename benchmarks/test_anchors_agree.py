"""The anchors are honest: on the small roster they compute wsf's per-school totals to the cent.

A plain test (no timing), run with the benchmarks: an anchor that computed something else
could not be compared with wsf for speed. Also checks that the generated roster has the shape
the benchmarks claim for it.
"""

from __future__ import annotations

import polars as pl
import pytest
from anchors import CONTENDERS, FLAGS, wsf

from wsf.formula.grades import GRADES
from wsf.formula.model import load_formula


@pytest.fixture(scope="module")
def wsf_totals(small_roster) -> pl.DataFrame:
    return wsf(small_roster.formula, small_roster.students, small_roster.schools)


@pytest.mark.parametrize("anchor", [name for name in CONTENDERS if name not in ("wsf", "floor")])
def test_anchor_agrees_with_wsf_to_the_cent(small_roster, wsf_totals: pl.DataFrame, anchor: str) -> None:
    totals = CONTENDERS[anchor](small_roster.formula, small_roster.students, small_roster.schools)
    assert totals.schema == pl.Schema({"school_id": pl.String, "total_cents": pl.Int64})
    assert totals.height == wsf_totals.height == small_roster.schools_n
    mismatch = totals.join(wsf_totals, on="school_id", how="full", suffix="_wsf").filter(
        pl.col("total_cents").ne_missing(pl.col("total_cents_wsf"))
    )
    assert mismatch.height == 0, f"{anchor} disagrees with wsf:\n{mismatch}"


def test_the_benchmark_formula_is_simple(small_roster) -> None:
    """As the issue's anchors were measured: no pot, no transition; a derived count."""
    model = load_formula(small_roster.formula).model
    assert model.pot is None and model.transition is None
    assert model.counts["unduplicated"].any_of == ["frl", "el", "foster"]
    assert sorted(model.flag_columns) == sorted(FLAGS)


def test_the_roster_is_shaped_like_a_state(small_roster) -> None:
    students = pl.read_parquet(small_roster.students)
    schools = pl.read_csv(small_roster.schools, schema_overrides={"school_id": pl.String})
    assert students.height == small_roster.pupils
    assert dict(students.schema) == {
        "student_id": pl.String, "school_id": pl.String, "grade": pl.String, **dict.fromkeys(FLAGS, pl.Boolean),
    }  # fmt: skip
    assert students["student_id"].n_unique() == small_roster.pupils
    assert set(students["grade"].unique()) <= set(GRADES)
    assert schools.columns == ["school_id", "name", "level"]
    assert set(students["school_id"].unique()) == set(schools["school_id"])
    sizes = students.group_by("school_id").len().join(schools, on="school_id").group_by("level").agg(pl.col("len").median())
    median = dict(sizes.iter_rows())
    assert 300 < median["elementary"] < 600 and 1000 < median["high"] < 2200 and median["alternative"] < 150
    shares = students.select(pl.col(FLAGS).mean()).row(0, named=True)
    assert 0.45 < shares["frl"] < 0.65 and 0.1 < shares["el"] < 0.3 and shares["foster"] < 0.02
    by_poverty = students.group_by("frl").agg(pl.col("el").mean()).sort("frl")["el"]
    assert by_poverty[1] > 2 * by_poverty[0]  # English learners are more common among poor pupils

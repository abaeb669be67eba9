"""Rosters in Parquet, as a state would hand them over: the streaming path gives the same
allocation as the CSV roster, and a fault still gets named by row."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA

from wsf.api import allocate_files
from wsf.data.roster import ID_PARTS
from wsf.errors import WsfError

FLAGS = ["frl", "el", "foster", "sped_moderate", "sped_intensive"]


@pytest.fixture(scope="module")
def roster() -> pl.DataFrame:
    return pl.read_csv(EXAMPLE / "students.csv", schema_overrides={"grade": pl.String})


@pytest.fixture(scope="module")
def from_csv():
    return allocate_files(EXAMPLE_FORMULA, students=EXAMPLE / "students.csv", schools=EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv").cents


@pytest.mark.parametrize("flags", ["boolean", "integer", "text"])
def test_parquet_roster_equals_csv_roster(roster, from_csv, tmp_path: Path, flags: str) -> None:
    cast = {"boolean": pl.Boolean, "integer": pl.Int8, "text": pl.String}[flags]
    path = tmp_path / "students.parquet"
    roster.with_columns(pl.col(FLAGS).cast(cast)).write_parquet(path)
    result = allocate_files(EXAMPLE_FORMULA, students=path, schools=EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv").cents
    assert result.equals(from_csv)


def test_parquet_roster_fault_is_named_by_row(roster, tmp_path: Path) -> None:
    path = tmp_path / "students.parquet"
    broken = roster.with_columns(
        pl.when(pl.int_range(pl.len()) == 9).then(pl.lit("13")).otherwise(pl.col("grade")).alias("grade"),
        pl.when(pl.int_range(pl.len()) == 20).then(pl.col("student_id").first()).otherwise(pl.col("student_id")).alias("student_id"),
    )
    broken.write_parquet(path)
    with pytest.raises(WsfError) as error:
        allocate_files(EXAMPLE_FORMULA, students=path, schools=EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    message = str(error.value)
    assert "students.parquet" in message
    assert "2 rows with a duplicate student_id, e.g. row 2" in message and "row 22" in message


def test_parquet_roster_unknown_grade_is_named_by_row(roster, tmp_path: Path) -> None:
    path = tmp_path / "students.parquet"
    roster.with_columns(pl.when(pl.int_range(pl.len()) == 9).then(pl.lit("13")).otherwise(pl.col("grade")).alias("grade")).write_parquet(path)
    with pytest.raises(WsfError, match=r"column grade: 1 row with an unknown grade, e\.g\. row 11 \(EX\d+: 13\)"):
        allocate_files(EXAMPLE_FORMULA, students=path, schools=EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")


def test_parquet_roster_with_padded_ids_is_read_like_the_text_file(roster, from_csv, tmp_path: Path) -> None:
    """Padded ids in Parquet raise the alarm; the full read trims them and finds nothing wrong."""
    path = tmp_path / "students.parquet"
    roster.with_columns(pl.concat_str(pl.lit(" "), pl.col("school_id"), pl.lit(" ")).alias("school_id")).write_parquet(path)
    result = allocate_files(EXAMPLE_FORMULA, students=path, schools=EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv").cents
    assert result.equals(from_csv)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_padded_ids_mean_the_same_in_text_and_parquet(roster, tmp_path: Path, suffix: str) -> None:
    """' S0000001' and 'S0000001' are one pupil twice; ' EX101 ' is school EX101 (no school table)."""
    padded = roster.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(pl.concat_str(pl.lit(" "), pl.col("student_id").first())).otherwise(pl.col("student_id")).alias("student_id"),
    )
    path = tmp_path / f"students{suffix}"
    padded.write_csv(path) if suffix == ".csv" else padded.write_parquet(path)
    with pytest.raises(WsfError, match="2 rows with a duplicate student_id"):
        allocate_files(EXAMPLE_FORMULA, students=path, prior=EXAMPLE / "prior.csv")
    spaced = roster.with_columns(pl.when(pl.col("school_id") == "EX101").then(pl.lit(" EX101 ")).otherwise(pl.col("school_id")).alias("school_id"))
    spaced.write_csv(path) if suffix == ".csv" else spaced.write_parquet(path)
    result = allocate_files(EXAMPLE_FORMULA, students=path, prior=EXAMPLE / "prior.csv").cents
    assert result.height == 48 and "EX101" in result["school_id"].to_list()


@pytest.mark.parametrize("part", range(ID_PARTS))
def test_a_repeated_id_is_found_in_every_part_of_the_id_check(roster, tmp_path: Path, part: int) -> None:
    """The id check counts its hashes part by part (by hash value): a pupil listed twice is found
    whichever part their id's hash falls in."""
    hashes = roster.select(pl.col("student_id").str.strip_chars().hash(seed=0) % ID_PARTS)["student_id"]
    first = hashes.to_list().index(part)  # the first pupil whose id falls in this part
    twice = roster.with_columns(
        pl.when(pl.int_range(pl.len()) == first + 1).then(pl.col("student_id").gather(first)).otherwise(pl.col("student_id")).alias("student_id")
    )
    path = tmp_path / "students.parquet"
    twice.write_parquet(path)
    with pytest.raises(WsfError, match=f"2 rows with a duplicate student_id, e.g. row {first + 2} "):
        allocate_files(EXAMPLE_FORMULA, students=path, schools=EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")

"""Real California schools end to end: Hayward (the demo district), Los Angeles at scale,
CDE's files read as published through mapping files, and six LAUSD schools of 2009-10."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import ROOT

from wsf.api import allocate_files
from wsf.data.tables import load_mapping, read_table

CA = ROOT / "fixtures" / "california"


@pytest.mark.parametrize("counting", ["unduplicated", "additive"])
def test_hayward_real_schools_spend_the_pot(counting: str) -> None:
    result = allocate_files(ROOT / f"formulas/hayward/{counting}-2018-19.toml", schools=CA / "hayward-2018-19-schools.csv")
    assert result.cents.height == 31
    assert result.cents["enrollment"].sum() == 19_846
    assert result.cents["total"].sum() == 101_119_142_00


def test_additive_and_unduplicated_counting_differ_on_the_same_schools() -> None:
    runs = {c: allocate_files(ROOT / f"formulas/hayward/{c}-2018-19.toml", schools=CA / "hayward-2018-19-schools.csv").cents
            for c in ("unduplicated", "additive")}
    joined = runs["unduplicated"].select("school_id", "total").join(runs["additive"].select("school_id", "total"), on="school_id", suffix="_additive")
    moved = (joined["total_additive"] - joined["total"]).abs().sum()
    assert moved > 0
    assert joined["total"].sum() == joined["total_additive"].sum()


def test_los_angeles_runs_end_to_end() -> None:
    result = allocate_files(ROOT / "formulas/lausd/unduplicated-2018-19.toml", schools=CA / "lausd-2018-19-schools.csv")
    assert result.cents.height == 733
    assert result.cents["enrollment"].sum() == 444_196
    assert result.cents["total"].sum() == 2_638_221_361_00


def test_cupc_file_read_as_published_matches_the_school_table() -> None:
    table = read_table(CA / "cupc_2018_19_hayward_lausd.csv", load_mapping(CA / "cupc-2018-19-mapping.toml")).frame
    assert table.height == 31
    sums = table.select(pl.col("enrollment", "frl", "el", "unduplicated").cast(pl.Int64).sum()).row(0)
    assert sums == (19_846, 14_197, 5_833, 15_461)
    school_table = pl.read_csv(CA / "hayward-2018-19-schools.csv", schema_overrides={"school_id": pl.String})
    assert sorted(table["school_id"]) == sorted(school_table["school_id"])


def test_frpm_workbook_read_as_published_title_row_and_all() -> None:
    table = read_table(CA / "frpm2324.xlsx", load_mapping(CA / "frpm-2023-24-hayward-mapping.toml")).frame
    assert table.height == 28
    assert table.select(pl.col("enrollment", "frl").cast(pl.Float64).sum()).row(0) == (17_522, 13_826)
    assert table["_row"].min() >= 3  # the title row and the header row come first


def test_frpm_workbook_allocates(run, tmp_path) -> None:
    formula = tmp_path / "frpm.toml"
    formula.write_text('[formula]\nid = "frpm"\nsource = "test"\n[base]\nall = 5000\n'
                       '[weights.poverty]\nlabel = "FRPM"\ncount = "frl"\nweight = 0.2\n')
    result = run("allocate", formula, "--schools", CA / "frpm2324.xlsx", "--mapping", CA / "frpm-2023-24-hayward-mapping.toml",
                 "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert "schools    28" in result.output


def test_six_lausd_schools_same_dollars_by_need() -> None:
    result = allocate_files(ROOT / "formulas/lausd/bsa-2009-10-illustration.toml", schools=ROOT / "fixtures/lausd-2009-10/wsf-schools.csv")
    current = pl.read_csv(ROOT / "fixtures/lausd-2009-10/current.csv")
    assert result.cents["total"].sum() == round(current["current"].sum() * 100)
    per_pupil = dict(result.cents.select("school_id", "per_pupil").iter_rows())
    # Western Avenue (98.3% FRL) spent $3,611 per pupil against Figueroa Street's (97.1%) $5,132;
    # by need, the poorer school now gets slightly more per pupil, not 30% less.
    assert per_pupil["LA1"] > per_pupil["LA2"]

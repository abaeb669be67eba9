"""`--set KEY=VALUE` (issue 21): a formula with a rate changed in one line, validated as the file would be."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA

EL = "weights.english_learner.weight"


def test_allocate_with_set_equals_the_file_with_that_value(run, example_args, tmp_path: Path) -> None:
    changed = tmp_path / "changed.toml"
    changed.write_text(EXAMPLE_FORMULA.read_text().replace("weight = 0.40\nof = \"4-5\"", "weight = 0.25\nof = \"4-5\""))
    assert changed.read_text() != EXAMPLE_FORMULA.read_text()
    by_set, by_file = tmp_path / "set.csv", tmp_path / "file.csv"
    result = run("allocate", *example_args, "--set", f"{EL}=0.25", "-o", by_set)
    assert result.exit_code == 0, result.output
    assert f"set        {EL} = 0.25 (the file: 0.4)" in result.output
    assert run("allocate", changed, *example_args[1:], "-o", by_file).exit_code == 0
    assert by_set.read_bytes() == by_file.read_bytes()
    meta = json.loads(by_set.with_name("set.csv.meta.json").read_text())
    assert meta["overrides"] == {EL: 0.25}
    assert "overrides" not in json.loads(by_file.with_name("file.csv.meta.json").read_text())


@pytest.mark.parametrize(("value", "words"), [
    ("25", ["--set", f"{EL}=25 makes the formula invalid", "a weight of 25", "did you mean 0.25?"]),
    ("20%", ["--set", "'20%' is not a number", "20% is 0.20"]),
    ("$1,000", ["--set", "without $ or commas"]),
])
def test_a_bad_value_is_refused_as_the_file_would_refuse_it(run, example_args, value, words) -> None:
    result = run("allocate", *example_args, "--set", f"{EL}={value}", "-o", "never.csv")
    assert result.exit_code == 2
    for word in words:
        assert word in result.output, result.output
    assert not Path("never.csv").exists()


def test_an_unknown_key_path_names_it_and_the_nearest(run, example_args) -> None:
    result = run("explain", *example_args, "--school", "EX104", "--set", "weights.english_lerner.weight=0.25")
    assert result.exit_code == 2
    assert "the formula sets no rate 'weights.english_lerner.weight'" in result.output
    assert f"did you mean {EL}" in result.output
    assert "is not KEY=VALUE" in run("explain", *example_args, "--school", "EX104", "--set", EL).output


def test_explain_prints_the_override(run, example_args) -> None:
    result = run("explain", *example_args, "--school", "EX104", "--set", f"{EL}=0.25")
    assert result.exit_code == 0, result.output
    assert f"{EL} = 0.25 (the file: 0.4)" in result.output


def test_compare_a_formula_with_itself_changed(run, example_args, tmp_path: Path) -> None:
    out = tmp_path / "compare.csv"
    result = run("compare", *example_args, "--set", f"{EL}=0.25", "-o", out)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("A  example-district.toml: $244,500,000.00")
    assert lines[1].startswith(f"B  example-district.toml with {EL}=0.25: $244,500,000.00")
    assert "example-district-fy2026" not in result.output
    table = pl.read_csv(out)
    gain, lose = (table["change"] > 0).sum(), (table["change"] < 0).sum()
    big_gain, big_lose = (table["change_percent"] > 0.05).sum(), (table["change_percent"] < -0.05).sum()
    assert gain and lose  # the sentence counts every school that moves, not only those beyond the threshold
    assert lines[2] == (f"{gain + lose} schools of {table.height} change under B: {gain} gain ({big_gain} by more than 5%), "
                        f"{lose} lose ({big_lose} by more than 5%)")
    meta = json.loads(out.with_name("compare.csv.meta.json").read_text())
    assert "overrides" not in meta["a"] and meta["b"]["overrides"] == {EL: 0.25}


def test_compare_needs_two_formulas_or_a_set(run, example_args) -> None:
    result = run("compare", *example_args)
    assert result.exit_code == 2 and "or one formula and --set" in result.output


def test_compare_identical_formulas_says_no_school_changes(run, example_args) -> None:
    result = run("compare", EXAMPLE_FORMULA, *example_args)
    assert result.exit_code == 0, result.output
    assert "no school changes" in result.output
    assert "$0.00 (" not in result.output and "largest" not in result.output


@pytest.mark.parametrize("command", ["packets", "workbook", "equity"])
def test_outputs_record_the_override(run, example_args, tmp_path: Path, command) -> None:
    current = ["--current", EXAMPLE / "current.csv"]
    if command == "workbook":
        out = tmp_path / "book.xlsx"
        result = run("workbook", *example_args, *current, "--set", f"{EL}=0.25", "-o", out)
        meta = out.with_name("book.xlsx.meta.json")
    elif command == "packets":
        out = tmp_path / "packets"
        result = run("packets", *example_args, "--format", "html", "--lang", "en", "--school", "EX104", "--set", f"{EL}=0.25", "-o", out)
        meta = out / "packets.json"
    else:
        out = tmp_path / "equity"
        result = run("equity", *example_args, *current, "--set", f"{EL}=0.25", "-o", out)
        meta = out / "meta.json"
    assert result.exit_code == 0, result.output
    assert f"{EL} = 0.25 (the file: 0.4)" in result.output
    assert json.loads(meta.read_text())["overrides"] == {EL: 0.25}, meta.read_text()[:500]


def test_sweep_with_set_point_equals_allocate_with_set_to_the_cent(run, example_args, tmp_path: Path) -> None:
    points = tmp_path / "sweep.csv"
    result = run("sweep", *example_args, "--set", "foundations.leadership.amount=250000", "--vary", f"{EL}=0.2:0.4:3", "-o", points)
    assert result.exit_code == 0, result.output
    table = pl.read_csv(points, infer_schema=False)
    for row in table.iter_rows(named=True):
        out = tmp_path / "a.csv"
        assert run("allocate", *example_args, "--set", "foundations.leadership.amount=250000", "--set", f"{EL}={row[EL]}", "-o", out).exit_code == 0
        meta = json.loads(out.with_name("a.csv.meta.json").read_text())
        assert meta["total"] == f"{float(row['total']):.2f}" and meta["scale"] == float(row["scale"])
    assert json.loads(points.with_name("sweep.csv.meta.json").read_text())["overrides"] == {"foundations.leadership.amount": 250000}
    both = run("sweep", *example_args, "--set", f"{EL}=0.3", "--vary", f"{EL}=0.2:0.4:3")
    assert both.exit_code == 2 and "both --set and --vary" in both.output


def test_sweep_per_school_and_one_school(run, example_args, tmp_path: Path) -> None:
    out = tmp_path / "schools.csv"
    result = run("sweep", *example_args, "--vary", f"{EL}=0.1:0.5:5", "--per-school", "-o", out)
    assert result.exit_code == 0, result.output
    assert f"... 180 rows not shown: all 240 are in {out}" in result.output
    table = pl.read_csv(out, infer_schema=False)
    assert table.columns == [EL, "school_id", "name", "enrollment", "amount", "change", "change_percent", "per_pupil"]
    assert table.height == 5 * 48
    single = tmp_path / "single.csv"
    assert run("allocate", *example_args, "--set", f"{EL}=0.2", "-o", single).exit_code == 0
    allocated = pl.read_csv(single, infer_schema=False).select("school_id", "total", "per_pupil")
    at = table.filter(pl.col(EL) == "0.2").select("school_id", pl.col("amount").alias("total"), "per_pupil")
    assert at.equals(allocated)
    one = run("sweep", *example_args, "--vary", f"{EL}=0.1:0.5:5", "--school", "EX104")
    assert one.exit_code == 0, one.output
    rows = [line for line in one.output.splitlines() if "EX104" in line]
    assert len(rows) == 5 and "$0.00" in rows[3] and "not shown" not in one.output
    assert "$4,283,007.72" in rows[3]  # the formula as written: its EL weight is 0.40
    wrong = run("sweep", *example_args, "--vary", f"{EL}=0.1:0.5:5", "--school", "EX14")
    assert wrong.exit_code == 2 and "--school: no school 'EX14'" in wrong.output and "did you mean EX148" in wrong.output


def test_sweep_prints_every_point_formatted_or_says_how_many_it_leaves_out(run, example_args) -> None:
    few = run("sweep", *example_args, "--vary", f"{EL}=0.1:0.5:41")
    assert few.exit_code == 0 and "not shown" not in few.output
    assert "$244,500,000.00" in few.output and "8.28%" in few.output
    assert len([line for line in few.output.splitlines() if "$244,500,000.00" in line]) == 41
    many = run("sweep", *example_args, "--vary", f"{EL}=0.1:0.5:101")
    assert "... 41 points not shown: write them all with -o FILE" in many.output


def test_sweep_counts_losers_before_the_floor(run, example_args, tmp_path: Path) -> None:
    out = tmp_path / "points.csv"
    result = run("sweep", *example_args, "--vary", f"{EL}=0.1:0.5:5", "--threshold", "0.1", "-o", out)
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert table["schools_losing_over_10%"].to_list() == [0] * 5  # the 5% floor: nobody, after it
    assert table["schools_losing_over_10%_before_floor"].min() > 0
    assert (table["floor_pays_them"] <= table["hold_harmless"]).all() and (table["floor_pays_them"] > 0).all()


def test_glide_faster_than_the_floor_is_refused_or_listed(run, example_args, tmp_path: Path) -> None:
    refused = run("glide", *example_args, "--years", "2", "-o", tmp_path / "g.csv")
    assert refused.exit_code == 2
    assert "--years: reaching 100% of formula in year 2 cuts 8 schools by more than the 5% loss floor" in refused.output
    assert "give --years 4" in refused.output and "--allow-faster" in refused.output
    assert not (tmp_path / "g.csv").exists()
    allowed = run("glide", *example_args, "--years", "2", "--allow-faster")
    assert allowed.exit_code == 0, allowed.output
    listed = [line for line in allowed.output.splitlines() if line.startswith("  year 2 ")]
    assert len(listed) == 8 and "EX141" in allowed.output and "(-11.4%)" in allowed.output
    at_floor = run("glide", *example_args, "--years", "4")
    assert at_floor.exit_code == 0 and "past the" not in at_floor.output


def test_glide_with_enrollment_growth(run, example_args, tmp_path: Path) -> None:
    out = tmp_path / "glide.csv"
    result = run("glide", *example_args, "--years", "8", "--enrollment-growth", "0.02", "-o", out)
    assert result.exit_code == 0, result.output
    assert "pupils +2.0% a year" in result.output and "(29,482.1 pupils)" in result.output
    table = pl.read_csv(out)
    assert {"enrollment_2", "formula_2", "year_2"} <= set(table.columns)
    assert json.loads(out.with_name("glide.csv.meta.json").read_text())["enrollment_growth"] == {"share": 0.02}
    none_left = run("glide", *example_args, "--enrollment-growth", "-1")
    assert none_left.exit_code == 2 and "--enrollment-growth" in none_left.output


def test_glide_with_each_schools_growth_from_a_file(run, example_args, tmp_path: Path) -> None:
    """A projection per school and year: a school growing 10% into year 2 has 1.1 times its pupils
    there; a school with no growth keeps its own; the same share for all equals the one-number option."""
    ids = pl.read_csv(EXAMPLE / "schools.csv", columns=["school_id"])["school_id"].to_list()
    per_year = tmp_path / "growth.csv"
    pl.DataFrame({"school_id": ids, "growth_2": ["10%"] + ["0"] * (len(ids) - 1), "growth_3": ["-0.05"] * len(ids)}).write_csv(per_year)
    out = tmp_path / "glide.csv"
    result = run("glide", *example_args, "--years", "8", "--allow-faster", "--enrollment-growth", per_year, "-o", out)
    assert result.exit_code == 0, result.output
    assert "pupils by school as growth.csv projects" in result.output
    import hashlib

    recorded = json.loads(out.with_name("glide.csv.meta.json").read_text())["enrollment_growth"]
    assert recorded == {"file": "growth.csv", "sha256": hashlib.sha256(per_year.read_bytes()).hexdigest()}
    table = pl.read_csv(out).sort("school_id")
    first, other = table.row(0, named=True), table.row(1, named=True)
    assert first["enrollment_2"] == pytest.approx(first["enrollment"] * 1.1) and other["enrollment_2"] == other["enrollment"]
    if "enrollment_3" in table.columns:
        assert first["enrollment_3"] == pytest.approx(first["enrollment"] * 1.1 * 0.95)
    every = tmp_path / "every.csv"
    pl.DataFrame({"school_id": ids, "growth": ["0.02"] * len(ids)}).write_csv(every)
    by_file, by_share = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run("glide", *example_args, "--years", "8", "--enrollment-growth", every, "-o", by_file).exit_code == 0
    assert run("glide", *example_args, "--years", "8", "--enrollment-growth", "0.02", "-o", by_share).exit_code == 0
    assert pl.read_csv(by_file).equals(pl.read_csv(by_share))


@pytest.mark.parametrize("rows, words", [
    ({"growth": "2"}, "with a growth of 50% or more a year"),
    ({"growth": "lots"}, "that is not a number"),
    ({"drop": True}, "of the school data has no row (EX101)"),
    ({"extra": True}, "not in the school data (EX999)"),
])
def test_a_bad_growth_file_is_refused_naming_the_row(run, example_args, tmp_path: Path, rows, words) -> None:
    ids = pl.read_csv(EXAMPLE / "schools.csv", columns=["school_id"])["school_id"].to_list()
    values = ["0.01"] * len(ids)
    if "growth" in rows:
        values[0] = rows["growth"]
    frame = pl.DataFrame({"school_id": ids, "growth": values})
    if rows.get("drop"):
        frame = frame.slice(1)
    if rows.get("extra"):
        frame = pl.concat([frame, pl.DataFrame({"school_id": ["EX999"], "growth": ["0"]})])
    path = tmp_path / "growth.csv"
    frame.write_csv(path)
    result = run("glide", *example_args, "--enrollment-growth", path)
    assert result.exit_code == 2 and "growth.csv" in result.output and words in result.output, result.output


def test_an_enrollment_growth_typed_as_a_percentage_is_refused(run, example_args) -> None:
    result = run("glide", *example_args, "--enrollment-growth", "2")
    assert result.exit_code == 2 and "did you mean 0.02?" in result.output
    assert run("glide", *example_args, "--years", "8", "--enrollment-growth", "2%").exit_code == 0


def test_sweep_compare_and_glide_workbooks_name_their_sheet(run, example_args, tmp_path: Path) -> None:
    """A sweep's, a comparison's and a glide's XLSX are not all called "Allocations"."""
    import openpyxl

    cases = {
        "Sweep": ("sweep", *example_args, "--vary", f"{EL}=0.2:0.4:3"),
        "Sweep by school": ("sweep", *example_args, "--vary", f"{EL}=0.2:0.4:3", "--per-school"),
        "Compare": ("compare", *example_args, "--set", f"{EL}=0.25"),
        "Glide": ("glide", *example_args, "--years", "8"),
    }
    for sheet, args in cases.items():
        target = tmp_path / f"{sheet.replace(' ', '_')}.xlsx"
        result = run(*args, "-o", target)
        assert result.exit_code == 0, result.output
        book = openpyxl.load_workbook(target)
        assert book.sheetnames == [sheet]
        header = [c.value for c in book[sheet][1]]
        for column, fmt in {"change_percent": "0.00%", "total": "#,##0.00", "change": "#,##0.00", "amount": "#,##0.00"}.items():
            if column in header:  # dollars as money, shares as percentages
                assert fmt in book[sheet].cell(2, header.index(column) + 1).number_format, (sheet, column)

"""The `wsf` command as a user runs it, on the bundled example district."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT, write_csv

from wsf.api import allocate_files
from wsf.engine.explain import explain
from wsf.render.text import render_text
from wsf.write import files as outputs


def test_allocate_prints_a_summary_and_writes_the_spec_table(run, example_args, tmp_path: Path) -> None:
    out = tmp_path / "allocations.csv"
    result = run("allocate", *example_args, "-o", out)
    assert result.exit_code == 0, result.output
    for word in ("schools    48", "pupils     28,904", "total      $244,500,000.00", "scale", "gain cap", "per pupil  min"):
        assert word in result.output
    table = pl.read_csv(out, infer_schema=False)
    assert table.columns == [
        "school_id", "name", "enrollment", "base", "poverty", "english_learner", "sped_moderate", "sped_intensive",
        "concentration", "leadership", "small_school", "high_school_counseling", "transition", "total", "per_pupil",
    ]
    assert table.height == 48
    assert sum(Decimal(v) for v in table["total"]) == Decimal("244500000.00")
    meta = json.loads(out.with_name("allocations.csv.meta.json").read_text())
    assert meta["formula"]["id"] == "example-district-fy2026"
    assert re.fullmatch(r"[0-9a-f]{64}", meta["formula"]["sha256"])
    assert [i["file"] for i in meta["inputs"]] == ["schools.csv", "prior.csv"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_allocate_twice_gives_identical_bytes(run, example_args, tmp_path: Path, suffix: str) -> None:
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    assert run("allocate", *example_args, "-o", first).exit_code == 0
    assert run("allocate", *example_args, "-o", second).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_roster_run_equals_school_table_run(run, tmp_path: Path) -> None:
    by_school = tmp_path / "school.csv"
    by_pupil = tmp_path / "pupil.csv"
    prior = ["--prior", EXAMPLE / "prior.csv"]
    assert run("allocate", EXAMPLE_FORMULA, "--schools", EXAMPLE / "schools.csv", *prior, "-o", by_school).exit_code == 0
    roster = ["--students", EXAMPLE / "students.csv", "--schools", EXAMPLE / "schools.csv"]
    assert run("allocate", EXAMPLE_FORMULA, *roster, *prior, "-o", by_pupil).exit_code == 0
    assert by_school.read_bytes() == by_pupil.read_bytes()


def test_workbook_reads_back_as_the_allocation_table(run, example_args, tmp_path: Path) -> None:
    book = tmp_path / "allocations.xlsx"
    assert run("allocate", *example_args, "-o", book).exit_code == 0
    sheet = openpyxl.load_workbook(book).active
    rows = list(sheet.iter_rows(values_only=True))
    expected = allocate_files(EXAMPLE_FORMULA, schools=EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv").table
    assert list(rows[0]) == expected.columns
    for got, want in zip(rows[1:], expected.iter_rows(), strict=True):
        assert got[0] == want[0]
        assert [Decimal(str(g)).quantize(Decimal("0.01")) if g is not None else None for g in got[3:]] == list(want[3:])
    assert sheet.freeze_panes == "A2"


def test_explain_lines_sum_to_every_school_total() -> None:
    result = allocate_files(EXAMPLE_FORMULA, schools=EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    for school_id, total in result.cents.select("school_id", "total").iter_rows():
        lines = explain(result, school_id).lines
        assert sum(line.amount for line in lines) == total
        assert [line.key for line in lines] == result.component_keys


def test_explain_prints_count_rate_amount_and_sources(run, example_args) -> None:
    result = run("explain", *example_args, "--school", "EX104")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "EX104  Sojourner Truth Elementary" in text
    assert "english_learner        English learners" in text
    assert "126 × $2,129.1065 = $268,267.42" in text
    assert "source: Example Unified Board Resolution 2025-14, section 3; NYC FSF's ELL weight 0.40" in text
    assert "total                  $4,283,007.72" in text


def test_explain_unknown_school_is_a_clear_error(run, example_args) -> None:
    result = run("explain", *example_args, "--school", "NOPE")
    assert result.exit_code == 2
    assert "no school with school_id 'NOPE'" in result.stderr


def test_validate_formula_alone_and_with_data(run) -> None:
    assert "is a valid formula" in run("validate", EXAMPLE_FORMULA).output
    result = run("validate", EXAMPLE_FORMULA, "--students", EXAMPLE / "students.csv", "--prior", EXAMPLE / "prior.csv")
    assert result.exit_code == 0, result.output
    assert "allocates $244,500,000.00 to 48 schools (28,904 pupils); nothing was written" in result.output
    assert "loss floor 13 schools held to a loss of 5.0%" in result.output


def test_validate_reports_a_count_the_data_lacks(run, tmp_path: Path) -> None:
    schools = write_csv(tmp_path / "schools.csv", [{"school_id": "A", "name": "A", "grade_1": 10, "frl": 3}])
    result = run("validate", EXAMPLE_FORMULA, "--schools", schools)
    assert result.exit_code == 2
    assert "the formula counts 'el' (weights.english_learner) but the file has no such column" in result.stderr


def test_a_failed_write_leaves_no_file(monkeypatch, tmp_path: Path) -> None:
    def explode(frame, path):
        path.write_text("half a tab")
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "_write_csv", explode)
    target = tmp_path / "allocations.csv"
    with pytest.raises(KeyboardInterrupt):
        outputs.write_table(pl.DataFrame({"a": [1]}), target)
    assert list(tmp_path.iterdir()) == []


def test_formula_injection_is_inert_in_csv_and_xlsx(run, tmp_path: Path) -> None:
    names = ["=HYPERLINK(\"http://x\")", "+1+2", "-3", "@SUM(A1)", "Plain"]
    rows = [{"school_id": f"S{i}", "name": n, "enrollment": 10} for i, n in enumerate(names)]
    schools = write_csv(tmp_path / "schools.csv", rows)
    formula = tmp_path / "f.toml"
    formula.write_text('[formula]\nid = "f"\nsource = "t"\n[base]\nall = 100\n')
    assert run("allocate", formula, "--schools", schools, "-o", tmp_path / "a.csv").exit_code == 0
    written = pl.read_csv(tmp_path / "a.csv", infer_schema=False)["name"].to_list()
    assert written == ["'=HYPERLINK(\"http://x\")", "'+1+2", "'-3", "'@SUM(A1)", "Plain"]
    assert run("allocate", formula, "--schools", schools, "-o", tmp_path / "a.xlsx").exit_code == 0
    sheet = openpyxl.load_workbook(tmp_path / "a.xlsx").active
    cells = [sheet.cell(row=r, column=2) for r in range(2, 7)]
    assert [c.value for c in cells] == names
    assert all(c.data_type == "s" for c in cells)
    assert all(c.quotePrefix for c in cells[:4])


@pytest.mark.parametrize(
    ("name", "safe"),
    [("../../etc/passwd", "etc-passwd"), ("Escuela Dolores Huerta Académica", "Escuela-Dolores-Huerta-Académica"),
     ("a/b\\c", "a-b-c"), ("..", "school"), ("O'Connell Elementary", "O-Connell-Elementary")],
)
def test_file_names_from_school_names_stay_in_their_folder(name: str, safe: str) -> None:
    assert outputs.safe_filename(name) == safe


def test_every_command_is_in_the_readme() -> None:
    from wsf.cli import main

    readme = (ROOT / "README.md").read_text()
    for command in main.commands:
        assert f"wsf {command}" in readme, f"`wsf {command}` is not documented in the README"


RUNS = [
    ("formulas/example-district.toml", "fixtures/example-district/schools.csv", "fixtures/example-district/prior.csv", None),
    ("formulas/hayward/unduplicated-2018-19.toml", "fixtures/california/hayward-2018-19-schools.csv", None, None),
    ("formulas/hayward/additive-2018-19.toml", "fixtures/california/hayward-2018-19-schools.csv", None, None),
    ("formulas/lausd/bsa-2009-10-illustration.toml", "fixtures/lausd-2009-10/wsf-schools.csv", None, None),
    ("formulas/lcff/2018-19.toml", "fixtures/california/lcff_snapshot_2018_19_sd_charter.csv", None, "fixtures/california/lcff-snapshot-mapping.toml"),
    ("formulas/lcff/2024-25.toml", "fixtures/california/lcff_snapshot_2018_19_sd_charter.csv", None, "fixtures/california/lcff-snapshot-mapping.toml"),
    ("formulas/sfusd/wsf-2022-23.toml", "fixtures/sfusd/wsf-2022-23-schools.csv", None, None),
    ("formulas/sfusd/wsf-2022-23-transition.toml", "fixtures/sfusd/wsf-2022-23-schools.csv", "fixtures/sfusd/wsf-2021-22-prior.csv", None),
]


@pytest.mark.parametrize(("formula", "schools", "prior", "mapping"), RUNS, ids=[r[0] for r in RUNS])
def test_every_shipped_run_explains_every_school(formula, schools, prior, mapping) -> None:
    """Every school of every shipped formula and data set explains, and its lines sum to its total."""
    result = allocate_files(ROOT / formula, schools=ROOT / schools, prior=prior and ROOT / prior, mapping=mapping and ROOT / mapping)
    for school_id, total in result.cents.select("school_id", "total").head(60).iter_rows():
        explanation = explain(result, school_id)
        assert sum(line.amount for line in explanation.lines) == total
        assert render_text(explanation, result)


def test_houston_small_school_subsidy_explains_pupils_short_times_rate(run) -> None:
    import tomllib

    case = tomllib.loads((ROOT / "tests/cases/real_houston_2017_18.toml").read_text())["case"]
    import tempfile

    from conftest import every_grade, write_csv

    with tempfile.TemporaryDirectory() as tmp:
        schools = write_csv(Path(tmp) / "schools.csv", every_grade(case["schools"]))
        text = run("explain", ROOT / "formulas/real/houston-2017-18.toml", "--schools", schools, "--school", "MS").output
        capped = run("explain", ROOT / "formulas/real/houston-2017-18.toml", "--schools", schools, "--school", "ES").output
    assert "50 × $850.00 = $42,500.00" in text
    assert "$850.00 for each student below 750 (750 − 700); at most $228,480.00; at most 15% of the base, $373,590.00" in text
    assert "200 × $850.00 = $158,490.00" in capped  # the cap at 15% of base binds

"""Awkward but valid files, as finance offices export them: each is read to exactly the
clean file's allocation (and a Latin-1 file says how it was read)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from wsf.api import allocate_files

HERE = ROOT / "tests" / "bad_inputs" / "awkward"
FORMULA = ROOT / "tests" / "bad_inputs" / "formula.toml"
SAME_AS_CLEAN = {
    "bom.csv": "a UTF-8 byte-order mark (Excel's 'CSV UTF-8')",
    "crlf.csv": "Windows line endings",
    "trailing_blank_lines.csv": "blank lines after the data",
    "quoted_thousands.csv": 'thousands separators in quoted numbers ("1,234")',
    "semicolons.csv": "a semicolon-separated export (European Excel)",
    "tabs.tsv": "a tab-separated export",
    "latin1.csv": "Windows-1252/Latin-1 text (read with a warning)",
    "spaces_around_values.csv": "spaces around ids and numbers",
    "title_row.xlsx": "a workbook with a title row above the header, read through a mapping file",
    "unfunded_grade_no_pupils.csv": "a grade column the formula does not fund, with no pupils in it",
    "title_rows_header_named.xlsx": "a workbook with two title rows, its header row named in a mapping file",
}
MAPPINGS = {"title_row.xlsx": "title_row_mapping.toml", "title_rows_header_named.xlsx": "title_rows_mapping.toml"}


@pytest.fixture(scope="module")
def clean():
    return allocate_files(FORMULA, schools=HERE / "clean.csv").cents


@pytest.mark.filterwarnings("ignore::wsf.data.tables.DataWarning")
@pytest.mark.parametrize("name", sorted(SAME_AS_CLEAN))
def test_awkward_file_gives_the_clean_result(name: str, clean) -> None:
    mapping = HERE / MAPPINGS[name] if name in MAPPINGS else None
    result = allocate_files(FORMULA, schools=HERE / name, mapping=mapping).cents
    assert result.equals(clean), SAME_AS_CLEAN[name]


def test_every_awkward_file_is_listed() -> None:
    on_disk = {p.name for p in HERE.iterdir()} - {"clean.csv", *MAPPINGS.values(), "zero_pupil_school.csv", "leading_zeros.xlsx", "prior_currency.csv"}
    assert on_disk == set(SAME_AS_CLEAN)


def test_latin1_is_read_with_a_warning(run, tmp_path: Path) -> None:
    result = run("allocate", FORMULA, "--schools", HERE / "latin1.csv", "-o", tmp_path / "out.csv")
    assert result.exit_code == 0
    assert "warning: latin1.csv: not UTF-8; read as Windows-1252/Latin-1 text" in result.stderr
    assert "Peñasco Middle" in (tmp_path / "out.csv").read_text(encoding="utf-8")


def test_a_school_with_no_pupils_gets_its_foundations_only(clean) -> None:
    result = allocate_files(FORMULA, schools=HERE / "zero_pupil_school.csv").cents
    assert result.filter(result["school_id"] != "Z9").equals(clean)
    row = result.filter(result["school_id"] == "Z9").row(0, named=True)
    assert (row["total"], row["leadership"], row["base"], row["per_pupil"]) == (200_000_00, 200_000_00, 0, None)


def test_ids_with_leading_zeros_stay_text(clean) -> None:
    """A workbook whose ids are text with leading zeros (0101) keeps them: the same amounts, the ids as written."""
    result = allocate_files(FORMULA, schools=HERE / "leading_zeros.xlsx").cents
    assert result["school_id"].to_list() == ["0101", "0202", "0303"]
    assert result.drop("school_id").equals(clean.drop("school_id"))


def test_a_prior_written_as_currency_reads_as_the_plain_numbers(tmp_path: Path) -> None:
    """$3,200,000.00, as a spreadsheet formats money, is 3200000."""
    formula = tmp_path / "transition.toml"
    formula.write_text(FORMULA.read_text() + "\n[transition]\nmax_loss = 0.05\n")
    plain = tmp_path / "prior.csv"
    plain.write_text("school_id,prior\nA1,1800000\nB2,10500000.50\nC3,1500000\n")
    currency = allocate_files(formula, schools=HERE / "clean.csv", prior=HERE / "prior_currency.csv").cents
    assert currency.equals(allocate_files(formula, schools=HERE / "clean.csv", prior=plain).cents)


def test_a_key_path_of_any_shape_finds_its_line_or_none():
    """Found by the fuzz test: a key path like `a[0]x` (a name after an index) made the line
    finder loop for ever; it now falls back to the enclosing key."""
    from wsf.formula.model import line_of

    text = "[weights.poverty]\nweight = 0.2\n"
    assert line_of(text, "weights.poverty[0]x") == 1
    assert line_of(text, "weights.poverty.weight") == 2
    assert line_of(text, "nothing[q]") is None

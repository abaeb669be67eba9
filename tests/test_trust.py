"""The numbers people read are the engine's numbers: each case here once printed something else.

Every test names the wrong number it guards against; all of them failed before their fix.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, write_csv

from wsf.api import allocate_files
from wsf.data.spending import read_current
from wsf.equity.analysis import analyse
from wsf.equity.report import write_report
from wsf.render.packets.writer import write_packets


@pytest.fixture(scope="module")
def example_equity():
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    return analyse(allocation, read_current(EXAMPLE / "current.csv"))


def whole_dollars(value: float) -> str:
    return f"${Decimal(str(value)).quantize(Decimal(1), ROUND_HALF_UP):,}"


def test_board_packet_and_equity_summary_give_the_same_dollars_per_ten_points_of_poverty(example_equity, tmp_path: Path):
    """The board packet printed the slope x 10 ($13,331 / $39,098) where the summary said $133 / $391."""
    today, formula = (example_equity.per_poverty_step(s) for s in ("current", "formula"))
    assert today == pytest.approx(example_equity.stat("slope_poverty", "current") / 10)
    expected = [whole_dollars(today), whole_dollars(formula)]
    assert expected == ["$133", "$391"]

    write_packets(example_equity.allocation, tmp_path / "packets", spending=example_equity.spending, langs=["en"], kinds=["district"], formats=["html"])
    board = (tmp_path / "packets" / "en" / "district.district.html").read_text()
    row = re.search(r"10 points more poverty</td><td class=\"num\">([^<]+)</td><td class=\"num\">([^<]+)</td>", board)
    assert row and list(row.groups()) == expected

    write_report(example_equity, tmp_path / "equity")
    summary = (tmp_path / "equity" / "summary.html").read_text()
    assert f"spends {expected[0]} more per pupil today" in summary and f"it would get {expected[1]} more" in summary


@pytest.fixture
def loose_floor(tmp_path: Path) -> Path:
    """The example district with a 90% loss floor: no school falls below it, so no gain need be capped."""
    text = EXAMPLE_FORMULA.read_text().replace("max_loss = 0.05", "max_loss = 0.9")
    assert "max_loss = 0.9" in text
    path = tmp_path / "loose.toml"
    path.write_text(text)
    return path


def test_a_gain_cap_that_binds_no_school_is_reported_as_none(run, loose_floor: Path, tmp_path: Path):
    """It printed "gain cap +160.71%" (or the largest gain) although no school was capped."""
    args = [loose_floor, "--schools", EXAMPLE / "schools.csv", "--prior", EXAMPLE / "prior.csv"]
    out = tmp_path / "a.csv"
    result = run("allocate", *args, "-o", out)
    assert result.exit_code == 0, result.output
    assert "gain cap   no gain cap: the loss floor lifts no school" in result.output
    assert "%" not in result.output.split("gain cap", 1)[1].splitlines()[0]
    meta = json.loads(out.with_name("a.csv.meta.json").read_text())
    assert meta["gain_cap"] is None and meta["schools_capped"] == 0 and meta["schools_held_harmless"] == 0
    explained = run("explain", *args, "--school", "EX104").output
    assert "no gain cap: the loss floor lifts no school" in explained and "gain cap +" not in explained
    table = pl.read_csv(out)
    assert (table["transition"] == 0).all()

    allocation = allocate_files(loose_floor, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    write_packets(allocation, tmp_path / "p", langs=["en"], kinds=["district"], formats=["html"])
    assert "No gain is capped" in (tmp_path / "p" / "en" / "district.district.html").read_text()


def test_a_solved_gain_cap_is_the_gain_of_the_schools_it_holds_back():
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    amounts = allocation.amounts.join(allocation.inputs.select("school_id", "_prior"), on="school_id")
    gains = amounts.select(pl.col("_final_total") / pl.col("_prior") - 1)["_final_total"]
    formula_gains = amounts.select(pl.col("_formula_total") / pl.col("_prior") - 1)["_formula_total"]
    assert allocation.gain_cap == pytest.approx(gains.max(), rel=1e-12)
    assert allocation.gain_cap < formula_gains.max()  # it binds: some school would gain more at full formula
    assert allocation.summary()["schools_capped"] == int((formula_gains > allocation.gain_cap + 1e-9).sum()) > 0


def test_per_pupil_with_fractional_attendance_is_rounded_half_up_exactly(run, tmp_path: Path):
    """$5,000,027.76 over 300.16 ADA is exactly $16,657.875: it was written 16,657.87 (a float quotient)."""
    formula = tmp_path / "ada.toml"
    formula.write_text(
        '[formula]\nid = "ada"\nunit = "ada"\nsource = "test"\n\n[base]\nall = 16657.875\n'
    )
    schools = write_csv(tmp_path / "schools.csv", [{"school_id": "A", "name": "A", "enrollment": "300.16"}])
    out = tmp_path / "a.csv"
    result = run("allocate", formula, "--schools", schools, "-o", out)
    assert result.exit_code == 0, result.output
    row = pl.read_csv(out, schema_overrides={"total": pl.String, "per_pupil": pl.String}).row(0, named=True)
    assert row["total"] == "5000027.76"
    assert Decimal("5000027.76") / Decimal("300.16") == Decimal("16657.875")
    assert row["per_pupil"] == "16657.88"


def test_equity_reads_a_formula_that_mixes_count_and_share_weights(run, tmp_path: Path):
    """`wsf equity` crashed with a TypeError (sorting a None count) on such a formula."""
    formula = tmp_path / "mixed.toml"
    formula.write_text(
        '[formula]\nid = "mixed"\nsource = "test"\n\n[base]\nall = 5000\n\n'
        '[weights.poverty]\nlabel = "Poverty"\ncount = "frl"\nrole = "poverty"\nweight = 0.2\n\n'
        '[weights.concentration]\nlabel = "Concentration"\nshare = "upp"\nweight = 0.5\nabove_share = 0.55\n'
    )
    rows = [{"school_id": f"S{i}", "name": f"School {i}", "enrollment": 300 + 40 * i, "frl": 100 + 25 * i, "upp": f"{0.4 + 0.05 * i:.2f}"} for i in range(6)]
    schools = write_csv(tmp_path / "schools.csv", rows)
    current = write_csv(tmp_path / "current.csv", [{"school_id": r["school_id"], "current": 1_800_000 + 90_000 * i} for i, r in enumerate(rows)])
    result = run("equity", formula, "--schools", schools, "--current", current, "-o", tmp_path / "equity")
    assert result.exit_code == 0, result.output
    vertical = pl.read_csv(tmp_path / "equity" / "vertical.csv")
    assert vertical["need"].to_list() == ["frl"] and vertical["formula_weights"].to_list() == ["poverty"]


# -- crashes that are clear errors (or, where the input is fine, no error at all) ----------------

BAD_INPUTS = Path(__file__).parent / "bad_inputs"


def test_a_parquet_roster_with_float_flags_reads_them_as_true_and_false(run, tmp_path: Path):
    """1.0/0.0 flags (as many Parquet writers store them) crashed the roster reader."""
    pupils = pl.read_csv(BAD_INPUTS / "students.csv")
    flags = pupils.with_columns(pl.col("frl", "el").cast(pl.Float64))
    flags.write_parquet(tmp_path / "floats.parquet")
    pupils.write_parquet(tmp_path / "booleans.parquet")
    results = []
    for name in ("floats", "booleans"):
        out = tmp_path / f"{name}.csv"
        result = run("allocate", BAD_INPUTS / "formula.toml", "--students", tmp_path / f"{name}.parquet",
                     "--schools", BAD_INPUTS / "schools.csv", "-o", out)
        assert result.exit_code == 0, result.output
        results.append(out.read_text())
    assert results[0] == results[1]
    flags.with_columns(pl.lit(0.5).alias("frl")).write_parquet(tmp_path / "half.parquet")
    result = run("allocate", BAD_INPUTS / "formula.toml", "--students", tmp_path / "half.parquet", "-o", tmp_path / "half.csv")
    assert result.exit_code == 2 and "column frl" in result.stderr and "not true/false" in result.stderr


def test_current_spending_of_nan_is_refused_by_row(run, tmp_path: Path):
    """`current = nan` crashed casting NaN to cents."""
    current = write_csv(tmp_path / "current.csv", [{"school_id": "A1", "current": "nan"}, {"school_id": "B2", "current": "1"},
                                                    {"school_id": "C3", "current": "2"}])
    result = run("equity", BAD_INPUTS / "formula.toml", "--schools", BAD_INPUTS / "schools.csv", "--current", current, "-o", tmp_path / "eq")
    assert result.exit_code == 2 and "current.csv: column current: 1 row with an absurd value, e.g. row 2 (A1: nan)" in result.stderr
    assert not (tmp_path / "eq").exists()


@pytest.mark.parametrize("vary, expected", [
    ("weights.poverty.weight=1..2:3:2", "is not KEY=START:STOP:STEPS"),
    ("weights.poverty.weight=1e:3:2", "is not KEY=START:STOP:STEPS"),
    ("weights.poverty.weight=0.1:0.2:0", "STEPS must be between 1 and 100,000"),
])
def test_a_malformed_vary_is_a_clear_error(run, vary: str, expected: str, example_args):
    result = run("sweep", *example_args, "--vary", vary)
    assert result.exit_code == 2 and expected in result.stderr and "--vary: --vary" not in result.stderr


def test_the_same_key_varied_twice_is_refused(run, example_args):
    result = run("sweep", *example_args, "--vary", "weights.poverty.weight=0.1:0.2:2", "--vary", "weights.poverty.weight=0.3:0.4:2")
    assert result.exit_code == 2 and "weights.poverty.weight is varied twice" in result.stderr


def test_a_pot_only_sweep_to_xlsx_has_no_nan_gain_cap(run, tmp_path: Path):
    """A formula with a pot and no transition swept to .xlsx wrote a NaN gain cap (CSV: `NaN`)."""
    formula = tmp_path / "pot.toml"
    formula.write_text(EXAMPLE_FORMULA.read_text().replace("[transition]\nmax_loss = 0.05\n", ""))
    for suffix in ("xlsx", "csv"):
        out = tmp_path / f"sweep.{suffix}"
        result = run("sweep", formula, "--schools", EXAMPLE / "schools.csv", "--vary", "weights.poverty.weight=0.1:0.3:3", "-o", out)
        assert result.exit_code == 0, result.output
    table = pl.read_csv(tmp_path / "sweep.csv")
    assert "gain_cap" not in table.columns and "NaN" not in (tmp_path / "sweep.csv").read_text()
    assert pl.read_excel(tmp_path / "sweep.xlsx").columns == table.columns


def test_an_xlsx_that_unpacks_beyond_the_cap_is_refused_before_it_is_read(monkeypatch, tmp_path: Path):
    """A sheet that inflates to 1 GB was read into 1.1 GB of memory; the cap is checked by unpacking."""
    import zipfile

    import wsf.data.tables
    from wsf.data.tables import read_table
    from wsf.errors import WsfError

    book = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(book, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<row/>" * 400_000)  # 2.4 MB that packs to a few KB
    assert book.stat().st_size < 50_000
    monkeypatch.setattr(wsf.data.tables, "MAX_XLSX_BYTES", 2_000_000)
    monkeypatch.setattr(wsf.data.tables.pl, "read_excel", lambda *a, **k: pytest.fail("the sheet was read"))
    with pytest.raises(WsfError, match="bomb.xlsx: unpacks to more than 1 MB.*\n  fix: save the table as CSV"):
        read_table(book)
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(WsfError, match="broken.xlsx: is not a valid .xlsx workbook"):
        read_table(tmp_path / "broken.xlsx")


# -- nothing a school name holds runs in a terminal or a spreadsheet ----------------------------

ESCAPES = "Evil\x1b]0;pwned\x07 School\x1b[2J\u202e"


def test_control_sequences_in_a_school_name_never_reach_the_terminal(run, tmp_path: Path):
    """`explain` and the summaries printed ESC ] 0; ... BEL (retitling the terminal) as they were."""
    rows = [{"school_id": "A1", "name": ESCAPES, "grade_K": 10, "grade_1": 0, "grade_5": 0, "grade_6": 0, "grade_8": 0, "frl": 1, "el": 0},
            {"school_id": "B\x1b[31m2", "name": "Baker", "grade_K": 5, "grade_1": 0, "grade_5": 0, "grade_6": 0, "grade_8": 0, "frl": 1, "el": 0}]
    schools = write_csv(tmp_path / "schools.csv", rows)
    formula = BAD_INPUTS / "formula.toml"
    outputs = [run("explain", formula, "--schools", schools, "--school", "A1"),
               run("allocate", formula, "--schools", schools, "-o", tmp_path / "a.csv"),
               run("explain", formula, "--schools", schools, "--school", "Z\x1b]0;x\x07")]
    assert outputs[0].exit_code == 0 and "Evil]0;pwned School[2J" in outputs[0].output
    assert outputs[2].exit_code == 2
    for result in outputs:
        for stream in (result.output, result.stderr):
            assert not any(c in stream for c in "\x1b\x07\u202e"), repr(stream)


LOOKALIKES = ["＝HYPERLINK(\"http://x\")", "\u200b=1+1", "\t=1+1", "\r=1+1", " @SUM(A1)", "﹦1", "＋1", "－1", "＠x", "\ufeff=1"]


def test_formula_lookalikes_are_neutralised_in_csv(tmp_path: Path):
    """Full-width ＝, a zero-width space or a tab before = were left live in CSV output."""
    from wsf.write.files import write_table

    frame = pl.DataFrame({"school_id": [f"S{i}" for i in range(len(LOOKALIKES) + 1)], "name": [*LOOKALIKES, "Adams = Baker"]})
    write_table(frame, tmp_path / "t.csv")
    names = pl.read_csv(tmp_path / "t.csv")["name"].to_list()
    assert names[:-1] == ["'" + v for v in LOOKALIKES] and names[-1] == "Adams = Baker"


def test_every_unicode_form_of_a_formula_sign_is_listed():
    """LEADS is every character NFKC folds to = + - or @ (computed here over all of Unicode)."""
    import sys
    import unicodedata

    from wsf.write.files import LEADS

    folded = {c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.normalize("NFKC", c)[:1] in "=+-@"}
    assert folded == set(LEADS)

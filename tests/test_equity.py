"""Equity analysis (issue 3): measures by hand and by property, spending inputs, the CLI.

The hand-worked district used throughout the measure tests (three schools):

    school  pupils w  per pupil x  poverty share p
    A          100        8,000         0.2
    B          200        9,000         0.5
    C          100       12,000         0.8

W = 400; μ = (100·8,000 + 200·9,000 + 100·12,000) / 400 = 3,800,000 / 400 = 9,500.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from wsf.api import allocate_files
from wsf.cli import main
from wsf.data.spending import read_current, read_roster
from wsf.equity import measures
from wsf.equity.analysis import MEASURES, analyse
from wsf.errors import WsfError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "example-district"
FORMULA = ROOT / "formulas" / "example-district.toml"
SCHOOLS = EXAMPLE / "schools.csv"
PRIOR = EXAMPLE / "prior.csv"
CURRENT = EXAMPLE / "current.csv"
STAFF = EXAMPLE / "staff.csv"
NON_PERSONNEL = EXAMPLE / "non_personnel.csv"

X = [8_000.0, 9_000.0, 12_000.0]
W = [100.0, 200.0, 100.0]
P = [0.2, 0.5, 0.8]


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def equity_args(output: Path, *extra: object) -> list[object]:
    return ["equity", FORMULA, "--schools", SCHOOLS, "--prior", PRIOR, *extra, "-o", output]


# -- measures, worked by hand --------------------------------------------------------------


def test_percentiles_by_hand():
    # cumulative pupils 100, 300, 400: P5 -> 20th pupil (school A), P50 -> 200th (B), P95 -> 380th (C)
    assert measures.percentile(X, W, 0.05) == 8_000
    assert measures.percentile(X, W, 0.50) == 9_000
    assert measures.percentile(X, W, 0.95) == 12_000
    # cumulative pupils reach q·W exactly: the mean of this school and the next, as an even median
    assert measures.percentile([1.0, 3.0], [1.0, 1.0], 0.5) == 2.0
    assert measures.percentile([10.0, 20.0, 30.0, 40.0], [1.0, 1.0, 1.0, 1.0], 0.5) == 25.0
    assert measures.percentile([10.0, 20.0, 30.0, 40.0], [1.0, 1.0, 1.0, 1.0], 0.05) == 10.0
    assert measures.percentile([10.0, 20.0, 30.0, 40.0], [1.0, 1.0, 1.0, 1.0], 0.95) == 40.0


def test_dispersion_measures_by_hand():
    assert measures.range_(X, W) == 12_000 - 8_000
    assert measures.restricted_range(X, W) == 12_000 - 8_000
    assert measures.federal_range_ratio(X, W) == pytest.approx(4_000 / 8_000)
    # σ² = (100·(−1,500)² + 200·(−500)² + 100·2,500²) / 400 = 900,000,000 / 400 = 2,250,000; σ = 1,500
    assert measures.cv(X, W) == pytest.approx(1_500 / 9_500)
    # M = 9,000; below it only A: 100·8,000 / (9,000·100)
    assert measures.mcloone(X, W) == pytest.approx(800_000 / (9_000 * 100))
    # above it only C: 100·12,000 / (9,000·100)
    assert measures.verstegen(X, W) == pytest.approx(1_200_000 / (9_000 * 100))
    # pairs: |A−B| 1,000·100·200 + |A−C| 4,000·100·100 + |B−C| 3,000·200·100 = 120,000,000; both orders 240,000,000
    assert measures.gini(X, W) == pytest.approx(240_000_000 / (2 * 400**2 * 9_500))
    theil = (
        100 * (8_000 / 9_500) * math.log(8_000 / 9_500)
        + 200 * (9_000 / 9_500) * math.log(9_000 / 9_500)
        + 100 * (12_000 / 9_500) * math.log(12_000 / 9_500)
    ) / 400
    assert measures.theil(X, W) == pytest.approx(theil)
    assert measures.theil(X, W) == pytest.approx(0.011984, abs=1e-6)


def test_fiscal_neutrality_by_hand():
    # mean p = (20 + 100 + 80) / 400 = 0.5; cov = (100·(−1,500)(−0.3) + 0 + 100·2,500·0.3) / 400 = 300
    # var p = (100·0.09 + 0 + 100·0.09) / 400 = 0.045; var x = 2,250,000
    line = measures.neutrality(X, W, P)
    assert line.slope == pytest.approx(300 / 0.045)  # 6,666.67 dollars per pupil from 0% to 100% poverty
    assert line.correlation == pytest.approx(300 / math.sqrt(0.045 * 2_250_000))  # 2√2/3 = 0.9428
    assert line.elasticity == pytest.approx((300 / 0.045) * 0.5 / 9_500)  # 20/57
    assert line.intercept == pytest.approx(9_500 - (300 / 0.045) * 0.5)


def test_vertical_equity_regression_recovers_known_weights():
    # x = 8,000 + 2,000·frl% + 3,000·el% + 8,000·sped% exactly: implied weights 0.25, 0.375, 1.0
    shares = np.array([[0.2, 0.1, 0.10], [0.5, 0.3, 0.12], [0.8, 0.2, 0.08], [0.9, 0.4, 0.15], [0.3, 0.05, 0.11]])
    x = 8_000 + shares @ np.array([2_000, 3_000, 8_000])
    fit = measures.regress(x, [300, 500, 400, 200, 250], shares)
    assert fit.intercept == pytest.approx(8_000)
    assert fit.slopes == pytest.approx((2_000, 3_000, 8_000))
    assert fit.implied_weights == pytest.approx((0.25, 0.375, 1.0))
    assert fit.r_squared == pytest.approx(1.0)
    # not identified: as many terms as schools
    assert math.isnan(measures.regress(x[:4], [1, 1, 1, 1], shares[:4]).intercept)


def test_undefined_measures_are_nan():
    assert math.isnan(measures.neutrality([1.0, 2.0], [1.0, 1.0], [0.5, 0.5]).slope)  # poverty never varies
    assert math.isnan(measures.neutrality([5.0, 5.0], [1.0, 1.0], [0.1, 0.9]).correlation)  # dollars never vary
    with pytest.raises(ValueError):
        measures.cv([1.0], [0.0])  # schools without pupils are the caller's to remove


# -- measures, by property -------------------------------------------------------------------

pupils = st.integers(min_value=1, max_value=2_000)
cents = st.integers(min_value=100_00, max_value=50_000_00)


@st.composite
def districts(draw, min_size: int = 1):
    n = draw(st.integers(min_value=min_size, max_value=40))
    x = np.array(draw(st.lists(cents, min_size=n, max_size=n)), dtype=float) / 100
    w = np.array(draw(st.lists(pupils, min_size=n, max_size=n)), dtype=float)
    return x, w


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=40).flatmap(lambda n: st.tuples(cents, st.lists(pupils, min_size=n, max_size=n))))
def test_equal_amounts_are_perfectly_equal(data):
    amount, weights = data
    x = np.full(len(weights), amount / 100)
    w = np.array(weights, dtype=float)
    assert measures.cv(x, w) == pytest.approx(0, abs=1e-12)
    assert measures.gini(x, w) == 0
    assert measures.mcloone(x, w) == 1
    assert measures.verstegen(x, w) == 1
    assert measures.theil(x, w) == pytest.approx(0, abs=1e-12)
    assert measures.range_(x, w) == 0
    assert measures.restricted_range(x, w) == 0


@settings(max_examples=150, deadline=None)
@given(districts(), st.floats(min_value=0.01, max_value=100, allow_nan=False))
def test_scaling_every_amount_leaves_relative_measures_unchanged(district, k):
    x, w = district
    for measure in (
        measures.cv,
        measures.mcloone,
        measures.verstegen,
        measures.gini,
        measures.theil,
        measures.federal_range_ratio,
    ):
        assert measure(k * x, w) == pytest.approx(measure(x, w), rel=1e-9, abs=1e-12), measure.__name__
    assert measures.range_(k * x, w) == pytest.approx(k * measures.range_(x, w))


@settings(max_examples=150, deadline=None)
@given(districts(), st.sampled_from([0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]))
def test_weighted_percentile_is_type_2_over_the_pupil_list(district, q):
    x, w = district
    pupil_list = np.repeat(x, w.astype(int))
    assert measures.percentile(x, w, q) == pytest.approx(np.percentile(pupil_list, q * 100, method="averaged_inverted_cdf"))


@settings(max_examples=150, deadline=None)
@given(districts())
def test_gini_matches_the_double_sum(district):
    x, w = district
    brute = np.sum(w[:, None] * w[None, :] * np.abs(x[:, None] - x[None, :])) / (2 * w.sum() ** 2 * (np.sum(w * x) / w.sum()))
    assert measures.gini(x, w) == pytest.approx(brute, rel=1e-9, abs=1e-12)
    assert 0 <= measures.mcloone(x, w) <= 1 <= measures.verstegen(x, w)


# -- current spending ----------------------------------------------------------------------


def test_current_totals_are_read_as_cents(tmp_path):
    path = write_csv(
        tmp_path / "current.csv",
        ["school_id", "current", "restricted", "unrestricted"],
        [["A", "1,234.56", "200.5", "1034.06"], ["B", "10", "0", "10"]],
    )
    spending = read_current(path)
    assert spending.frame.rows() == [("A", 123456, 20050, 103406), ("B", 1000, 0, 1000)]


FULL = ["school_id", "current", "restricted", "unrestricted"]


@pytest.mark.parametrize(
    ("header", "rows", "fragments"),
    [
        (
            ["school_id", "current"],
            [["A", "100.005"]],
            ["current.csv", "row 2", "column current", "fractions of a cent", "A: 100.005"],
        ),
        (
            FULL,
            [["A", "100.00", "50.00", "40.00"]],
            ["current.csv", "row 2", "column current", "not restricted + unrestricted", "100.0 vs 90.0"],
        ),
        (FULL, [["A", "100", "50", "50"], ["A", "100", "50", "50"]], ["column school_id", "duplicate school_id", "row 3"]),
        (["school_id", "current"], [["A", "lots"]], ["row 2", "column current", "1 row that is not a number"]),
        (["school_id", "current"], [["A", "-5"]], ["column current", "negative"]),
        (["school", "current"], [["A", "5"]], ["required column 'school_id' is missing"]),
    ],
)
def test_bad_current_spending_names_file_row_column_and_fix(tmp_path, header, rows, fragments):
    path = write_csv(tmp_path / "current.csv", header, rows)
    with pytest.raises(WsfError) as caught:
        read_current(path)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert "fix:" in message


def test_half_of_restricted_and_unrestricted_is_an_error(tmp_path):
    path = write_csv(tmp_path / "current.csv", ["school_id", "current", "restricted"], [["A", "100", "50"]])
    with pytest.raises(WsfError, match="has a restricted column but no unrestricted column"):
        read_current(path)


def test_average_salary_budgeting_by_hand(tmp_path):
    # teacher lines: A 1.0 FTE at 90,000 + 30,000; B 1.0 at 60,000 + 20,000 and 0.5 at 70,000 + 20,000
    # teachers cost 120,000 + 80,000 + 45,000 = 245,000 for 2.5 FTE: an average of 98,000 per FTE
    # A is charged 98,000 (staff cost 120,000): average-salary budgeting moves 22,000 to A from B,
    # which is charged 1.5 × 98,000 = 147,000 for staff costing 125,000.
    staff = write_csv(
        tmp_path / "staff.csv",
        ["school_id", "position", "fte", "salary", "benefits"],
        [
            ["A", "teacher", "1.0", "90000", "30000"],
            ["B", "teacher", "1", "60000.00", "20000.00"],
            ["B", "teacher", "0.5", "70000", "20000"],
            ["B", "principal", "1", "150000", "40000"],
        ],
    )
    other = write_csv(tmp_path / "non_personnel.csv", ["school_id", "non_personnel"], [["A", "10000"], ["B", "5000"]])
    spending = read_roster(staff, other)
    rows = {r["school_id"]: r for r in spending.frame.iter_rows(named=True)}
    assert rows["A"]["personnel"] == 120_000_00 and rows["A"]["personnel_at_average"] == 98_000_00
    assert rows["A"]["salary_shift"] == 22_000_00 and rows["B"]["salary_shift"] == -22_000_00
    assert rows["A"]["current"] == 130_000_00 and rows["B"]["current"] == (125_000 + 190_000 + 5_000) * 100
    assert rows["B"]["current_at_average"] == (147_000 + 190_000 + 5_000) * 100
    positions = {r["position"]: r for r in spending.positions.iter_rows(named=True)}
    assert positions["teacher"]["average"] == 98_000_00 and positions["teacher"]["fte"] == 2.5


def test_average_charges_are_apportioned_to_the_cent(tmp_path):
    # three 1.0 FTE clerks costing 100.00, 100.00 and 100.01: 300.01 / 3 = 100.00333 each;
    # the odd cent goes to the largest remainder, ties to the lowest school_id (A)
    staff = write_csv(
        tmp_path / "staff.csv",
        ["school_id", "position", "fte", "salary", "benefits"],
        [["A", "clerk", "1", "100", "0"], ["B", "clerk", "1", "100", "0"], ["C", "clerk", "1", "100", "0.01"]],
    )
    frame = read_roster(staff).frame
    assert frame["personnel_at_average"].to_list() == [10001, 10000, 10000]
    assert frame["salary_shift"].to_list() == [-1, 0, 1]
    assert frame["salary_shift"].sum() == 0


roster_lines = st.lists(
    st.tuples(
        st.sampled_from(["S1", "S2", "S3", "S4", "S5"]),
        st.sampled_from(["teacher", "aide", "principal", "counselor"]),
        st.integers(min_value=0, max_value=15).map(lambda t: t / 10),
        st.integers(min_value=20_000_00, max_value=200_000_00),
        st.integers(min_value=0, max_value=60_000_00),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(roster_lines)
def test_salary_shifts_sum_to_zero_to_the_cent(tmp_path_factory, lines):
    folder = tmp_path_factory.mktemp("roster")
    rows = [[s, p, f"{fte:.1f}", f"{sal / 100:.2f}", f"{ben / 100:.2f}"] for s, p, fte, sal, ben in lines]
    spending = read_roster(write_csv(folder / "staff.csv", ["school_id", "position", "fte", "salary", "benefits"], rows))
    frame = spending.frame
    assert frame["salary_shift"].sum() == 0
    assert frame["personnel"].sum() == frame["personnel_at_average"].sum() == spending.positions["cost"].sum()
    assert (frame["current"] - frame["current_at_average"] == frame["salary_shift"]).all()
    # each line costs fte × (salary + benefits), half up to the cent
    assert frame["personnel"].sum() == sum(math.floor(round(fte * (sal + ben), 6) + 0.5) for _, _, fte, sal, ben in lines)


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        (["A", "teacher", "-1", "100", "0"], "negative FTE"),
        (["A", "teacher", "full", "100", "0"], "1 row that is not a number"),
        (["A", "", "1", "100", "0"], "with no position"),
        (["A", "teacher", "1", "100.001", "0"], "fractions of a cent"),
    ],
)
def test_bad_roster_lines(tmp_path, row, fragment):
    staff = write_csv(
        tmp_path / "staff.csv", ["school_id", "position", "fte", "salary", "benefits"], [["B", "teacher", "1", "100", "0"], row]
    )
    with pytest.raises(WsfError) as caught:
        read_roster(staff)
    assert fragment in str(caught.value) and "staff.csv" in str(caught.value) and "row 3" in str(caught.value)


def test_example_roster_matches_current_totals_and_generator_is_deterministic(tmp_path):
    roster = read_roster(STAFF, NON_PERSONNEL)
    totals = read_current(CURRENT)
    assert roster.frame.select("school_id", "current").equals(totals.frame.select("school_id", "current"))
    assert roster.frame["salary_shift"].sum() == 0
    assert roster.frame["salary_shift"].abs().sum() > 0
    spec = importlib.util.spec_from_file_location("generate_staff", EXAMPLE / "generate_staff.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("staff.csv", "non_personnel.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes()


# -- per school and district ---------------------------------------------------------------


@pytest.fixture(scope="module")
def example_equity():
    allocation = allocate_files(FORMULA, schools=SCHOOLS, prior=PRIOR)
    return analyse(allocation, read_current(CURRENT))


def test_gaps_are_exact_cents(example_equity):
    schools = example_equity.schools
    allocation = example_equity.allocation.cents
    assert schools["gap"].dtype == pl.Int64
    assert (schools["gap"] == schools["formula"] - schools["current"]).all()
    assert (schools["formula"] == allocation["total"] - allocation["transition"]).all()
    assert schools["current"].sum() == 241_012_047_55  # the fixture README's total
    assert schools["formula"].sum() == 244_500_000_00  # the pot (the transition nets to zero)
    assert (schools["gap_per_pupil"] == schools["formula_per_pupil"] - schools["current_per_pupil"]).all()
    top = schools.sort("rank").row(0, named=True)
    assert top["rank"] == 1 and top["gap_per_pupil"] == schools["gap_per_pupil"].max()


def test_statistics_table_names_the_measures_in_order(example_equity):
    stats = example_equity.statistics
    assert stats.columns == ["measure", "current", "formula"]
    assert stats["measure"].to_list()[: len(MEASURES)] == list(MEASURES)
    assert example_equity.stat("mean", "current") == pytest.approx(8_338.36, abs=0.01)  # README: $8,338.36
    assert example_equity.stat("pupils", "formula") == 28_904
    # the formula is need-based: per-pupil dollars follow poverty more closely than today
    assert example_equity.stat("correlation_poverty", "formula") > example_equity.stat("correlation_poverty", "current") > 0


def test_poverty_bands(example_equity):
    bands = example_equity.bands
    assert bands["band"].to_list() == list(range(1, 11))
    assert bands["schools"].sum() == 48 and bands["pupils"].sum() == 28_904
    assert set(bands["schools"].to_list()) <= {4, 5}
    assert (bands["poverty_to"].shift(1).drop_nulls() <= bands["poverty_from"][1:]).all()
    quintiles = analyse(example_equity.allocation, example_equity.spending, bands=5).bands
    assert quintiles["schools"].to_list() == [10, 10, 9, 10, 9]


def test_poverty_column_is_an_option(example_equity):
    other = analyse(example_equity.allocation, example_equity.spending, poverty="unduplicated")
    assert other.stat("correlation_poverty", "formula") != example_equity.stat("correlation_poverty", "formula")
    with pytest.raises(WsfError, match="no count column 'poor'"):
        analyse(example_equity.allocation, example_equity.spending, poverty="poor")


# -- schools in one input but not the other --------------------------------------------------


def _current_with_gaps(tmp_path: Path) -> Path:
    rows = [r for r in read_rows(CURRENT) if r["school_id"] not in ("EX111", "EX112")]
    rows.append({"school_id": "EX999", "current": "1000000.00", "restricted": "0.00", "unrestricted": "1000000.00"})
    return write_csv(tmp_path / "current.csv", list(rows[0]), [list(r.values()) for r in rows])


def test_missing_schools_are_an_error_naming_them(tmp_path):
    result = invoke(*equity_args(tmp_path / "out", "--current", _current_with_gaps(tmp_path)))
    assert result.exit_code == 2
    message = result.stderr
    assert (
        "2 schools in the school data have no current spending in current.csv: "
        "EX111 (Sunrise Elementary), EX112 (Pine Hollow Elementary)" in message
    )
    assert "1 school in current.csv is not in the school data: EX999" in message
    assert "--allow-missing" in message
    assert not (tmp_path / "out").exists()


def test_allow_missing_reports_them_in_the_output(tmp_path):
    out = tmp_path / "out"
    result = invoke(*equity_args(out, "--current", _current_with_gaps(tmp_path), "--allow-missing"))
    assert result.exit_code == 0, result.output
    rows = {r["school_id"]: r for r in read_rows(out / "schools.csv")}
    assert rows["EX111"]["missing"] == "no current spending" and rows["EX111"]["current"] == ""
    assert rows["EX999"]["missing"] == "not in the school data" and rows["EX999"]["formula"] == ""
    assert rows["EX101"]["missing"] == ""
    stats = {r["measure"]: r for r in read_rows(out / "statistics.csv")}
    assert stats["schools"]["current"] == "46.0"  # 48 less the two without spending; EX999 has no pupils to count
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "Schools that could not be compared" in summary
    for school in ("EX111", "Sunrise Elementary", "EX112", "EX999", "not in the school data"):
        assert school in summary


def test_schools_without_pupils_are_left_out_and_named(tmp_path):
    schools = read_rows(SCHOOLS)
    empty = {
        k: (
            "0"
            if k.startswith("grade_") or k in ("frl", "el", "foster", "sped_moderate", "sped_intensive", "unduplicated")
            else v
        )
        for k, v in schools[0].items()
    }
    empty |= {"school_id": "EX200", "name": "Closed Campus"}
    path = write_csv(tmp_path / "schools.csv", list(schools[0]), [list(r.values()) for r in [*schools, empty]])
    current = write_csv(
        tmp_path / "current.csv",
        ["school_id", "current"],
        [*[[r["school_id"], r["current"]] for r in read_rows(CURRENT)], ["EX200", "250000.00"]],
    )
    equity = analyse(allocate_files(FORMULA, schools=path, prior=PRIOR), read_current(current))
    assert equity.no_pupils["school_id"].to_list() == ["EX200"]
    assert equity.stat("schools", "current") == 48
    assert equity.schools.filter(pl.col("school_id") == "EX200")["current_per_pupil"].is_null().all()


# -- the command -----------------------------------------------------------------------------


def test_cli_writes_the_report_and_reruns_byte_identical(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second, first):  # the third run replaces the first folder whole
        result = invoke(*equity_args(out, "--current", CURRENT))
        assert result.exit_code == 0, result.output
    names = [
        "schools.csv",
        "statistics.csv",
        "bands.csv",
        "vertical.csv",
        "scatter.svg",
        "bands.svg",
        "summary.html",
        "meta.json",
    ]
    assert sorted(p.name for p in first.iterdir()) == sorted(names)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left
    stats = read_rows(first / "statistics.csv")
    assert list(stats[0]) == ["measure", "current", "formula"]
    assert [r["measure"] for r in stats][:11] == [
        "range", "restricted_range", "federal_range_ratio", "cv", "mcloone", "verstegen", "gini", "theil",
        "correlation_poverty", "slope_poverty", "elasticity_poverty",
    ]  # fmt: skip
    assert all(r["current"] and r["formula"] for r in stats[:11])
    assert len(read_rows(first / "schools.csv")) == 48
    assert len(read_rows(first / "bands.csv")) == 10
    for chart in ("scatter.svg", "bands.svg"):
        root = ET.parse(first / chart).getroot()  # well-formed SVG
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    scatter = (first / "scatter.svg").read_text(encoding="utf-8")
    assert "O&#39;Connell Elementary" in scatter and "$8,000" in scatter  # autoescaped names; $ ticks
    summary = (first / "summary.html").read_text(encoding="utf-8")
    allocation = allocate_files(FORMULA, schools=SCHOOLS, prior=PRIOR)
    assert "example-district-fy2026" in summary and allocation.formula.sha256 in summary
    assert read_current(CURRENT).sources[0].sha256 in summary
    assert summary.count("<svg") == 2
    assert "Largest gains and losses" in summary


def test_cli_with_a_staff_roster(tmp_path):
    out = tmp_path / "roster"
    result = invoke(*equity_args(out, "--staff", STAFF, "--non-personnel", NON_PERSONNEL, "--bands", "5"))
    assert result.exit_code == 0, result.output
    rows = read_rows(out / "schools.csv")
    assert sum(round(float(r["salary_shift"]) * 100) for r in rows) == 0
    assert len(read_rows(out / "positions.csv")) == 9
    assert len(read_rows(out / "bands.csv")) == 5
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "Average-salary budgeting" in summary and "moves the most to" in summary


def test_cli_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    result = invoke(*equity_args(out, "--current", CURRENT))
    assert result.exit_code == 2
    assert "holds files this report did not write (notes.txt)" in result.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_cli_needs_exactly_one_kind_of_spending(tmp_path):
    assert invoke(*equity_args(tmp_path / "o")).exit_code == 2
    both = invoke(*equity_args(tmp_path / "o", "--current", CURRENT, "--staff", STAFF))
    assert both.exit_code == 2 and "exactly one of --current" in both.output


def test_cli_help_has_an_example():
    result = invoke("equity", "--help")
    assert result.exit_code == 0 and "Example:\n    wsf equity formulas/example-district.toml \\\n" in result.output


def test_a_failed_run_leaves_the_previous_report_untouched(tmp_path, monkeypatch):
    import wsf.equity.report

    out = tmp_path / "report"
    assert invoke(*equity_args(out, "--current", CURRENT)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(wsf.equity.report, "render", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        invoke(*equity_args(out, "--current", CURRENT, "--bands", "5"))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temporary folder left behind


def test_hostile_school_names_are_inert_in_the_report(run, tmp_path) -> None:
    """A name with markup renders as text in summary.html; one that starts like a formula is
    neutralised in schools.csv."""
    import csv

    schools = list(csv.DictReader((EXAMPLE / "schools.csv").open(encoding="utf-8")))
    schools[0]["name"] = "<script>alert(1)</script>"
    schools[1]["name"] = "=HYPERLINK(\"http://x\",\"y\")"
    hostile = tmp_path / "schools.csv"
    with hostile.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(schools[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(schools)
    out = tmp_path / "equity"
    result = run("equity", FORMULA, "--schools", hostile, "--prior", EXAMPLE / "prior.csv",
                 "--current", EXAMPLE / "current.csv", "-o", out)
    assert result.exit_code == 0, result.output
    html = (out / "summary.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    table = (out / "schools.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in table and "\n=HYPERLINK" not in table and ",=HYPERLINK" not in table

"""The budget tree on SFUSD's real ledgers: it reconciles to the ledger to the cent, Fund 01's
expenditures are the team's $908,022,161.46 (FY2020-21) and $1,146,345,153.47 (FY2021-22),
other outgo and transfers out are rows of their own, growth by area with two years, every one of
the 31 opportunities listed (sized, or saying why not), a mapped ledger reads as CDE's does,
reruns give the same bytes, and no input is ever overwritten."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT

SACS = ROOT / "fixtures" / "sfusd" / "sacs"
LEDGER_2020 = SACS / "ua-fy2020-21" / "sfusd_usergl_fy2020-21.csv"
LEDGER_2021 = SACS / "ua-fy2021-22" / "sfusd_usergl_fy2021-22.csv"
CATALOG = ROOT / "formulas" / "tradeoffs" / "smarter-school-spending.toml"
HERE = Path(__file__).parent


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def expenditures(budget: list[dict], year: str, fund: str = "01") -> Decimal:
    return sum((Decimal(r["amount"]) for r in budget if r["fiscal_year"] == year and r["fund"] == fund
                and r["object"].isdigit() and 1000 <= int(r["object"]) <= 7499), Decimal(0))


@pytest.fixture(scope="module")
def one_year(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from wsf.cli import main

    out = tmp_path_factory.mktemp("ledger") / "out"
    result = CliRunner().invoke(main, ["tradeoffs", str(CATALOG), "--ledger", str(LEDGER_2020), "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "$908,022,161.46 (4,177 accounts)" in result.output
    return out


@pytest.fixture(scope="module")
def two_years(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from wsf.cli import main

    out = tmp_path_factory.mktemp("ledger") / "out"
    args = ["tradeoffs", str(CATALOG), "--ledger", str(LEDGER_2021), "--ledger", str(LEDGER_2020),
            "--drivers", str(SACS / "drivers-2021-22.toml"), "-o", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_fund_01_expenditures_are_908_022_161_46(one_year: Path) -> None:
    budget = rows(one_year / "budget.csv")
    assert expenditures(budget, "2020-21") == Decimal("908022161.46")
    meta = json.loads((one_year / "meta.json").read_text(encoding="utf-8"))
    assert meta["budget"]["amount"] == "908022161.46"


def test_the_tree_reconciles_to_the_ledger_to_the_cent(one_year: Path) -> None:
    """Every fund x function x major object, summed, is the ledger's own sum of its rows."""
    ledger = defaultdict(Decimal)
    for row in rows(LEDGER_2020):
        ledger[(row["Fund"], row["Function"])] += Decimal(row["Value"])
    tree = defaultdict(Decimal)
    accounts = 0
    for row in rows(one_year / "budget.csv"):
        tree[(row["fund"], row["function"])] += Decimal(row["amount"])
        accounts += int(row["accounts"])
        assert row["fund_title"] and row["function_title"] and row["object_title"], row
    assert dict(tree) == dict(ledger)
    assert accounts == len(rows(LEDGER_2020))
    for rollup in ("budget-resource.csv", "budget-goal.csv"):  # the other rollups hold the same money
        assert sum(Decimal(r["amount"]) for r in rows(one_year / rollup)) == sum(ledger.values())


def test_major_objects_are_sacs_own_with_other_outgo_and_transfers_apart(one_year: Path) -> None:
    budget = [r for r in rows(one_year / "budget.csv") if r["fund"] == "01"]
    by_object = defaultdict(Decimal)
    for row in budget:
        by_object[row["object"]] += Decimal(row["amount"])
    assert {"1000", "2000", "3000", "4000", "5000", "6000", "7100", "7600"} <= set(by_object)
    titles = {r["object"]: r["object_title"] for r in budget}
    assert titles["7100"] == "Other outgo" and titles["7600"] == "Other financing uses (transfers out)"
    # the fixture README's figures, to the tenth of a million
    expected = {"1000": 401.3, "2000": 130.1, "3000": 253.1, "4000": 22.3, "5000": 72.1, "6000": 2.3, "7100": 26.9}
    assert {k: round(float(by_object[k]) / 1e6, 1) for k in expected} == expected
    utilities = sum(Decimal(r["Value"]) for r in rows(LEDGER_2020) if r["Fund"] == "01" and r["Object"] == "5500")
    assert utilities == Decimal("4902610.01")


def test_two_years_give_growth_by_area(two_years: Path) -> None:
    budget = rows(two_years / "budget.csv")
    assert expenditures(budget, "2020-21") == Decimal("908022161.46")
    assert expenditures(budget, "2021-22") == Decimal("1146345153.47")
    growth = [r for r in rows(two_years / "growth.csv") if r["fund"] == "01"]
    assert {r["area"] for r in growth} == {"function", "object"}
    for area in ("function", "object"):
        part = [r for r in growth if r["area"] == area]
        assert sum(Decimal(r["amount_2020_21"]) for r in part) == Decimal("908022161.46")
        assert sum(Decimal(r["amount_2021_22"]) for r in part) == Decimal("1146345153.47")
        for r in part:
            assert Decimal(r["change"]) == Decimal(r["amount_2021_22"]) - Decimal(r["amount_2020_21"])
        changes = [Decimal(r["change"]) for r in part]
        assert changes == sorted(changes, reverse=True)  # the fastest-growing first
    salaries = next(r for r in growth if r["area"] == "object" and r["code"] == "1000")
    assert salaries["title"] == "Certificated salaries" and float(salaries["change_percent"]) > 0


def test_all_31_opportunities_are_listed_each_sized_or_saying_why(one_year: Path, two_years: Path) -> None:
    for out in (one_year, two_years):
        table = rows(out / "opportunities.csv")
        assert [int(r["id"]) for r in table] == list(range(1, 32))
        assert len({r["area"] for r in table}) == 7
        for r in table:
            assert r["question"].endswith("?") and r["ease"] in ("easy", "moderate", "hard")
            if r["sized"] == "true":
                assert Decimal("0") <= Decimal(r["savings_low"]) <= Decimal(r["savings_high"]), r
                assert not r["basis"].startswith("not sized")
            else:
                assert r["savings_low"] == r["savings_high"] == "" and r["basis"].startswith("not sized: "), r
    sized = [r for r in rows(two_years / "opportunities.csv") if r["sized"] == "true"]
    assert len(sized) == 8
    energy = next(r for r in rows(one_year / "opportunities.csv") if r["id"] == "2")
    assert (energy["current_spend"], energy["savings_low"], energy["savings_high"]) == ("4902610.01", "490261.00", "1470783.00")


def test_a_mapped_ledger_reads_as_cdes_extract_does(run, tmp_path: Path) -> None:
    catalog = HERE / "catalog.toml"
    sacs = run("tradeoffs", catalog, "--ledger", HERE / "ledgers" / "clean.csv", "-o", tmp_path / "sacs")
    mapped = run("tradeoffs", catalog, "--ledger", HERE / "ledgers" / "mapped.csv",
                 "--ledger-mapping", HERE / "ledgers" / "mapped-mapping.toml", "-o", tmp_path / "mapped")
    assert sacs.exit_code == mapped.exit_code == 0, sacs.output + mapped.output
    for name in ("budget.csv", "budget-resource.csv", "budget-goal.csv", "opportunities.csv"):
        assert (tmp_path / "sacs" / name).read_bytes() == (tmp_path / "mapped" / name).read_bytes(), name


def test_reruns_give_the_same_bytes(run, tmp_path: Path) -> None:
    plan = ROOT / "formulas" / "tradeoffs" / "sfusd-plan-2021-22.toml"
    args = [CATALOG, "--ledger", LEDGER_2020, "--ledger", LEDGER_2021, "--drivers", SACS / "drivers-2021-22.toml", "--plan", plan]
    first, second = tmp_path / "a", tmp_path / "b"
    assert run("tradeoffs", *args, "-o", first).exit_code == 0
    assert run("tradeoffs", *args, "-o", second).exit_code == 0
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert {"budget.csv", "growth.csv", "opportunities.csv", "plan.csv", "formula.toml", "tradeoffs.html", "meta.json"} <= set(names)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert run("tradeoffs", *args, "-o", first).exit_code == 0  # a folder of an earlier run is replaced whole
    assert (first / "tradeoffs.html").read_bytes() == (second / "tradeoffs.html").read_bytes()


def test_an_input_is_never_overwritten(run, tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    folder.mkdir()
    for source in (HERE / "ledgers").glob("*.csv"):
        (folder / source.name).write_bytes(source.read_bytes())
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = run("tradeoffs", HERE / "catalog.toml", "--ledger", folder / "clean.csv", "-o", folder)
    assert result.exit_code == 2 and "-o" in result.stderr, result.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the team's notes", encoding="utf-8")
    result = run("tradeoffs", HERE / "catalog.toml", "--ledger", HERE / "ledgers" / "clean.csv", "-o", mine)
    assert result.exit_code == 2 and "notes.txt" in result.stderr
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "the team's notes"


def test_without_a_drivers_file_the_district_is_named_by_cdes_lea_file(one_year: Path) -> None:
    html = (one_year / "tradeoffs.html").read_text(encoding="utf-8")
    assert "<h1>San Francisco Unified: what to stop, what to fund</h1>" in html
    meta = json.loads((one_year / "meta.json").read_text(encoding="utf-8"))
    assert "sfusd_lea-info.csv" in [t["file"] for t in meta["ledgers"][0]["code_tables"]]

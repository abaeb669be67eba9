"""School site plans: every one-fault plan in tests/plans/reject is refused by `wsf plan check`
with the school, the line and the amount (or, for a file that cannot be read, the column and
the rows), exit 2 and nothing written; the clean plan passes; positions are costed as the
formula costs them; restricted money buys only its objects; changes since the approved plan
are material past the threshold."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import polars as pl
import pytest
from conftest import write_csv

from wsf.api import allocate_files
from wsf.errors import WsfError
from wsf.plans.check import check_plan
from wsf.plans.compare import Threshold, changes, parse_material
from wsf.plans.read import read_plan

HERE = Path(__file__).parent / "plans"
CASES = tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"))
FORMULA, SCHOOLS, PLAN = HERE / "formula.toml", HERE / "schools.csv", HERE / "plan.csv"


@pytest.fixture(scope="module")
def allocation():
    return allocate_files(FORMULA, SCHOOLS)


def test_every_fault_file_has_a_case() -> None:
    named = {Path(case["plan"]).name for case in CASES.values()}
    on_disk = {p.name for p in (HERE / "reject").iterdir()}
    assert on_disk == named, f"fault files without a case, or cases without a file: {sorted(on_disk ^ named)}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_faulty_plan_is_refused_with_the_school_the_line_and_the_amount(name: str, run, tmp_path: Path) -> None:
    case = CASES[name]
    out = tmp_path / "out" / "balances.csv"
    result = run("plan", "check", FORMULA, "--schools", SCHOOLS, "--plan", HERE / case["plan"], "-o", out)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr and "ok:" not in result.output
    for fragment in case["expect"]:
        assert fragment in result.stderr, f"{fragment!r} not in:\n{result.stderr}"
    assert not out.parent.exists()


def test_the_clean_plan_passes_and_writes_its_balances(run, tmp_path: Path) -> None:
    out = tmp_path / "balances.csv"
    result = run("plan", "check", FORMULA, "--schools", SCHOOLS, "--plan", PLAN, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "ok: plan.csv spends every funding line of 2 schools to the cent: $5,706,000.00 planned of $5,706,000.00 allocated")
    assert "PA         Alder Elementary" in result.output and "$2,312,000.00" in result.output and "15.1 FTE" in result.output
    balances = pl.read_csv(out, schema_overrides={"allocated": pl.String, "planned": pl.String, "remaining": pl.String})
    assert balances.height == 10 and set(balances["remaining"]) == {"0.00"}
    assert balances.filter(pl.col("key") == "base")["allocated"].to_list() == ["1000000.00", "1550000.00"]
    meta = json.loads((tmp_path / "balances.csv.meta.json").read_text())
    assert meta["plan"]["file"] == "plan.csv" and len(meta["plan"]["sha256"]) == 64


def test_an_output_over_the_plan_is_refused(run, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_bytes(PLAN.read_bytes())
    result = run("plan", "check", FORMULA, "--schools", SCHOOLS, "--plan", plan, "-o", plan)
    assert result.exit_code == 2 and "is the --plan input" in result.stderr
    assert plan.read_bytes() == PLAN.read_bytes()


def test_positions_are_costed_as_the_formula_costs_them(allocation) -> None:
    check = check_plan(allocation, read_plan(PLAN))
    assert check.ok, check.error()
    lines = {(r["school_id"], r["_row"]): r for r in check.lines.iter_rows(named=True)}
    teachers = lines[("PA", 3)]  # 8.0 FTE of the locked-plus position, amount left blank: 8 x $125,000
    assert (teachers["amount"], teachers["salary"], teachers["benefits"], teachers["object"]) == (100_000_000, 72_000_000, 28_000_000, "1100")
    counselor = lines[("PA", 5)]  # 1.0 x ($95,000 + $36,000.50), its object from the plan (the cost has none)
    assert (counselor["amount"], counselor["salary"], counselor["benefits"], counselor["object"]) == (13_100_050, 9_500_000, 3_600_050, "1200")
    noon = lines[("PA", 6)]  # 4 daily hours x $24.50 x 180 days, an hourly cost: all of it on its object
    assert (noon["amount"], noon["salary"], noon["benefits"], noon["unit"]) == (1_764_000, 1_764_000, 0, "hours")
    # a locked position's line, planned at its FTE and costed by the plan, is exactly what the allocation gives it
    for key in ("principal", "teachers"):
        for school_id, allocated, planned in check.balances.filter(pl.col("key") == key).select("school_id", "allocated", "planned").iter_rows():
            assert allocated == planned == int(allocation.cents.filter(pl.col("school_id") == school_id)[key][0])
    # the resource codes name their lines: 0000 is the base, 07091 the English learner weight
    assert lines[("PA", 5)]["key"] == "base" and lines[("PA", 11)]["key"] == "english_learner"


def test_a_positions_benefits_are_restricted_too(tmp_path: Path) -> None:
    """A line that may pay salaries but not benefits cannot pay for a position with benefits."""
    formula = tmp_path / "f.toml"
    formula.write_text(FORMULA.read_text(encoding="utf-8").replace('objects = ["1000-3999", "4000-4999"]', 'objects = ["1000-1999", "4000-4999"]'), encoding="utf-8")
    check = check_plan(allocate_files(formula, SCHOOLS), read_plan(PLAN))
    texts = [f.text for f in check.failures]
    assert texts == [
        "PA Alder Elementary: row 10: english_learner may pay only for objects 1000-1999, 4000-4999, but pays $3,500.00 for 3000-3999 "
        "(position teacher 0.1 FTE)",
        "PB Birch Middle: row 17: english_learner may pay only for objects 1000-1999, 4000-4999, but pays $14,000.00 for 3000-3999 "
        "(position teacher 0.4 FTE)",
    ]


def test_a_plan_as_a_spreadsheet_saves_it_checks_the_same(allocation, tmp_path: Path) -> None:
    """XLSX, with the resource code typed as text (as a district template formats the column)."""
    frame = pl.read_csv(PLAN, infer_schema=False)
    path = tmp_path / "plan.xlsx"
    frame.write_excel(path, worksheet="Plans")
    from_xlsx, from_csv = check_plan(allocation, read_plan(path)), check_plan(allocation, read_plan(PLAN))
    assert from_xlsx.ok and from_xlsx.balances.equals(from_csv.balances)
    assert from_xlsx.lines.drop("_row").equals(from_csv.lines.drop("_row"))


def test_a_dollar_formula_costs_positions_to_the_dollar(tmp_path: Path) -> None:
    formula = tmp_path / "f.toml"
    formula.write_text(FORMULA.read_text(encoding="utf-8") + '\n[rounding]\nto = "dollar"\n', encoding="utf-8")
    rows = [{"school_id": "PA", "position": "counselor", "fte": "0.5", "object": "1200", "amount": "", "funding": "base", "goal": "G", "description": ""}]
    plan = write_csv(tmp_path / "plan.csv", rows, fill="")
    lines = check_plan(allocate_files(formula, SCHOOLS), read_plan(plan)).lines
    assert lines["amount"].to_list() == [6_550_000]  # 0.5 x $131,000.50 = $65,500.25, half up to the dollar


def test_a_plan_that_names_a_shared_resource_is_told_to_name_the_key(tmp_path: Path) -> None:
    formula = tmp_path / "f.toml"
    formula.write_text(FORMULA.read_text(encoding="utf-8").replace('[foundations.office]\n', '[foundations.office]\nresource = "07091"\n'), encoding="utf-8")
    check = check_plan(allocate_files(formula, SCHOOLS), read_plan(PLAN))
    assert ("PA Alder Elementary: row 11: resource 07091 is the resource of english_learner and office; name the line by its key "
            "($17,500.00 of 4300 (ELD materials))") in [f.text for f in check.failures]


def test_translations_of_one_goal_must_agree(tmp_path: Path) -> None:
    text = PLAN.read_text(encoding="utf-8").replace("PA,,,4300,17500.00,07091,Goal 2: English learners,ELD materials,Meta 2: Estudiantes que aprenden inglés",
                                                     "PA,,,4300,17500.00,07091,Goal 2: English learners,ELD materials,Meta dos")
    plan = tmp_path / "plan.csv"
    plan.write_text(text, encoding="utf-8")
    with pytest.raises(WsfError, match=r"column goal_es: 2 rows where one goal has two goal_es texts, e.g. row 10 \(PA: Goal 2: English learners / Meta 2"):
        read_plan(plan)
    assert read_plan(PLAN).languages == ("es",)


# -- the approved plan ------------------------------------------------------------------------


def test_changes_since_the_approved_plan_are_material_past_the_threshold(allocation) -> None:
    check = check_plan(allocation, read_plan(PLAN))
    found = changes(check, read_plan(HERE / "approved.csv"), parse_material("0.10"))
    rows = [(r["school_id"], r["key"], r["position"] or r["description"], r["approved"], r["planned"], r["material"]) for r in found.iter_rows(named=True)]
    assert rows == [
        ("PA", "base", "Classroom materials", 10_635_950, 10_000_000, False),  # $6,359.50 of a $1,000,000 base: 0.6%
        ("PA", "base", "Student laptops", 4_000_000, 4_635_950, False),
        ("PA", "english_learner", "teacher", 0, 1_250_000, True),  # a teacher added: $12,500 of a $30,000 line
        ("PA", "english_learner", "ELD materials", 3_000_000, 1_750_000, True),
        ("PB", "office", "Attendance outreach services (contract)", 6_000_000, 10_000_000, True),
        ("PB", "office", "Family liaison services (contract)", 4_000_000, 0, True),  # removed
    ]
    assert found.filter(pl.col("school_id") == "PA")["limit"].to_list() == [10_000_000, 10_000_000, 300_000, 300_000]
    in_dollars = changes(check, read_plan(HERE / "approved.csv"), parse_material("$13,000"))
    assert in_dollars["material"].to_list() == [False, False, False, False, True, True]


@pytest.mark.parametrize(("text", "threshold"), [("0.10", Threshold(share=0.10)), ("10%", Threshold(share=0.10)), ("0.5%", Threshold(share=0.005)),
                                                 ("25000", Threshold(cents=2_500_000)), ("$25,000", Threshold(cents=2_500_000)),
                                                 ("$0.50", Threshold(cents=50))])
def test_a_threshold_is_a_share_or_dollars(text: str, threshold: Threshold) -> None:
    assert parse_material(text) == threshold


@pytest.mark.parametrize("text", ["0", "-0.1", "ten", "150%", "25000.001", "nan"])
def test_a_threshold_that_is_neither_is_refused(text: str) -> None:
    with pytest.raises(WsfError, match="--material"):
        parse_material(text)


# -- the example district ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example():
    from conftest import EXAMPLE, EXAMPLE_FORMULA

    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    return allocation, check_plan(allocation, read_plan(EXAMPLE / "plan.csv"))


def test_the_example_districts_plans_pass(run, example_args) -> None:
    from conftest import EXAMPLE

    for plan in ("plan.csv", "approved-plan.csv"):
        result = run("plan", "check", *example_args, "--plan", EXAMPLE / plan)
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"ok: {plan} spends every funding line of 48 schools to the cent: $244,500,000.00 planned")
        assert len(result.output.splitlines()) == 49


def test_the_example_plans_spend_every_line_with_the_rosters_staff(example) -> None:
    from conftest import EXAMPLE

    allocation, check = example
    assert check.ok and set(check.balances["remaining"]) == {0}
    assert int(check.balances["planned"].sum()) == 244_500_000_00
    roster = pl.read_csv(EXAMPLE / "staff.csv").group_by("school_id", "position").agg(pl.col("fte").sum().round(1))
    planned = check.lines.filter(pl.col("position").is_not_null()).group_by("school_id", "position").agg(pl.col("fte").sum().round(1))
    assert planned.sort("school_id", "position").equals(roster.sort("school_id", "position"))
    # a gain cap is taken from the base, a hold harmless added to it: EX143 plans its base less its transition
    ex143 = check.balances.filter((pl.col("school_id") == "EX143") & (pl.col("key") == "base"))["allocated"][0]
    cents = allocation.cents.filter(pl.col("school_id") == "EX143")
    assert ex143 == cents["base"][0] + cents["transition"][0] and cents["transition"][0] < 0
    # restricted lines buy only their objects; the special-education lines, sharing resource 6500, are named by key
    for key in ("english_learner", "sped_moderate", "sped_intensive", "high_school_counseling"):
        assert allocation.formula.model.funding_of(key).allowed is not None and check.lines.filter(pl.col("key") == key).height > 0
    assert set(pl.read_csv(EXAMPLE / "plan.csv", infer_schema=False)["funding"]) >= {"0000", "07091", "sped_moderate", "sped_intensive"}


def test_the_example_costs_are_the_rosters_district_averages() -> None:
    """[costs] in the example formula: each job class's FTE-weighted average salary and benefits in
    staff.csv, rounded half up to the cent (the source of each says so)."""
    import csv
    from collections import defaultdict
    from decimal import ROUND_HALF_UP, Decimal

    from conftest import EXAMPLE, EXAMPLE_FORMULA

    from wsf.formula.model import load_formula

    fte, salary, benefits = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
    with (EXAMPLE / "staff.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            f = Decimal(row["fte"])
            fte[row["position"]] += f
            salary[row["position"]] += f * Decimal(row["salary"])
            benefits[row["position"]] += f * Decimal(row["benefits"])
    costs = load_formula(EXAMPLE_FORMULA).model.costs
    assert set(costs) == set(fte)
    for job, cost in costs.items():
        average = {name: (total[job] / fte[job]).quantize(Decimal("0.01"), ROUND_HALF_UP) for name, total in (("salary", salary), ("benefits", benefits))}
        assert (Decimal(repr(cost.salary)), Decimal(repr(cost.benefits))) == (average["salary"], average["benefits"]), job
        assert "staff.csv" in cost.source and "synthetic" in cost.source and "es" in cost.labels


def test_the_example_plans_are_regenerated_byte_for_byte(tmp_path: Path) -> None:
    import subprocess
    import sys

    from conftest import EXAMPLE, ROOT

    subprocess.run([sys.executable, str(EXAMPLE / "generate_plan.py"), str(tmp_path)], check=True, cwd=ROOT)
    for name in ("plan.csv", "approved-plan.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), f"{name} differs from what generate_plan.py writes"


def test_the_example_approved_plan_differs_at_three_schools(example) -> None:
    from conftest import EXAMPLE

    _, check = example
    found = changes(check, read_plan(EXAMPLE / "approved-plan.csv"), parse_material("0.10"))
    assert found["school_id"].unique().sort().to_list() == ["EX104", "EX120", "EX133"]
    material = found.group_by("school_id").agg(pl.col("material").any()).sort("school_id")
    assert material["material"].to_list() == [True, True, False]
    assert found["change"].sum() == 0  # money moved within each funding line

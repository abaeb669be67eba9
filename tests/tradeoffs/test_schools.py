"""From the plan to the schools: a plan's net savings raise a WSF pot (`[schools]` in the plan),
`wsf tradeoffs` writes the raised formula, and `wsf compare` of the two shows what each school
gains. SFUSD's budget-neutral formula (formulas/sfusd/wsf-2022-23-pot.toml) at its own pot gives
every school within two dollars of the per-line formula it copies."""

from __future__ import annotations

import csv
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT

SACS = ROOT / "fixtures" / "sfusd" / "sacs"
SCHOOLS = ROOT / "fixtures" / "sfusd" / "wsf-2022-23-schools.csv"
POT = ROOT / "formulas" / "sfusd" / "wsf-2022-23-pot.toml"
PLAN = ROOT / "formulas" / "tradeoffs" / "sfusd-plan-2021-22.toml"


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from wsf.cli import main

    out = tmp_path_factory.mktemp("schools") / "out"
    args = ["tradeoffs", ROOT / "formulas" / "tradeoffs" / "smarter-school-spending.toml",
            "--ledger", SACS / "ua-fy2020-21" / "sfusd_usergl_fy2020-21.csv", "--ledger", SACS / "ua-fy2021-22" / "sfusd_usergl_fy2021-22.csv",
            "--drivers", SACS / "drivers-2021-22.toml", "--plan", PLAN, "-o", out]
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "pot raised by $10,733,827.00 to $351,870,325.00" in result.output
    return out


def test_the_pot_formula_at_its_pot_is_the_published_formula(run, tmp_path: Path) -> None:
    result = run("compare", ROOT / "formulas" / "sfusd" / "wsf-2022-23.toml", POT, "--schools", SCHOOLS, "-o", tmp_path / "c.csv")
    assert result.exit_code == 0, result.output
    assert "(B - A $0.00)" in result.output
    changes = [Decimal(r["change"]) for r in rows(tmp_path / "c.csv")]
    assert len(changes) == 102 and max(abs(c) for c in changes) <= 2 and sum(changes) == 0


def test_the_raised_formula_is_the_pot_formula_plus_the_plans_net(planned: Path) -> None:
    net = Decimal(next(r for r in rows(planned / "plan.csv") if r["row"] == "net")["year_3"])  # [schools] year = 3
    before, after = tomllib.loads(POT.read_text(encoding="utf-8")), tomllib.loads((planned / "formula.toml").read_text(encoding="utf-8"))
    added = Decimal(str(after["pot"]["amount"])) - Decimal(str(before["pot"]["amount"]))
    assert added == int(net)  # the formula rounds to whole dollars: the net's cents stay unspent
    assert after["formula"]["id"] == before["formula"]["id"] + "-plus-sfusd-illustration"
    assert {k: v for k, v in after.items() if k not in ("pot", "formula")} == {k: v for k, v in before.items() if k not in ("pot", "formula")}
    assert (planned / "formula.toml").read_text(encoding="utf-8").startswith("# wsf-2022-23-pot.toml with its pot raised by 100%")


def test_wsf_compare_shows_what_each_school_gains(run, planned: Path, tmp_path: Path) -> None:
    result = run("compare", POT, planned / "formula.toml", "--schools", SCHOOLS, "-o", tmp_path / "gains.csv")
    assert result.exit_code == 0, result.output
    assert "(B - A $10,733,827.00)" in result.output
    assert "no school loses money under B" in result.output
    gains = rows(tmp_path / "gains.csv")
    assert len(gains) == 102
    assert all(Decimal(r["change"]) > 0 for r in gains)
    assert sum(Decimal(r["change"]) for r in gains) == Decimal("10733827")  # every dollar raised reaches a school

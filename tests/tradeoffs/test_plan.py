"""A design team's plan over the small test catalog and ledger: savings at the plan's estimate or
their own, the team's own figure with its reason, one-time and recurring items over the plan's
years with their start years, investments tagged to LCAP goals and actions, and the net against
the target in plan.csv, to the cent, and on the page."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).parent

PLAN = '''
[plan]
id = "test-plan"
title = "Coaches from energy and food service"
target = 2_000
years = 3
estimate = "low"

[[saving]]
opportunity = 1          # energy: 10% to 30% of $20,000.00 (object 5500, fund 01)
estimate = "high"

[[saving]]
opportunity = 2          # food services: the General Fund's $7,500.00 to Fund 13
start = 2

[[saving]]
opportunity = 3          # not sized by the catalog: the team's own figure, with its reason
amount = 1_234.56
note = "route consolidation the transportation office priced"
timing = "one_time"
start = 3

[[investment]]
investment = "coaches"   # 1% of the budget, $800,000.35: $8,000.00 (half a cent rounds up)
lcap_goal = "2"
lcap_action = "2.4"
state_priorities = [2, 4]

[[investment]]
title = "Family <b>liaison</b> stipends"
amount = 500
timing = "one_time"
start = 2
note = "one summer"
lcap_goal = "3"
'''


def test_a_plan_nets_savings_and_investments_year_by_year(run, tmp_path: Path) -> None:
    (tmp_path / "plan.toml").write_text(PLAN, encoding="utf-8")
    out = tmp_path / "out"
    result = run("tradeoffs", HERE / "catalog.toml", "--ledger", HERE / "ledgers" / "clean.csv", "--plan", tmp_path / "plan.toml", "-o", out)
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader((out / "plan.csv").open(encoding="utf-8")))
    by = {(r["row"], r["id"] or r["title"]): r for r in table}
    years = ("year_1", "year_2", "year_3")

    def amounts(key: tuple[str, str]) -> list[Decimal]:
        return [Decimal(by[key][y]) for y in years]

    assert amounts(("saving", "1")) == [Decimal("6000.00")] * 3  # the high end: 30% of $20,000.00
    assert amounts(("saving", "2")) == [Decimal("0.00"), Decimal("7500.00"), Decimal("7500.00")]
    assert amounts(("saving", "3")) == [Decimal("0.00"), Decimal("0.00"), Decimal("1234.56")]
    assert by[("saving", "3")]["basis"] == "the team's figure: route consolidation the transportation office priced"
    assert amounts(("investment", "coaches")) == [Decimal("-8000.00")] * 3
    coaches = by[("investment", "coaches")]
    assert (coaches["lcap_goal"], coaches["lcap_action"], coaches["state_priorities"]) == ("2", "2.4", "2 4")
    liaison = by[("investment", "Family <b>liaison</b> stipends")]
    assert [Decimal(liaison[y]) for y in years] == [Decimal("0.00"), Decimal("-500.00"), Decimal("0.00")]
    net = amounts(("net", "net savings (savings - investments)"))
    assert net == [Decimal("-2000.00"), Decimal("5000.00"), Decimal("6734.56")]
    assert [Decimal(r) for r in (by[("target", "target: net savings a year the plan must reach")][y] for y in years)] == [Decimal("2000.00")] * 3
    assert amounts(("difference", "net - target (negative: short of the target)")) == [n - 2000 for n in net]
    assert "net year 1 -$2,000.00, year 2 $5,000.00, year 3 $6,734.56 against a target of $2,000.00 a year" in result.output

    html = (out / "tradeoffs.html").read_text(encoding="utf-8")
    assert "LCAP goal 2 · action 2.4 · state priorities 2 4" in html
    assert "Family &lt;b&gt;liaison&lt;/b&gt; stipends" in html and "<b>liaison" not in html
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)[1])
    assert (data["target"], data["years"], data["estimate"]) == (200_000, 3, "low")
    assert data["cards"]["s1"]["low"] == data["cards"]["s1"]["high"] == 600_000  # the plan's own estimate for it, as plan.csv counts it
    assert data["cards"]["s3"] == {"area": "struggling_students", "side": "saving", "low": 123_456, "high": 123_456, "timing": "one_time", "start": 3}
    ticked = re.findall(r'<input type="checkbox" data-card="(\w+)"[^>]* checked>', html)
    assert sorted(ticked) == ["i1", "i2", "s1", "s2", "s3"]  # the plan's choices start ticked
    for year, expected in zip((1, 2, 3), net):  # the page's arithmetic over its own data gives plan.csv's net
        total = 0
        for card in (data["cards"][t] for t in ticked):
            if (year >= card["start"]) if card["timing"] == "recurring" else (year == card["start"]):
                total += card["low"] if card["side"] == "saving" else -card["low"]
        assert Decimal(total) / 100 == expected, year

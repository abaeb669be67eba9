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
from wsf.equity import analyse
from wsf.equity_report import write_report
from wsf.packets import write_packets
from wsf.spending import read_current


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

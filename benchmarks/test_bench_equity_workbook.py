"""Equity and the finance workbook at state scale (issue 19), each beside what a user would reach for.

The district is the one the packet benchmarks grow (`WSF_BENCH_SCHOOLS` schools, default 10,000:
the example district's 48 schools repeated and scaled, current spending the formula's total times a
seeded factor). Targets: equity for 10,000 schools in <= 1 s of work and <= 300 MB (no n x n
structure anywhere); the workbook for 10,000 schools in <= 2 s.

- equity: `analyse` + `write_report` (tables, charts, summary) in process; `wsf equity` as a
  whole process with its peak RSS; beside it, the n x n matrix the summary's "same poverty,
  different spending" sentence used to build (5.6 s and 1.8 GB at 10,000 schools), up to 10,000.
- workbook: `write_workbook` (allocations, formula, equity and inputs sheets, formatted) beside
  pandas' `DataFrame.to_excel` of the allocation table alone (no formats, one sheet).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_bench_packets import SCHOOLS, District, build_district

from wsf.equity.analysis import analyse
from wsf.equity.report import write_report
from wsf.equity.summary import SAME_POVERTY
from wsf.render.workbook import write_workbook

EQUITY = "equity: 10,000 schools"
WORKBOOK = "workbook: 10,000 schools"
ROUNDS = 3
MATRIX_UP_TO = 10_000  # the n x n anchor: 100 million cells at 10,000 schools, 1.8 GB


def args(district: District) -> list[str]:
    folder = district.folder
    return [str(folder / "formula.toml"), "--schools", str(folder / "schools.csv"), "--current", str(folder / "current.csv")]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> District:
    return build_district(tmp_path_factory.mktemp("scale"))


def describe(benchmark, group: str, contender: str, **info) -> None:
    benchmark.group = group
    benchmark.extra_info.update(contender=contender, schools=SCHOOLS, **info)


def test_equity_in_process(benchmark, files: District, tmp_path: Path) -> None:
    describe(benchmark, EQUITY, "wsf: analyse + write_report")
    out = tmp_path / "equity"

    def run():
        shutil.rmtree(out, ignore_errors=True)
        write_report(analyse(files.allocation, files.spending), out)

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    assert (out / "summary.html").is_file() and len(pl.read_csv(out / "schools.csv")) == SCHOOLS


def test_equity_whole_process(benchmark, files: District, measure, tmp_path: Path) -> None:
    describe(benchmark, EQUITY, "wsf equity (whole process)")
    out = tmp_path / "equity"
    peaks: list[float] = []

    def run():
        shutil.rmtree(out, ignore_errors=True)
        _, peak = measure([sys.executable, "-m", "wsf", "equity", *args(files), "-o", str(out)])
        peaks.append(peak)

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    benchmark.extra_info["peak_mb"] = round(max(peaks), 1)
    assert (out / "summary.html").is_file()


@pytest.mark.skipif(SCHOOLS > MATRIX_UP_TO, reason="the n x n anchor needs n^2 cells")
def test_equity_pair_by_matrix(benchmark, files: District) -> None:
    """The anchor: the one sentence's pair as an n x n matrix, as the summary computed it before."""
    describe(benchmark, EQUITY, "n x n matrix for the same-poverty pair (before)")
    equity = analyse(files.allocation, files.spending)
    table = equity.analysed.join(equity.allocation.inputs.select("school_id", "level"), on="school_id", how="left")
    share, spend = table["poverty_share"].to_numpy(), table["current_per_pupil"].to_numpy()
    level = table["level"].fill_null("").to_numpy()

    def run():
        close = (np.abs(share[:, None] - share[None, :]) <= SAME_POVERTY) & (level[:, None] == level[None, :])
        spread = np.where(close, spend[:, None] - spend[None, :], -1)
        return np.unravel_index(np.argmax(spread), spread.shape)

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["cells"] = SCHOOLS**2


def test_workbook(benchmark, files: District, tmp_path: Path) -> None:
    describe(benchmark, WORKBOOK, "wsf: write_workbook (the live model: every sheet, formulas, charts)")
    equity = analyse(files.allocation, files.spending)
    target = tmp_path / "book.xlsx"

    def run():
        target.unlink(missing_ok=True)
        write_workbook(files.allocation, target, spending=files.spending, equity=equity)

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    assert target.stat().st_size > 0


def test_workbook_pandas(benchmark, files: District, tmp_path: Path) -> None:
    """The anchor: pandas writing the allocation table alone, values only."""
    describe(benchmark, WORKBOOK, "pandas: DataFrame.to_excel of the allocation table (xlsxwriter)")
    frame = files.allocation.cents.to_pandas()
    target = tmp_path / "pandas.xlsx"

    def run():
        target.unlink(missing_ok=True)
        frame.to_excel(target, index=False, engine="xlsxwriter")

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    assert target.stat().st_size > 0

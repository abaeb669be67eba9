"""Roster -> allocation: wsf beside the alternatives a user would pick, in the same run.

Two groups, each printed together by pytest-benchmark:

- in process: `wsf.api.allocate_files` vs the Parquet read floor, hand-written DuckDB SQL,
  pandas and hand-written Polars (benchmarks/anchors.py), each called in this process;
- whole process: the same contenders as fresh processes, plus `wsf allocate --students ...
  -o out.parquet` (the CLI end to end). Each records the process's peak RSS as
  `extra_info["peak_mb"]` (MB = 10^6 bytes) beside its wall time, interpreter start included.

Every contender's per-school totals are checked against DuckDB's after it runs (and DuckDB's
against wsf's, to the cent, in test_anchors_agree.py), so nothing here is fast by being wrong.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from anchors import CONTENDERS, duckdb

IN_PROCESS = "roster -> allocation, in process"
WHOLE_PROCESS = "roster -> allocation, whole process"
PROCESS_ROUNDS = 5  # a whole process varies by a third run to run on this shared machine: the median of five
ANCHORS = Path(__file__).resolve().parent / "anchors.py"


@pytest.fixture(scope="session")
def expected(roster) -> pl.DataFrame:
    """Per-school totals in cents (DuckDB's, which agree with wsf's: test_anchors_agree.py)."""
    return duckdb(roster.formula, roster.students, roster.schools)


def describe(benchmark, roster, contender: str) -> None:
    benchmark.extra_info.update(contender=contender, pupils=roster.pupils, schools=roster.schools_n)


@pytest.mark.parametrize("contender", list(CONTENDERS))
def test_in_process(benchmark, roster, expected: pl.DataFrame, contender: str) -> None:
    benchmark.group = IN_PROCESS
    describe(benchmark, roster, contender)
    result = benchmark(CONTENDERS[contender], roster.formula, roster.students, roster.schools)
    if contender == "floor":
        assert result.height == roster.pupils
    else:
        assert result.equals(expected)


def command(contender: str, roster, output: Path) -> list[str]:
    if contender == "wsf-cli":
        return [
            str(Path(sys.executable).parent / "wsf"), "allocate", str(roster.formula),
            "--students", str(roster.students), "--schools", str(roster.schools), "-o", str(output),
        ]  # fmt: skip
    return [sys.executable, str(ANCHORS), contender, str(roster.formula), str(roster.students), str(roster.schools)]


@pytest.mark.parametrize("contender", ["wsf-cli", *CONTENDERS])
def test_whole_process(benchmark, roster, measure, expected: pl.DataFrame, tmp_path: Path, contender: str) -> None:
    benchmark.group = WHOLE_PROCESS
    describe(benchmark, roster, contender)
    output = tmp_path / "allocations.parquet"
    peaks: list[float] = []

    def run() -> None:
        peaks.append(measure(command(contender, roster, output))[1])

    benchmark.pedantic(run, rounds=PROCESS_ROUNDS, iterations=1)
    benchmark.extra_info["peak_mb"] = round(max(peaks), 1)
    if contender == "wsf-cli":
        written = pl.read_parquet(output).select("school_id", (pl.col("total") * 100).cast(pl.Int64).alias("total_cents"))
        assert written.equals(expected)


def test_imports_alone(benchmark, roster, measure) -> None:
    """The interpreter start and `import wsf.cli` alone, with no roster read: the part of
    `wsf allocate`'s whole-process time that is not the roster's (the report's why)."""
    benchmark.group = WHOLE_PROCESS
    describe(benchmark, roster, "imports")
    peaks: list[float] = []
    benchmark.pedantic(lambda: peaks.append(measure([sys.executable, "-c", "import wsf.cli"])[1]), rounds=PROCESS_ROUNDS, iterations=1)
    benchmark.extra_info["peak_mb"] = round(max(peaks), 1)

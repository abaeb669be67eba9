"""Benchmarks of issue 6: a seeded statewide roster, generated once per session.

Scale: `WSF_BENCH_PUPILS` pupils (default 6,000,000) in `pupils / 600` schools. CI runs a small
version with no timing:

    WSF_BENCH_PUPILS=60000 .venv/bin/python -m pytest benchmarks --benchmark-disable -q

The generator is vectorised NumPy (no Python loop per pupil or per school; loops run over the
five school levels only) and seeded, so a scale always gives the same bytes. It writes:

- `students.parquet`: `student_id` (text, unique), `school_id` (text), `grade` (text: TK, K,
  1 .. 12), and the need flags `frl`, `el`, `foster`, `sped_moderate`, `sped_intensive` as
  Parquet booleans; one row per pupil, sorted by school and grade as a state extract is.
- `schools.csv`: `school_id,name,level`, one row per school.

Schools have realistic sizes (lognormal per level: elementary ~450, K-8 ~550, middle ~800,
high ~1,500, and tiny alternative schools) and grade shapes (elementary TK/K-5, K-8 TK-8, middle
6-8, high 9-12, alternative 6-12). Poverty varies by school (Beta around 55%); English
learners are more common in poorer schools, among poor pupils, and in the early grades;
foster youth are rare and tilted to poverty; special education is about 10% moderate and 2%
intensive.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

HERE = Path(__file__).resolve().parent
FORMULA = HERE / "statewide.toml"
PUPILS = int(os.environ.get("WSF_BENCH_PUPILS", "6000000"))
PUPILS_PER_SCHOOL = 600
SMALL = 60_000  # the scale the anchors are checked at, to the cent (test_anchors_agree.py)
SEED = 20_260_601

GRADES = ("TK", "K", *(str(g) for g in range(1, 13)))
FLAGS = ("frl", "el", "foster", "sped_moderate", "sped_intensive")

# level: share of schools, median size, lognormal sigma, {grade: relative size of the grade}
LEVELS: dict[str, tuple[float, float, float, dict[str, float]]] = {
    "elementary": (0.56, 430, 0.35, {"TK": 0.45, "K": 1.0, "1": 1.0, "2": 1.0, "3": 1.0, "4": 1.0, "5": 1.0}),
    "k8": (0.07, 520, 0.40, {"TK": 0.45, "K": 1.0, **{str(g): 1.0 for g in range(1, 9)}}),
    "middle": (0.14, 780, 0.35, {"6": 1.0, "7": 1.0, "8": 1.0}),
    "high": (0.15, 1400, 0.45, {"9": 1.08, "10": 1.02, "11": 0.97, "12": 0.93}),
    "alternative": (0.08, 45, 0.90, {str(g): (0.3 if g < 9 else 1.0 + 0.3 * (g - 9)) for g in range(6, 13)}),
}
EL_BY_GRADE = np.array([1.5, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9, 0.85, 0.8, 0.7, 0.65, 0.6, 0.6])  # TK .. 12


def school_count(pupils: int) -> int:
    return max(1, pupils // PUPILS_PER_SCHOOL)


def generate(pupils: int, seed: int = SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A statewide roster and its school table: (students, schools)."""
    rng = np.random.default_rng(seed)
    n_schools = school_count(pupils)
    names = list(LEVELS)
    shares = np.array([LEVELS[k][0] for k in names])
    level = rng.choice(len(names), size=n_schools, p=shares / shares.sum())

    # School sizes: lognormal per level, scaled so they sum to exactly `pupils` (at least 1 each).
    median = np.array([LEVELS[k][1] for k in names])[level]
    sigma = np.array([LEVELS[k][2] for k in names])[level]
    raw = np.maximum(rng.lognormal(np.log(median), sigma), 8.0)
    exact = raw * (pupils - n_schools) / raw.sum()
    sizes = np.floor(exact).astype(np.int64)
    short = pupils - n_schools - int(sizes.sum())
    sizes[np.argsort(-(exact - sizes), kind="stable")[:short]] += 1
    sizes += 1

    poverty = rng.beta(2.2, 1.8, n_schools)  # share of pupils from low-income families
    el_share = np.clip(0.03 + 0.30 * poverty**1.3 * rng.lognormal(0.0, 0.35, n_schools), 0.0, 0.7)

    school_of = np.repeat(np.arange(n_schools), sizes)
    grade = np.empty(pupils, dtype=np.uint8)
    pupil_level = level[school_of]
    for i, name in enumerate(names):
        shape = LEVELS[name][3]
        weights = np.array([shape.get(g, 0.0) for g in GRADES])
        mask = pupil_level == i
        grade[mask] = rng.choice(len(GRADES), size=int(mask.sum()), p=weights / weights.sum())
    order = np.lexsort((grade, school_of))  # a state extract: by school, then grade
    school_of, grade = school_of[order], grade[order]

    p = poverty[school_of]
    frl = rng.random(pupils) < p
    el_p = el_share[school_of] * np.where(frl, 1.45, 0.45) * EL_BY_GRADE[grade]
    el = rng.random(pupils) < np.minimum(el_p, 0.95)
    foster = rng.random(pupils) < np.where(frl, 0.004 + 0.01 * p, 0.001)
    sped = rng.random(pupils)
    sped_intensive = sped < 0.02
    sped_moderate = (sped >= 0.02) & (sped < 0.11 + 0.03 * p)

    # Ten-digit statewide ids, unique (7 * a permutation + an offset below 7), in no order.
    student_id = 1_000_000_000 + 7 * rng.permutation(pupils).astype(np.int64) + rng.integers(0, 7, pupils)
    county = rng.integers(1, 59, n_schools)
    district = rng.integers(10_000, 80_000, n_schools)
    schools = pl.DataFrame(
        {"county": county, "district": district, "n": np.arange(n_schools) + 100_000, "level": np.array(names)[level]}
    ).select(
        pl.format(
            "{}{}{}",
            pl.col("county").cast(pl.String).str.zfill(2),
            pl.col("district").cast(pl.String),
            pl.col("n").cast(pl.String).str.zfill(7),
        ).alias("school_id"),
        pl.format("{} School {}", pl.col("level").str.to_titlecase(), pl.col("n") - 99_999).alias("name"),
        "level",
    )
    students = pl.DataFrame(
        {
            "student_id": pl.Series(student_id).cast(pl.String),
            "school_id": schools["school_id"].gather(school_of),
            "grade": pl.Series(GRADES).gather(grade),
            "frl": frl,
            "el": el,
            "foster": foster,
            "sped_moderate": sped_moderate,
            "sped_intensive": sped_intensive,
        }
    )
    return students, schools


@dataclass(frozen=True)
class Roster:
    pupils: int
    schools_n: int
    students: Path
    schools: Path
    formula: Path = FORMULA


def write_roster(folder: Path, pupils: int) -> Roster:
    folder.mkdir(parents=True, exist_ok=True)
    students, schools = generate(pupils)
    roster = Roster(pupils, schools.height, folder / "students.parquet", folder / "schools.csv")
    students.write_parquet(roster.students)
    schools.write_csv(roster.schools)
    return roster


@pytest.fixture(scope="session")
def roster(tmp_path_factory: pytest.TempPathFactory) -> Roster:
    """The benchmark roster at `WSF_BENCH_PUPILS` scale."""
    return write_roster(tmp_path_factory.mktemp("roster"), PUPILS)


@pytest.fixture(scope="session")
def small_roster(roster: Roster, tmp_path_factory: pytest.TempPathFactory) -> Roster:
    """The roster at the small scale, where anchors must agree with wsf to the cent."""
    return roster if roster.pupils == SMALL else write_roster(tmp_path_factory.mktemp("small"), SMALL)


# -- running a contender as its own process ---------------------------------------------


# A small process between the benchmark and the command. Linux starts a child's peak RSS at its
# parent's peak when it forks (the copied page tables count as resident; exec keeps the maximum),
# so a command started straight from this large pytest process would report at least this
# process's peak. Started from this ~10 MB wrapper instead, it reports its own. The wrapper
# costs about 20 ms of interpreter start, which the whole-process times include.
MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stdout.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_measured(command: list[str]) -> tuple[float, float]:
    """Run a command to completion; returns (wall seconds, peak RSS of the command in MB).

    `os.wait4` gives the resource usage of exactly that child, not the maximum over every child
    (as `RUSAGE_CHILDREN` would). Linux reports ru_maxrss in KiB; MB here are 10^6 bytes.
    """
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-I", "-S", "-c", MEASURE, *command], capture_output=True, check=False)
    seconds = time.perf_counter() - start
    code, _, kib = done.stdout.decode().partition(" ")
    if done.returncode != 0 or code != "0":
        raise AssertionError(f"{' '.join(command)} exited {code or done.returncode}:\n{done.stderr.decode(errors='replace')}")
    return seconds, int(kib) * 1024 / 1e6


@pytest.fixture(scope="session")
def measure():
    """`run_measured`, for the process benchmarks: command -> (seconds, peak MB)."""
    return run_measured


# -- machine description, saved in the pytest-benchmark JSON ------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


LOAD_AT_START = os.getloadavg()[0]  # another busy process skews every timing: the table says so


def pytest_benchmark_update_machine_info(config, machine_info):
    """pytest-benchmark hook: what the results were measured on, saved in the JSON."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("wsf", "polars", "duckdb", "pandas", "pyarrow", "numpy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    machine_info["wsf_bench"] = {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "versions": versions,
        "pupils": PUPILS,
        "schools": school_count(PUPILS),
        "max_rss_of_this_process_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
        "load_average": {"start": LOAD_AT_START, "end": os.getloadavg()[0]},
    }

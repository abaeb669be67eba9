"""Current spending per school, from per-school totals or from a staff roster.

Two shapes come in:

- totals: `school_id, current` (dollars with cents), optionally `restricted` and
  `unrestricted`, which must then add up to `current` to the cent;
- a staff roster: `school_id, position, fte, salary, benefits`, where `salary` and
  `benefits` are the annual full-time (1.0 FTE) rates of the person in that line, plus
  optional non-personnel dollars per school (`school_id, non_personnel`).

From a roster, each line costs fte x (salary + benefits), rounded half up to the cent. A
school's current spending is its staff at these actual costs plus its non-personnel dollars.
The same staff charged at the district's average cost of each position (the FTE-weighted
average of salary + benefits over every line of that position) gives the view of a district
that budgets at average salaries. The charges of a position are apportioned to the cent by
largest remainder, so they add up to exactly what the position costs; the per-school
differences (`salary_shift` = actual - at average) therefore sum to zero to the cent. A
positive shift means the school's staff cost more than it is charged: average-salary
budgeting moves that many dollars to it from the other schools.

Everything here is money as integer cents (Int64); `frame` has one row per school.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from wsf.data.schools import Checks, check_ids, parse_numbers, require_columns
from wsf.data.tables import Mapping, Table, read_table

MAX_FTE = 1000.0  # per roster line; more is a wrong column
SUBCENT = r"^\s*-?[\d,]*\.\d{3,}\s*$"  # an amount written with fractions of a cent
TOTALS = "totals"
ROSTER = "roster"
STAFFLESS = "staffless"  # a school in the non-personnel file with no staff in the roster
UNLISTED = "unlisted"  # a school with staff but no row in the non-personnel file (taken as $0)


@dataclass(frozen=True)
class Note:
    """Something a reader of the equity summary should know about the spending files, as facts
    (which schools, which files) rather than a sentence: the summary says it in its own language.
    `kind` is `STAFFLESS` or `UNLISTED`."""

    kind: str
    schools: tuple[str, ...]  # school_ids, sorted
    file: str  # the non-personnel file's name
    roster: str  # the staff roster's name


@dataclass(frozen=True)
class Spending:
    """Current spending per school (money in integer cents) and where it came from.

    `frame` columns: school_id, current, and the detail columns of its kind: for totals
    `restricted`, `unrestricted` when given; for a roster `personnel`,
    `personnel_at_average`, `non_personnel`, `current_at_average`, `salary_shift`.
    `positions` (roster only): position, fte, cost, average (cost per FTE).
    """

    kind: str
    frame: pl.DataFrame
    sources: tuple[Table, ...]
    positions: pl.DataFrame | None = None
    notes: tuple[Note, ...] = field(default=())

    @property
    def detail_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in ("school_id", "current")]

    @property
    def path(self) -> Path:
        return self.sources[0].path


def read_current(path: str | Path, mapping: Mapping | None = None) -> Spending:
    """Per-school totals: school_id, current (optional restricted and unrestricted)."""
    table = read_table(path, mapping)
    checks = Checks(table)
    require_columns(checks, table.frame, ["school_id", "current"])
    checks.done()
    frame = check_ids(checks, table.frame, "school_id")
    parts = [c for c in ("restricted", "unrestricted") if c in frame.columns]
    if len(parts) == 1:
        other = "unrestricted" if parts[0] == "restricted" else "restricted"
        checks.add(
            f"has a {parts[0]} column but no {other} column",
            other,
            fix="give both restricted and unrestricted (they add up to current), or neither",
        )
        checks.done()
    frame = cents(checks, frame, ["current", *parts])
    checks.done()
    if parts:
        checks.rows(
            frame,
            pl.col("restricted") + pl.col("unrestricted") != pl.col("current"),
            "current",
            "where current is not restricted + unrestricted",
            "current is the school's whole spending: restricted + unrestricted, to the cent",
            show=pl.format("{} vs {}", pl.col("current") / 100, (pl.col("restricted") + pl.col("unrestricted")) / 100),
        )
        checks.done()
    return Spending(TOTALS, frame.select("school_id", "current", *parts).sort("school_id"), (table,))


def read_roster(path: str | Path, non_personnel: str | Path | None = None, mapping: Mapping | None = None) -> Spending:
    """A staff roster (and non-personnel dollars): spending at actual and at average salaries."""
    table = read_table(path, mapping)
    checks = Checks(table)
    require_columns(checks, table.frame, ["school_id", "position", "fte", "salary", "benefits"])
    checks.done()
    frame = table.frame.with_columns(pl.col("school_id", "position").str.strip_chars())
    for column in ("school_id", "position"):
        checks.rows(
            frame,
            pl.col(column).is_null() | (pl.col(column) == ""),
            column,
            f"with no {column}",
            f"give every staff line a {column}",
        )
    frame = _fte(checks, frame)
    frame = cents(checks, frame, ["salary", "benefits"])
    checks.done()
    lines = frame.select(
        "school_id",
        "position",
        "fte",
        ((pl.col("fte") * (pl.col("salary") + pl.col("benefits"))).round(6) + 0.5).floor().cast(pl.Int64).alias("cost"),
    )
    charged = _at_average(lines)
    per_school = charged.group_by("school_id").agg(
        pl.col("cost").sum().alias("personnel"), pl.col("charge").sum().alias("personnel_at_average")
    )
    sources: tuple[Table, ...] = (table,)
    notes: list[str] = []
    if non_personnel is None:
        per_school = per_school.with_columns(pl.lit(0, pl.Int64).alias("non_personnel"))
    else:
        other, other_table = read_non_personnel(non_personnel, mapping)
        sources += (other_table,)
        staffless = other.join(per_school, on="school_id", how="anti")["school_id"].to_list()
        unlisted = per_school.join(other, on="school_id", how="anti")["school_id"].sort().to_list()
        if staffless:
            notes.append(Note(STAFFLESS, tuple(sorted(staffless)), other_table.path.name, table.path.name))
        if unlisted:
            notes.append(Note(UNLISTED, tuple(unlisted), other_table.path.name, table.path.name))
        per_school = per_school.join(other, on="school_id", how="full", coalesce=True).with_columns(
            pl.col("personnel", "personnel_at_average", "non_personnel").fill_null(0)
        )
    result = per_school.with_columns(
        (pl.col("personnel") + pl.col("non_personnel")).alias("current"),
        (pl.col("personnel_at_average") + pl.col("non_personnel")).alias("current_at_average"),
        (pl.col("personnel") - pl.col("personnel_at_average")).alias("salary_shift"),
    ).select("school_id", "current", "personnel", "personnel_at_average", "non_personnel", "current_at_average", "salary_shift")
    positions = (
        lines.group_by("position")
        .agg(pl.col("fte").sum().round(4), pl.col("cost").sum())
        .with_columns(
            pl.when(pl.col("fte") > 0)
            .then((pl.col("cost") / pl.col("fte") + 0.5).floor().cast(pl.Int64))
            .otherwise(None)
            .alias("average")
        )
        .sort("position")
    )
    return Spending(ROSTER, result.sort("school_id"), sources, positions, tuple(notes))


def read_non_personnel(path: str | Path, mapping: Mapping | None = None) -> tuple[pl.DataFrame, Table]:
    table = read_table(path, mapping)
    checks = Checks(table)
    require_columns(checks, table.frame, ["school_id", "non_personnel"])
    checks.done()
    frame = check_ids(checks, table.frame, "school_id")
    frame = cents(checks, frame, ["non_personnel"])
    checks.done()
    return frame.select("school_id", "non_personnel"), table


def _at_average(lines: pl.DataFrame) -> pl.DataFrame:
    """Per school and position: actual cost and the charge at the position's average cost.

    A school's charge is its share of the position's FTE times the position's whole cost,
    apportioned by largest remainder (ties to the lower school_id), so the charges of each
    position sum exactly to its cost.
    """
    grouped = lines.group_by("school_id", "position").agg(pl.col("fte").sum(), pl.col("cost").sum())
    share = (
        grouped.with_columns(
            pl.col("fte").sum().over("position").alias("_fte_p"),
            pl.col("cost").sum().over("position").alias("_cost_p"),
        )
        .with_columns(
            pl.when(pl.col("_fte_p") > 0)
            .then(pl.col("fte") * pl.col("_cost_p").cast(pl.Float64) / pl.col("_fte_p"))
            .otherwise(0.0)
            .round(6)
            .alias("_exact")
        )
        .with_columns(pl.col("_exact").floor().cast(pl.Int64).alias("_floor"))
        .with_columns(
            (pl.col("_exact") - pl.col("_floor")).alias("_remainder"),
            (pl.col("_cost_p") - pl.col("_floor").sum().over("position")).alias("_short"),
        )
        .sort(["position", "_remainder", "school_id"], descending=[False, True, False])
        .with_columns(pl.int_range(pl.len()).over("position").alias("_order"))
    )
    bad = share.filter((pl.col("_short") < 0) | (pl.col("_short") > pl.len().over("position")))
    if bad.height:
        raise AssertionError(f"average-salary apportionment cannot reach the cost of {bad['position'][0]}")
    return share.with_columns((pl.col("_floor") + (pl.col("_order") < pl.col("_short")).cast(pl.Int64)).alias("charge")).select(
        "school_id", "position", "fte", "cost", "charge"
    )


# -- rules -----------------------------------------------------------------------------


def cents(checks: Checks, frame: pl.DataFrame, columns: list[str], kind: str = "dollars") -> pl.DataFrame:
    """Dollars with cents (text) -> integer cents; fractions of a cent are an error (and, unless
    `kind` is "signed_dollars", a negative amount)."""
    for column in columns:
        checks.rows(
            frame,
            pl.col(column).cast(pl.String).str.contains(SUBCENT),
            column,
            "with fractions of a cent",
            "amounts are dollars with at most two decimals, e.g. 1234.56",
        )
    frame = parse_numbers(checks, frame, columns, kind)
    checks.done()  # NaN, text and blanks are refused here, before they meet an integer cast
    return frame.with_columns(*[(pl.col(c) * 100).round(0).cast(pl.Int64) for c in columns])


def _fte(checks: Checks, frame: pl.DataFrame) -> pl.DataFrame:
    value = pl.col("_fte")
    frame = frame.with_columns(pl.col("fte").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False).alias("_fte"))
    fix = "write the line's full-time equivalent as a number, e.g. 1.0 or 0.5"
    checks.rows(frame, value.is_null(), "fte", "that are not numbers", fix, one="that is not a number")
    checks.rows(frame, value < 0, "fte", "with a negative FTE", fix)
    checks.rows(
        frame,
        ~value.is_finite() | (value > MAX_FTE),
        "fte",
        "with an absurd FTE",
        f"{fix}; more than {MAX_FTE:g} on one line is a wrong column",
    )
    return frame.drop("fte").rename({"_fte": "fte"})


__all__ = ["ROSTER", "STAFFLESS", "TOTALS", "UNLISTED", "Note", "Spending", "read_current", "read_roster"]

"""Enrollment growth for a glide path, per school and per year: a projection's file, read strictly.

One row per school: `school_id` and either `growth` (the same share every year) or `growth_2`,
`growth_3`, ... (the share pupils grow from the year before into year 2, 3, ...; a year with no
column grows by 0). A share is written as a fraction or with a percent sign (0.02 and 2% are the
same); a growth of 50% or more a year, either way, is refused as a likely percentage typed as a
whole number (2 for 2%). Every school of the school data must have its row, and no other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from wsf.data.schools import Checks, check_ids, require_columns
from wsf.data.tables import read_table
from wsf.errors import WsfError

MOST = 0.5  # a year's growth (or decline) of half the pupils or more is a typing slip, not a projection
YEAR = re.compile(r"growth_(\d+)")


@dataclass(frozen=True)
class Growth:
    """How pupils grow over a glide: one share for every school and year, or a file's, per school
    (`growth`: every year) or per school and year (`growth_2`, `growth_3`, ...)."""

    share: float = 0.0
    frame: pl.DataFrame | None = None  # school_id and growth, or growth_2 .. growth_N (shares)
    source: Path | None = None
    sha256: str | None = None  # the file's, recorded in the output's meta.json

    def factor(self, school_ids: pl.Series, year: int) -> pl.Series:
        """Each school's pupils in `year` as a multiple of year 1's: the product of its growths."""
        if self.frame is None:
            return pl.Series([(1 + self.share) ** (year - 1)] * len(school_ids), dtype=pl.Float64)
        joined = pl.DataFrame({"school_id": school_ids}).join(self.frame, on="school_id", how="left", maintain_order="left")
        if "growth" in joined.columns:
            return (1 + joined["growth"]) ** (year - 1)
        factor = pl.Series([1.0] * len(school_ids), dtype=pl.Float64)
        for y in range(2, year + 1):
            if f"growth_{y}" in joined.columns:
                factor = factor * (1 + joined[f"growth_{y}"])
        return factor

    def describe(self) -> str:
        return f"pupils by school as {self.source.name} projects" if self.source else f"pupils {self.share:+.1%} a year"

    def meta(self) -> dict:
        return {"file": self.source.name, "sha256": self.sha256} if self.source else {"share": self.share}


def uniform(share: float) -> Growth | None:
    """`--enrollment-growth SHARE`: every school's pupils grow by `share` a year (None for 0)."""
    if share <= -1:
        raise WsfError(f"an enrollment growth of {share:g} leaves no pupils", key="--enrollment-growth",
                       fix="e.g. 0.02 for 2% more pupils a year, -0.01 for 1% fewer")
    if abs(share) >= MOST:
        raise WsfError(f"an enrollment growth of {share:g} a year is {share:.0%}", key="--enrollment-growth",
                       fix=f"a share is a fraction: 2% is 0.02; did you mean {share / 100:g}? (a file of growth per school works too)")
    return Growth(share) if share else None


def read_growth(path: str | Path, school_ids: list[str]) -> Growth:
    """The per-school projection file, every rule checked, every failure named by row and column."""
    table = read_table(path)
    checks = Checks(table)
    frame = table.frame
    years = sorted((int(m.group(1)), c) for c in frame.columns if (m := YEAR.fullmatch(c)))
    columns = ["growth"] if "growth" in frame.columns else [c for _, c in years]
    require_columns(checks, frame, ["school_id"])
    if not columns:
        checks.add("the file has no growth column", fix="add a column growth (every year) or growth_2, growth_3, ... (into each year)")
    if "growth" in frame.columns and years:
        checks.add("the file has both growth and growth_N columns", "growth", fix="give one: growth for every year, or growth_2, growth_3, ...")
    if any(y < 2 for y, _ in years):
        checks.add("growth_1 would grow this year's own data", fix="start at growth_2, the growth into the second year")
    checks.done()
    frame = check_ids(checks, frame, "school_id")
    for column in columns:
        text = pl.col(column).cast(pl.String).str.strip_chars()
        percent = text.str.ends_with("%")
        number = pl.when(percent).then(text.str.strip_suffix("%").str.strip_chars()).otherwise(text).cast(pl.Float64, strict=False)
        frame = frame.with_columns(pl.when(percent).then(number / 100).otherwise(number).alias(f"_{column}"))
        value = pl.col(f"_{column}")
        checks.rows(frame, value.is_null(), column, "that are not numbers", "write a share such as 0.02 or 2% (no text, no blanks)",
                    one="that is not a number")
        checks.rows(frame, value.is_not_null() & (value.abs() >= MOST), column, f"with a growth of {MOST:.0%} or more a year",
                    "a share is a fraction: 2% is 0.02 (or write 2%)")
    known, given = set(school_ids), set(frame["school_id"].drop_nulls().to_list())
    if missing := sorted(known - given):
        checks.add(f"{len(missing)} school{'s' if len(missing) > 1 else ''} of the school data {'have' if len(missing) > 1 else 'has'} no row "
                   f"({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''})", "school_id", fix="give every school its row (0 for no growth)")
    if unknown := sorted(given - known):
        checks.add(f"{len(unknown)} school{'s' if len(unknown) > 1 else ''} not in the school data ({', '.join(unknown[:5])})", "school_id",
                   fix="remove them or check the school_id")
    checks.done()
    out = frame.select("school_id", *[pl.col(f"_{c}").alias(c) for c in columns])
    return Growth(frame=out, source=table.path, sha256=table.sha256)

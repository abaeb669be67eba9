"""A plan against the one the school site council approved: what changed, and what needs a vote.

A council approves its School Plan for Student Achievement and must approve a material change
to it again. Lines are matched by what they are: a position by its funding line, key and goal;
an item by its funding line, object, description and goal. A change (added, removed, or a
different amount or FTE) is **material** when it moves more than the threshold: a share of its
funding line's allocation (`--material 0.10`, or `10%`: more than a tenth of the line), or
dollars (`--material 25000`, or `$25,000`). Money is integer cents.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import polars as pl

from wsf.data.tables import ROW
from wsf.errors import WsfError
from wsf.formula.types import MAX_MONEY
from wsf.plans.check import Lines, PlanCheck, usd
from wsf.plans.read import Plan

DEFAULT = "0.10"
FIX = "give a share of the funding line (0.10 or 10%: more than a tenth of it) or dollars (25000 or $25,000)"


@dataclass(frozen=True)
class Threshold:
    """When a change is material: it moves more than `share` of its funding line, or more than `cents`."""

    share: float | None = None
    cents: int | None = None

    def limit(self, allocated: int) -> int:
        """The most a change may move without a vote, in cents, for a line of `allocated` cents."""
        return self.cents if self.cents is not None else math.floor(self.share * allocated)

    def __str__(self) -> str:
        return f"{self.share * 100:g}% of the funding line" if self.share is not None else usd(self.cents)


def parse_material(text: str) -> Threshold:
    """`0.10` or `10%`: a share of the funding line; `25000` or `$25,000` (anything above 1): dollars."""
    written = text.strip()
    number = re.sub(r"^\$|,|%$", "", written.replace(" ", ""))
    try:
        value = float(number)
    except ValueError:
        raise WsfError(f"{text!r} is not a threshold", key="--material", fix=FIX) from None
    if not math.isfinite(value) or value <= 0:
        raise WsfError(f"{text!r} is not a threshold: it must be more than 0", key="--material", fix=FIX)
    if written.endswith("%"):
        value /= 100
    elif written.startswith("$") or value > 1:
        if value > MAX_MONEY or round(value, 2) != value:
            raise WsfError(f"{text!r} is not an amount in dollars and cents", key="--material", fix=FIX)
        return Threshold(cents=round(value * 100))
    if value > 1:
        raise WsfError(f"{text!r} is more than the whole line", key="--material", fix=FIX)
    return Threshold(share=value)


def approved_lines(check: PlanCheck, approved: Plan) -> pl.DataFrame:
    """The approved plan's lines costed as the formula costs them (it need not balance: the
    allocation may have changed since), or an error naming what it cannot resolve."""
    resolver = Lines(check.allocation, approved)
    lines = resolver.resolve()
    unknown = sorted(set(approved.lines["school_id"].to_list()) - set(check.names))
    problems = [f.text for f in resolver.failures] + [f"{s} is not in the school data" for s in unknown]
    if problems:
        raise WsfError("\n  ".join([f"the approved plan cannot be compared with this allocation ({len(problems)} problem"
                                    f"{'s' if len(problems) != 1 else ''}):", *problems]), file=approved.path, key="--approved",
                       fix="give the plan the council approved, for this formula and these schools")
    return lines


def changes(check: PlanCheck, approved: Plan, threshold: Threshold) -> pl.DataFrame:
    """Per school, every line that differs from the approved plan: school_id, key, position (null for
    an item), object, description, goal, approved_fte, fte (0 for an item), approved, planned,
    change, limit (cents) and material; schools in order, then by funding line, the largest change first."""
    before, now = _matched(approved_lines(check, approved)), _matched(check.lines)
    joined = before.join(now, on=list(IDENTITY), how="full", coalesce=True, nulls_equal=True, suffix="_now")
    allocated = check.balances.select("school_id", "key", "allocated")
    out = (joined.with_columns(pl.col("fte", "fte_now").fill_null(0.0), pl.col("amount", "amount_now").fill_null(0),
                               pl.coalesce("object_now", "object").alias("object"), pl.coalesce("description_now", "description").alias("description"),
                               pl.coalesce(f"{ROW}_now", ROW).alias(ROW))
           .filter((pl.col("amount") != pl.col("amount_now")) | ((pl.col("fte") - pl.col("fte_now")).abs() > 1e-9))
           .join(allocated, on=["school_id", "key"], how="left").with_columns(pl.col("allocated").fill_null(0)))
    out = out.with_columns(pl.Series("limit", [threshold.limit(a) for a in out["allocated"].to_list()], dtype=pl.Int64),
                           (pl.col("amount_now") - pl.col("amount")).alias("change"))
    order = {key: i for i, key in enumerate(check.allocation.formula.model.line_keys)}
    out = out.with_columns((pl.col("change").abs() > pl.col("limit")).alias("material"),
                           pl.col("key").replace_strict(order, return_dtype=pl.Int64).alias("_order"), pl.col("change").abs().alias("_size"))
    return (out.sort(["school_id", "_order", "_size", ROW], descending=[False, False, True, False])
            .select("school_id", "key", "position", "object", "description", "goal", pl.col("fte").alias("approved_fte"),
                    pl.col("fte_now").alias("fte"), pl.col("amount").alias("approved"), pl.col("amount_now").alias("planned"),
                    "change", "limit", "material"))


IDENTITY = ("school_id", "key", "position", "goal", "_object", "_description")


def _matched(lines: pl.DataFrame) -> pl.DataFrame:
    """Lines summed by what they are: a position by its key (its object and description may
    change), an item by its object and description."""
    item = pl.col("position").is_null()
    return (lines.with_columns(pl.when(item).then(pl.col("object")).alias("_object"), pl.when(item).then(pl.col("description")).alias("_description"))
            .group_by(IDENTITY).agg(pl.col("fte").sum().round(6), pl.col("amount").sum(), pl.col("object").first(),
                                    pl.col("description").first(), pl.col(ROW).min()))


@dataclass(frozen=True)
class Review:
    """What the site council's plan packet shows: a plan that passes its check and, given the
    plan the council approved, every change since and which need a new vote."""

    check: PlanCheck
    threshold: Threshold
    approved: Plan | None = None
    changes: pl.DataFrame | None = None

    def school_changes(self, school_id: str) -> pl.DataFrame | None:
        return None if self.changes is None else self.changes.filter(pl.col("school_id") == school_id)


def review(check: PlanCheck, approved: Plan | None = None, material: str = DEFAULT) -> Review:
    """A plan for its packet: refused with every problem unless it passes; compared with the approved one."""
    if not check.ok:
        raise check.error()
    threshold = parse_material(material)
    found = changes(check, approved, threshold) if approved is not None else None
    return Review(check, threshold, approved, found)

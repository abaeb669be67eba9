"""School site plans as districts collect them: one CSV or XLSX for every school, one row a line.

A line is a **position** (a `[positions]` or `[costs]` key of the formula, with its FTE; its
amount may be left blank to be costed as the formula costs it) or an **item** (dollars, with the
SACS object code or range it buys: 4300, 4000-4999), paid from one **funding** line of the
allocation (its key, or the resource code the formula gives it) for one **goal** of the School
Plan for Student Achievement (an SPSA goal, or an LCAP goal and action), with a description.
Optional `goal_<lang>` and `description_<lang>` columns give them in other languages (`goal_es`),
and an optional `lcap` column the LCAP action a line pays for (`2.1`; `wsf lcap tables --plan`).

This module only reads: every row well formed, or one `WsfError` listing each rule that fails
(how many rows, and a few by row number and school), as every data file is read. Whether the
keys, the schools and the money agree with the formula is `wsf.plans.check`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from wsf.data.schools import Checks, parse_numbers, require_columns
from wsf.data.spending import cents
from wsf.data.tables import ROW, Mapping, Table, read_table
from wsf.engine.components.positions import MOST
from wsf.formula.objects import GROUPS, HIGHEST, LOWEST, SALARIES

COLUMNS = ("school_id", "position", "fte", "object", "amount", "funding", "goal", "description")
TEXT = ("school_id", "position", "object", "funding", "goal", "description")
TRANSLATED = re.compile(r"^(goal|description)_([a-z]{2,3})$")  # goal_es, description_es
LCAP = "lcap"  # optional: the LCAP action (goal.action) a line pays for; blank: its funding line's
ACTION = r"^[1-9][0-9]*\.[1-9][0-9]*$"
OBJECT = r"^(\d{4})(?:\.0+)?(?:\s*[-\u2013\u2014]\s*(\d{4})(?:\.0+)?)?$"
PLACES = 6  # an FTE to a millionth, as the allocation's KEY_fte
FORMS = "an object code (\"4300\") or a range within one group of thousands (\"4000-4999\")"


@dataclass(frozen=True)
class Plan:
    """A plan file, read. `lines`: `_row`, school_id, position (null for an item), fte (null for an
    item), object (as written, null where a position's cost gives it), start and end (the object
    range, null likewise), amount (integer cents; null for a position left to be costed),
    funding, goal, description (null where a position's label serves), any `goal_<lang>` and
    `description_<lang>` columns, and `lcap` (the LCAP action, null where the file gives none)."""

    table: Table
    lines: pl.DataFrame

    @property
    def path(self) -> Path:
        return self.table.path

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the plan gives goals or descriptions in, besides its own."""
        return tuple(sorted({m.group(2) for c in self.lines.columns if (m := TRANSLATED.match(c))}))


def read_plan(path: str | Path, mapping: Mapping | None = None) -> Plan:
    table = read_table(path, mapping)
    checks = Checks(table)
    require_columns(checks, table.frame, list(COLUMNS))
    checks.done()
    translated = sorted(c for c in table.frame.columns if TRANSLATED.match(c))
    frame = table.frame.with_columns(pl.lit(None, pl.String).alias(LCAP)) if LCAP not in table.frame.columns else table.frame
    frame = frame.select(ROW, *COLUMNS, *translated, LCAP).with_columns(
        *[_blank_is_null(c) for c in (*TEXT, "fte", "amount", *translated, LCAP)]
    )
    checks.rows(frame, pl.col(LCAP).is_not_null() & ~pl.col(LCAP).str.contains(ACTION), LCAP, "with an LCAP action that is not goal.action",
                "write the action as the LCAP numbers it, 2.1 (format the column as text in a spreadsheet: 2.10 is not 2.1), or leave it blank")
    frame = frame.with_columns(pl.col("funding", "position").str.to_lowercase(), pl.col("goal").str.replace_all(r"\s+", " "))
    item, position = pl.col("position").is_null(), pl.col("position").is_not_null()
    for column, what in (("school_id", "a school_id"), ("funding", "the funding line that pays for it (an allocation key such as english_learner, or its resource code)"),
                         ("goal", "the SPSA goal or LCAP goal/action it serves")):
        checks.rows(frame, pl.col(column).is_null(), column, f"with no {column}", f"give every line {what}")
    checks.rows(frame, item & pl.col("amount").is_null(), "amount", "with neither a position nor an amount",
                "a line is a position (a [positions] or [costs] key, with fte) or an item (an amount in dollars, with its object)")
    checks.rows(frame, item & pl.col("fte").is_not_null(), "fte", "with an FTE but no position", "name the position the FTE is of, or leave fte blank for an item",
                show=pl.col("fte"))
    checks.rows(frame, item & pl.col("amount").is_not_null() & pl.col("object").is_null(), "object", "with an item but no object",
                f"give the item's object: {FORMS}", show=pl.col("description"))
    checks.rows(frame, item & pl.col("description").is_null(), "description", "with an item but no description", "say what the item buys")
    checks.rows(frame, position & pl.col("fte").is_null(), "fte", "with a position but no FTE", "give the position's FTE (daily hours for an hourly position), e.g. 1.0 or 0.5",
                show=pl.col("position"))
    checks.done()
    frame = _objects(checks, frame)
    frame = _fte(checks, frame)
    frame = _amounts(checks, frame)
    for column in translated:
        base = TRANSLATED.match(column).group(1)
        if base == "goal":  # one goal is one name in each language
            split = frame.filter(pl.col(column).is_not_null()).group_by("goal").agg(pl.col(column).n_unique().alias("_ways"))
            torn = split.filter(pl.col("_ways") > 1)["goal"].to_list()
            checks.rows(frame, pl.col("goal").is_in(torn) & pl.col(column).is_not_null(), column, f"where one goal has two {column} texts",
                        f"write each goal's {column} the same on every line of it", show=pl.format("{} / {}", pl.col("goal"), pl.col(column)))
    checks.done()
    return Plan(table, frame)


def _blank_is_null(column: str) -> pl.Expr:
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text).alias(column)


def _objects(checks: Checks, frame: pl.DataFrame) -> pl.DataFrame:
    """The object as a range (start, end): one group of thousands of 1000-7999; a position's, one salary object."""
    parts = pl.col("object").str.extract_groups(OBJECT)
    frame = frame.with_columns(
        parts.struct.field("1").cast(pl.Int64).alias("start"),
        pl.coalesce(parts.struct.field("2"), parts.struct.field("1")).cast(pl.Int64).alias("end"),
    )
    given = pl.col("object").is_not_null()
    start, end = pl.col("start"), pl.col("end")
    checks.rows(frame, given & start.is_null(), "object", "with an object that is not an object code", f"write {FORMS}")
    read = given & start.is_not_null()
    checks.rows(frame, read & (start > end), "object", "with an object range that runs backwards", "write the range low to high, e.g. 4000-4999")
    checks.rows(frame, read & ((start < LOWEST) | (end > HIGHEST)), "object", "with an object that is not an expenditure",
                f"spending is objects {LOWEST}-{HIGHEST} (8000-8999 are revenue, 9000-9999 the balance sheet)")
    one_group = pl.any_horizontal([(start >= low) & (end <= high) for low, high, _ in GROUPS])
    checks.rows(frame, read & (start <= end) & (start >= LOWEST) & (end <= HIGHEST) & ~one_group, "object",
                "with an object range across groups of thousands",
                "give each group its own line (salaries 1000-1999, benefits 3000-3999, ...), so the plan says what it buys")
    checks.rows(frame, read & pl.col("position").is_not_null() & ((start != end) | (start < SALARIES[0]) | (start > SALARIES[1])), "object",
                "with a position whose object is not one salary object",
                "a position's object is its salary's: one object of 1000-2999 (1100 teachers, 2100 aides, 2400 clerical); its benefits go to 3000-3999 by themselves",
                show=pl.format("{}: {}", pl.col("position"), pl.col("object")))
    checks.done()
    return frame


def _fte(checks: Checks, frame: pl.DataFrame) -> pl.DataFrame:
    text = pl.col("fte")
    checks.rows(frame, text.str.contains(rf"\.\d{{{PLACES + 1},}}\s*$"), "fte", f"with an FTE to more than {PLACES} decimals",
                f"an FTE is written to at most {PLACES} decimals (0.875), as the allocation gives it")
    positions = frame.filter(pl.col("fte").is_not_null())
    parsed = parse_numbers(checks, positions.select(ROW, "school_id", "fte"), ["fte"], "number")
    checks.done()
    checks.rows(parsed, pl.col("fte") == 0, "fte", "with an FTE of 0", "a position of 0 FTE buys nothing: remove the line")
    checks.rows(parsed, pl.col("fte") > MOST["fte"], "fte", f"with more than {MOST['fte']:g} FTE", "an FTE is one line's share of full time; check the column")
    checks.done()
    return frame.drop("fte").join(parsed.select(ROW, pl.col("fte").round(PLACES)), on=ROW, how="left").sort(ROW)


def _amounts(checks: Checks, frame: pl.DataFrame) -> pl.DataFrame:
    given = frame.filter(pl.col("amount").is_not_null()).select(ROW, "school_id", "amount")
    parsed = cents(checks, given, ["amount"])
    checks.rows(parsed, pl.col("amount") == 0, "amount", "with an amount of $0.00", "a line of $0 spends nothing: remove it, or give its amount")
    checks.done()
    return frame.drop("amount").join(parsed.select(ROW, "amount"), on=ROW, how="left").sort(ROW)

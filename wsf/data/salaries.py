"""A salary table: what one FTE (or one daily hour) of each job class costs, kept as HR keeps it.

A formula may cost its positions from a file instead of writing `[costs]` inline:
`[salary_table] file = "salaries-2025-26.csv", source = "..."`. The file has one row per job
class: `key`, `label`, and `salary` with `benefits` (a year, per 1.0 FTE) or `per_hour` with
`days`; optional `label_es` (a label in another language: `label_<code>`), `source` and
`unusual` (true: a salary beyond the usual is meant). Each
row becomes a `[costs.KEY]` entry and is checked as one, with errors naming the file and row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from wsf.data.schools import TRUE, Checks, check_ids, parse_numbers, require_columns
from wsf.data.tables import ROW, Table, read_table
from wsf.engine.components.positions import Cost
from wsf.errors import WsfError
from wsf.formula.types import FIX

NUMBERS = {"salary": "dollars", "benefits": "dollars", "per_hour": "dollars", "days": "number"}


def read_salary_table(path: Path) -> tuple[dict[str, dict[str, Any]], Table]:
    """The rows of a salary table as `[costs]` entries by key, and the table read (for its hash)."""
    table = read_table(path)
    checks = Checks(table)
    frame = table.frame
    require_columns(checks, frame, ["key", "label"])
    if not {"salary", "per_hour"} & set(frame.columns):
        checks.add("no cost column: give `salary` (and `benefits`) per FTE, or `per_hour` and `days`", fix="add a salary column")
    checks.done()
    frame = check_ids(checks, frame, "key")
    checks.rows(frame, ~pl.col("key").str.contains(r"^[a-z][a-z0-9_]*$"), "key", "that is not a key",
                "a key is lowercase letters, digits and _ (teacher, noon_monitor), the name positions give as `cost`")
    checks.done()
    parsed = {}
    for column, kind in NUMBERS.items():  # a blank cell is a cost this row does not have
        if column in frame.columns:
            given = frame.filter(pl.col(column).str.strip_chars().fill_null("") != "")
            parsed[column] = parse_numbers(checks, given.select(ROW, column), [column], kind)
    checks.done()
    labels = [c for c in frame.columns if c.startswith("label_")]
    entries: dict[str, dict[str, Any]] = {}
    for row in frame.iter_rows(named=True):
        entry: dict[str, Any] = {"label": (row["label"] or "").strip()}
        entry["labels"] = {c.removeprefix("label_"): row[c].strip() for c in labels if row[c] and row[c].strip()}
        for column, values in parsed.items():
            hit = values.filter(pl.col(ROW) == row[ROW])
            if hit.height:
                value = hit[column][0]
                entry[column] = int(value) if column == "days" and value == int(value) else value
        if row.get("source") and row["source"].strip():
            entry["source"] = row["source"].strip()
        if (row.get("unusual") or "").strip().lower() in TRUE:
            entry["unusual"] = True
        try:
            Cost.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            problem, _, fix = str(err.get("ctx", {}).get("error", err["msg"])).partition(FIX)
            fix = fix.replace("add `unusual = true`", "say true in an `unusual` column") or "a row gives salary (and benefits) a year per 1.0 FTE, or per_hour and days"
            raise WsfError(problem, file=path, row=row[ROW], key=f"costs.{row['key']}", fix=fix) from None
        entries[row["key"]] = entry
    return entries, table

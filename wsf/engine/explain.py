"""One school's allocation as the components' lines: count x rate = amount, rule and source.

The lines' amounts are the allocation table's rounded components, so they sum to the school's
total exactly; count x rate shows how each was computed. What each line says is its
component's (`wsf.engine.components`); the CLI, the packets and the workbook only render it.
Explaining every school (packets) reads the allocation's rows once (`by_school`) and passes
them in, so no school costs a scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from wsf.engine.allocate import Allocation
from wsf.engine.components import components
from wsf.engine.components.lines import Line
from wsf.engine.components.transition import transition_line
from wsf.engine.params import School
from wsf.errors import WsfError


@dataclass(frozen=True)
class Rows:
    """An allocation's tables as rows by school_id: `inputs`, `amounts` (unrounded), `cents` and `pieces`."""

    inputs: dict[str, dict]
    amounts: dict[str, dict]
    cents: dict[str, dict]
    pieces: dict[str, dict]


def by_school(allocation: Allocation, school_ids: list[str] | None = None) -> Rows:
    """The rows of `school_ids` (every school when None), read in one pass over each table."""

    def rows(frame: pl.DataFrame) -> dict[str, dict]:
        if school_ids is not None:
            frame = frame.filter(pl.col("school_id").is_in(school_ids))
        return {row["school_id"]: row for row in frame.iter_rows(named=True)}

    return Rows(rows(allocation.inputs), rows(allocation.amounts), rows(allocation.cents), rows(allocation.pieces))


@dataclass(frozen=True)
class Explanation:
    school_id: str
    name: str
    enrollment: float
    lines: tuple[Line, ...]
    total_cents: int
    per_pupil_cents: int | None


def school_view(allocation: Allocation, rows: Rows, school_id: str) -> School:
    return School(allocation.formula.model, rows.inputs[school_id], rows.amounts[school_id], rows.cents[school_id],
                  rows.pieces[school_id], allocation.scale, allocation.gain_cap, allocation.pupil_columns)


def explain(allocation: Allocation, school_id: str, rows: Rows | None = None) -> Explanation:
    """The school's lines; `rows` is `by_school(allocation)`, read once when explaining many schools."""
    rows = rows if rows is not None else by_school(allocation, [school_id])
    if school_id not in rows.inputs:
        known = allocation.inputs["school_id"].head(5).to_list()
        raise WsfError(f"no school with school_id {school_id!r}", key="--school", fix=f"school ids look like: {', '.join(known)}")
    school = school_view(allocation, rows, school_id)
    lines = (*(c.line(school) for c in components(allocation.formula.model)), transition_line(school, allocation.schools_capped))
    cents = rows.cents[school_id]
    if sum(line.amount for line in lines) != cents["total"]:
        raise AssertionError(f"explain lines do not sum to the total of {school_id}")
    return Explanation(school_id, rows.inputs[school_id]["name"], school.enrollment, lines, cents["total"], cents["per_pupil"])

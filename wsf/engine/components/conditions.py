"""Which schools a rule is for: `when = { level = ["high"], enrollment_below = 300, above = { upp = 0.55 } }`.

Every condition given must hold. A condition is evaluated two ways that must agree: as a Polars
expression over every school (the engine), and on one school's row (its line says whether it
applied). Conditions on a data column name the column (a number, a share or a count).
"""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from pydantic import Field

from wsf.engine.components.cells import Cells, number, text
from wsf.engine.components.lines import Count, Phrase, Words
from wsf.formula.types import Key, Strict
from wsf.formula.types import Money as Dollars

Bound = Annotated[float, Field(allow_inf_nan=False)]
COMPARISONS = {  # key: (Polars operator, Python test, sentence, spreadsheet operator)
    "below": (lambda c, v: c < v, lambda x, v: x < v, "column_below", "<"),
    "at_most": (lambda c, v: c <= v, lambda x, v: x <= v, "column_at_most", "<="),
    "above": (lambda c, v: c > v, lambda x, v: x > v, "column_above", ">"),
    "at_least": (lambda c, v: c >= v, lambda x, v: x >= v, "column_at_least", ">="),
}


class When(Strict):
    """The schools a rule is for; every condition given must hold."""

    enrollment_below: Annotated[int, Field(ge=0)] | None = None
    enrollment_at_least: Annotated[int, Field(ge=0)] | None = None
    level: Annotated[list[str], Field(min_length=1)] | None = None
    below: dict[Key, Bound] = {}  # a data column below a value: { enrollment_capacity = 400 }
    at_most: dict[Key, Bound] = {}
    above: dict[Key, Bound] = {}  # { upp = 0.55 }: more than 55% unduplicated pupils
    at_least: dict[Key, Bound] = {}

    def columns(self) -> dict[str, dict[str, float]]:
        return {name: getattr(self, name) for name in COMPARISONS if getattr(self, name)}

    def expression(self) -> pl.Expr:
        condition = pl.lit(True)
        if self.enrollment_below is not None:
            condition &= pl.col("enrollment") < self.enrollment_below
        if self.enrollment_at_least is not None:
            condition &= pl.col("enrollment") >= self.enrollment_at_least
        if self.level is not None:
            condition &= pl.col("level").is_in([lvl.lower() for lvl in self.level]).fill_null(False)
        for name, bounds in self.columns().items():
            for column, value in bounds.items():
                condition &= COMPARISONS[name][0](pl.col(column), value).fill_null(False)
        return condition

    def cell(self, cells: Cells) -> str:
        """The same conditions as a spreadsheet formula (TRUE or FALSE): a missing value holds no
        condition, as in the expression; a level compares as text (a spreadsheet's = ignores case)."""
        parts = []
        if self.enrollment_below is not None:
            parts.append(f"{cells.enrollment}<{self.enrollment_below}")
        if self.enrollment_at_least is not None:
            parts.append(f"{cells.enrollment}>={self.enrollment_at_least}")
        if self.level is not None:
            level = cells.data("level")
            parts.append("OR(" + ",".join(f"{level}={text(lvl.lower())}" for lvl in self.level) + ")")
        for name, bounds in self.columns().items():
            for column, value in bounds.items():
                ref = cells.data(column)
                parts.append(f"AND(ISNUMBER({ref}),{ref}{COMPARISONS[name][3]}{number(value)})")
        return "AND(" + ",".join(parts) + ")" if parts else "TRUE"

    def holds(self, row: dict[str, Any]) -> bool:
        """The same conditions on one school's data row."""
        enrollment = row["enrollment"]
        if self.enrollment_below is not None and not enrollment < self.enrollment_below:
            return False
        if self.enrollment_at_least is not None and not enrollment >= self.enrollment_at_least:
            return False
        if self.level is not None and (row.get("level") or "") not in [lvl.lower() for lvl in self.level]:
            return False
        return all(row.get(column) is not None and COMPARISONS[name][1](row[column], value)
                   for name, bounds in self.columns().items() for column, value in bounds.items())

    def phrases(self) -> Words:
        """The conditions as data: `Words((Phrase(enrollment_below, 300), Phrase(level, high)), "and")`."""
        parts = []
        if self.enrollment_below is not None:
            parts.append(Phrase.of("enrollment_below", count=Count(self.enrollment_below)))
        if self.enrollment_at_least is not None:
            parts.append(Phrase.of("enrollment_at_least", count=Count(self.enrollment_at_least)))
        if self.level is not None:
            parts.append(Phrase.of("level", levels=Words(tuple(self.level), "or")))
        for name, bounds in self.columns().items():
            parts += [Phrase.of(COMPARISONS[name][2], column=column, value=Count(value)) for column, value in bounds.items()]
        return Words(tuple(parts), "and")

    def needs(self) -> dict[str, str]:
        """The data columns the conditions read, by kind."""
        out = {"level": "text"} if self.level is not None else {}
        return out | {column: "number" for bounds in self.columns().values() for column in bounds}


class Step(Strict):
    """One rate of a schedule: `{ when = { at_most = { upp = 0.55 } }, per_pupil = 500 }`. A
    step without `when` holds for every school (the schedule's last step, the rest)."""

    when: When | None = None
    amount: Dollars | None = None  # dollars per school
    per_pupil: Dollars | None = None
    pupils_at_most: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)] | None = None  # per pupil, of at most so many pupils


def pupils(at_most: float | None) -> pl.Expr:
    """The enrollment a per-pupil rate is paid on: all of it, or at most `at_most` pupils."""
    return pl.col("enrollment") if at_most is None else pl.min_horizontal(pl.col("enrollment"), pl.lit(float(at_most)))


def pupils_cell(cells: Cells, at_most: float | None) -> str:
    """`pupils` as a spreadsheet formula."""
    return cells.enrollment if at_most is None else f"MIN({cells.enrollment},{number(at_most)})"


def first_match_cell(steps: list[Step], values: list[str], cells: Cells) -> str:
    """`first_match` as a spreadsheet formula: nested IFs, 0 where no step holds."""
    out = "0"
    for step, value in reversed(list(zip(steps, values))):
        out = value if step.when is None else f"IF({step.when.cell(cells)},{value},{out})"
    return out


def first_match(steps: list[Step], values: list[pl.Expr]) -> pl.Expr:
    """The value of the first step whose conditions hold (0 where none does): a schedule's rate."""
    chain = None
    for step, value in zip(steps, values):
        condition = step.when.expression() if step.when is not None else pl.lit(True)
        chain = pl.when(condition).then(value) if chain is None else chain.when(condition).then(value)
    return chain.otherwise(0.0) if chain is not None else pl.lit(0.0)


def matching(steps: list[Step], row: dict[str, Any]) -> int | None:
    """The index of the first step that holds for one school's row (None: no step does)."""
    return next((i for i, step in enumerate(steps) if step.when is None or step.when.holds(row)), None)


def check_steps(steps: list[Step], fields: tuple[str, ...]) -> None:
    """A schedule's steps each give the rate fields, and only a last step may hold everywhere."""
    for i, step in enumerate(steps):
        given = [f for f in ("amount", "per_pupil") if getattr(step, f) is not None]
        if not given or any(f not in fields for f in given):
            raise ValueError(f"rates[{i}]: give {' and/or '.join(f'`{f}`' for f in fields)}")
        if step.pupils_at_most is not None and step.per_pupil is None:
            raise ValueError(f"rates[{i}]: `pupils_at_most` caps the pupils `per_pupil` is paid on; give `per_pupil` with it")
        if step.when is None and i != len(steps) - 1:
            raise ValueError(f"rates[{i}] has no `when`, so it holds for every school and the steps after it never apply; "
                             "put it last")

"""Rates by key path, for expressions and sweeps, and one school's rows, for lines.

Every rate an expression uses is read through `Params`: a literal for an ordinary run, or a
column when a sweep varies it over many points at once. The expressions have the same
structure either way, so a sweep point computes exactly what a single run of that formula
computes. A key path is the formula file's own address of a value: `weights.poverty.weight`,
`base.K-3`, `base.6-8.weight`, `base_adjustment[0].rate`, `foundations.small.amount`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from wsf.formula.model import Formula

BASE = "base"
BASE_PER_PUPIL = "_base_per_pupil"  # the school's average adjusted base per pupil: a stage of its own


class Params:
    """Rates by key path (`weights.poverty.weight`): the formula's value, or a swept column."""

    def __init__(self, formula: Formula, swept: dict[str, pl.Expr] | None = None) -> None:
        self.formula = formula
        self.swept = swept or {}

    def __call__(self, path: str) -> pl.Expr:
        if path in self.swept:
            return self.swept[path]
        return pl.lit(float(lookup(self.formula, path)))


def lookup(formula: Formula, path: str) -> Any:
    """The value at a key path such as `weights.el.weight`, `base.K-3` or `base_adjustment[0].rate`."""
    node: Any = formula
    for part in key_parts(path):
        if isinstance(part, int) or isinstance(node, dict):
            node = node[part]
        else:
            node = getattr(node, part)
    return node


def key_parts(path: str) -> list[str | int]:
    """`weights.upp.rates[1].per_pupil` -> ["weights", "upp", "rates", 1, "per_pupil"]; a [base]
    span may hold a '-' (`base.K-3`, `base.6-8.weight`) but never a dot."""
    parts: list[str | int] = []
    for piece in path.split("."):
        name, *indexes = piece.split("[")
        parts.append(name)
        parts += [int(index.rstrip("]")) for index in indexes]
    return parts


@dataclass(frozen=True)
class School:
    """One school as a component sees it when it writes its line: the data row (counts, grades,
    level, `_prior`), the unrounded amounts at the solved scale, the rounded cents of the table,
    the transition's pieces in cents, and the run's scale and gain cap."""

    formula: Formula
    inputs: Mapping[str, Any]
    amounts: Mapping[str, Any]
    cents: Mapping[str, Any]
    pieces: Mapping[str, Any]
    scale: float
    gain_cap: float | None
    pupil_columns: tuple[str, ...]

    @property
    def enrollment(self) -> float:
        return self.inputs["enrollment"]

    @property
    def average_base(self) -> float:
        """The school's average adjusted base per pupil, at the solved scale (0 without pupils)."""
        return self.amounts[BASE] / self.enrollment if self.enrollment else 0.0

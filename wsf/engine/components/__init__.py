"""One home per component kind.

Every line of an allocation is a component: the base, each weight, each foundation (and the
transition, which the solve computes). A component kind owns what it means, once:

- `expression(params, pupil_columns)`: its unscaled dollars per school, a Polars expression
  aliased to its key (so the key is the table's column, the workbook's header, the packet's line);
  `quantities(...)`: the quantity columns it reads them from (a position's `KEY_fte`), or none;
- `scaled`: whether the pot's scale multiplies it;
- `rates()`: the key paths of its rates, what a sweep may vary; `moves_with(paths)`: whether
  varying those paths changes it; `reads(pupil_columns)`: the input columns it reads;
  `needs()`: the data columns it reads, by kind (`count`, `share` or `text`), for the readers;
- `per_span(params, spans)`: the pieces CDE's per-span rule rounds one by one (None: one piece);
- `line(school)`: its structured line at one school (`Line`: count, rate, amount, the parts
  of its rule as `Phrase`s); `terms(scale)`: its rates for the workbook's Formula sheet.

The engine computes with `components(formula)`; explain, packets, the workbook and the sweep
render and vary what they return, and none of them decides again what a kind means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import polars as pl

from wsf.engine.components.base import Base, base_per_pupil
from wsf.engine.components.foundations import foundation
from wsf.engine.components.lines import Line, Term
from wsf.engine.components.positions import PositionComponent
from wsf.engine.components.weights import WeightComponent
from wsf.engine.params import Params, School

if TYPE_CHECKING:
    from wsf.formula.model import Formula


class Component(Protocol):
    key: str
    scaled: bool

    def expression(self, p: Params, pupil_columns: tuple[str, ...]) -> pl.Expr: ...
    def quantities(self, p: Params, pupil_columns: tuple[str, ...]) -> list[pl.Expr]: ...
    def rates(self) -> list[str]: ...
    def moves_with(self, paths) -> bool: ...
    def reads(self, pupil_columns: tuple[str, ...]) -> set[str]: ...
    def needs(self) -> dict[str, str]: ...
    def per_span(self, p: Params, spans: list[pl.Expr]) -> list[pl.Expr] | None: ...
    def line(self, school: School) -> Line: ...
    def terms(self, scale: float) -> list[Term]: ...


def components(formula: Formula) -> list[Component]:
    """The formula's components in its own order: the base, the weights, the foundations
    (made once per formula: a frozen model's components never change)."""
    made = formula.__dict__.get(CACHE)
    if made is None:
        made = formula.__dict__[CACHE] = [
            Base(formula),
            *(WeightComponent(formula, key, spec) for key, spec in formula.weights.items()),
            *(foundation(formula, key, spec) for key, spec in formula.foundations.items()),
            *(PositionComponent(formula, key, spec) for key, spec in formula.positions.items()),
        ]
    return made


CACHE = "_components"  # kept in the model's own __dict__, as functools.cached_property keeps its values


def stages(formula: Formula, p: Params, pupil_columns: tuple[str, ...], keys: set[str] | None = None) -> list[list[pl.Expr]]:
    """Expression stages: the base, its amount per pupil and the quantities, then the others (which
    read them); `keys` keeps only those components after the base."""
    base, *rest = components(formula)
    kept = [c for c in rest if keys is None or c.key in keys]
    return [
        [base.expression(p, pupil_columns)],
        [base_per_pupil(), *(q for c in kept for q in c.quantities(p, pupil_columns))],
        [c.expression(p, pupil_columns) for c in kept],
    ]


def scaled_keys(formula: Formula) -> list[str]:
    """Components a pot solve scales: the base and every weight expressed as a multiple of it."""
    return [c.key for c in components(formula) if c.scaled]


def fixed_keys(formula: Formula) -> list[str]:
    return [c.key for c in components(formula) if not c.scaled]


def needs(formula: Formula, kind: str) -> dict[str, list[str]]:
    """The data columns of one kind the components read, each with the keys that read it."""
    out: dict[str, list[str]] = {}
    for c in components(formula):
        for column, what in c.needs().items():
            if what == kind:
                out.setdefault(column, []).append(c.key)
    return out


def rate_paths(formula: Formula) -> list[str]:
    """Every key path of a rate the formula sets, in its order: what `--vary` may name."""
    return list(dict.fromkeys(path for c in components(formula) for path in c.rates()))  # a cost two positions share, once


__all__ = ["Component", "components", "fixed_keys", "needs", "rate_paths", "scaled_keys", "stages"]

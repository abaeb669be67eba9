"""Components as spreadsheet formulas: the finance workbook's live cells.

A component kind that can say its dollars as a spreadsheet formula does so with `cell(cells)`
beside its Polars expression, in its own module, and the two must agree to the cent (the
workbook's tests recalculate it in LibreOffice and compare with the engine). `Cells` is what a
formula may refer to for one school: a rate by its workbook name, a data cell, the school's
unscaled base and average base per pupil, a quantity (a position's FTE). A kind that cannot
say itself exactly returns None and the workbook writes its values, labelled as computed by wsf.

Rates are named cells: the defined name of a key path is the path itself where Excel and
LibreOffice allow it (`weights.poverty.weight`, `foundations.small_school.amount`); a span's
hyphen becomes an underscore and an index `[i]` becomes `_i` (`base.K-3` -> `base.K_3`,
`base_adjustment[0].rate` -> `base_adjustment_0.rate`, `weights.upp.rates[1].per_pupil` ->
`weights.upp.rates_1.per_pupil`), since a defined name holds only letters, digits, `_`, `.`
and `\\`.
"""

from __future__ import annotations

import re
from typing import Protocol


class Cells(Protocol):
    """What one school's formula may refer to (each a reference or a name, as formula text)."""

    enrollment: str
    base: str  # the school's base before the pot's scale
    base_per_pupil: str  # its average adjusted base per pupil before the pot's scale

    def rate(self, path: str) -> str: ...
    def data(self, column: str) -> str: ...
    def quantity(self, column: str) -> str: ...


def defined_name(path: str) -> str:
    """The workbook's defined name of a rate's key path (see the module's docstring)."""
    return re.sub(r"\[(\d+)\]", r"_\1", path).replace("-", "_")


def number(value: float) -> str:
    """A number as formula text, exactly (the shortest text that reads back as the same float)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def text(value: str) -> str:
    """A string literal of a formula."""
    return '"' + value.replace('"', '""') + '"'


def added(parts: list[str]) -> str:
    return "+".join(parts) if parts else "0"


def rounded(formula: str, unit_cents: int) -> str:
    """Rounded half up to the formula's unit (a cent or a dollar) as the engine rounds a line: the
    units first taken to a millionth, so 2.4999999997 units (a float's 2.5) rounds up."""
    digits = 0 if unit_cents == 100 else 2
    return f"ROUND(ROUND({formula},{digits + 6}),{digits})"

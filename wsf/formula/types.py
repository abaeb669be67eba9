"""The value types of formula files, shared by the formula model and the component kinds:
strict (no bool or string where a number belongs) and bounded, with the plausibility rule that
catches a percentage typed as a whole number."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

KEY = r"^[a-z][a-z0-9_]*$"
PER_CAPITA = "per_capita"
MAX_MONEY = 1e12  # a trillion dollars: anything larger is a typo, not a budget

Money = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]
Rate = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Key = Annotated[str, Field(pattern=KEY)]
# A label in other languages, by language code: labels = { es = "Estudiantes de bajos ingresos" }
Labels = dict[Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")], Annotated[str, Field(min_length=1)]]


def _lcap_action(value: object) -> object:
    """An LCAP action number is text: as a TOML number 2.10 would read as 2.1, another action."""
    if not isinstance(value, str):
        raise ValueError(f'an LCAP action is written as text, goal.action as the LCAP numbers it: lcap = "{value}" '
                         "(as a number, 2.10 would be read as 2.1)")
    if not re.fullmatch(r"[1-9][0-9]*\.[1-9][0-9]*", value.strip()):
        raise ValueError(f'{value!r} is not an LCAP action number; write goal.action, as lcap = "2.1"')
    return value.strip()


# `lcap = "2.1"` on a formula line: the LCAP action (goal 2, action 1) the line's money pays for
LcapAction = Annotated[str, BeforeValidator(_lcap_action)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# The largest value of each kind of rate that a published formula uses, with room to spare; a value
# beyond it is almost always a percentage typed as a whole number (20 for 0.20) and is refused
# unless the table says `unusual = true`. (Boston's largest disability weight is 6.70 of base;
# base adjustments and transition bounds are fractions: LCFF's K-3 adjustment is 0.104.)
USUAL = {  # kind: (the largest usual value, the smallest that a whole-number slip can have meant, why)
    "weight": (7.0, 0.0, "a weight of {v} is {v} times the base per pupil, more than any published formula gives (the largest is Boston's 6.70)"),
    "grade_weight": (3.0, 0.5, "a grade weight of {v} is more than published grade weights give (1.00 to 1.80)"),
    "rate": (1.0, 0.0, "a rate of {v} adds {p}% to the base; base adjustments are fractions (LCFF's K-3 adjustment is 0.104)"),
    "max_gain": (1.0, 0.0, "a gain cap of {v} lets a school gain {p}% over last year; caps are fractions (0.10 for 10%)"),
}
FIX = "\nfix: "  # a validator's message may end with what to do, after this


def as_fraction(value: float) -> str:
    """A whole-number percentage as the fraction it probably meant: 20 -> 0.20, 10.4 -> 0.104."""
    meant = Decimal(repr(value)) / 100
    return f"{meant:.{max(2, -meant.as_tuple().exponent)}f}"


def check_usual(value: float | None, kind: str, field: str, table: str, unusual: bool) -> None:
    """Refuse a rate beyond what real formulas use, saying what was probably meant."""
    most, least, why = USUAL[kind]
    if value is None or unusual or value <= most:
        return
    meant = f"; did you mean {as_fraction(value)}?" if least <= value / 100 <= most else ""
    raise ValueError(
        f"{field}: {why.format(v=f'{value:g}', p=f'{value * 100:,g}')}{meant}"
        f"{FIX}a percentage is written as a fraction (20% is 0.20, 108% is 1.08); if {value:g} is right, add `unusual = true` to {table}"
    )

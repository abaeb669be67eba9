"""What a component says about one school, as data that renderers put into words.

A line's rule is not prose: `Phrase("weight_average", weight=Factor(0.2))` names a sentence of
the language files' `[how]` table and the values that fill it, each typed so that a renderer
formats it for its reader's locale (money, shares, counts, factors). The engine writes no
sentence; `explain`, the packets and the workbook render the same lines in any language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Money:
    """Dollars. `places` None: a rate, shown to the cent when exact, else to a hundredth of a cent."""

    value: float
    places: int | None = 2


@dataclass(frozen=True)
class Cents:
    """Money already rounded: integer cents."""

    value: int


@dataclass(frozen=True)
class Share:
    """A share (0.2 is 20%), shown as a percentage with `places` decimals."""

    value: float
    places: int = 1


@dataclass(frozen=True)
class Count:
    """Pupils, schools or grades: whole, or (ADA) with decimals."""

    value: float


@dataclass(frozen=True)
class Quantity:
    """An amount of a position: FTE (0.875), or daily hours for an hourly one."""

    value: float
    unit: str = "fte"  # a sentence of the language's [units] table: fte, hours


@dataclass(frozen=True)
class Factor:
    """A multiplier: a weight (0.2, shown with up to `places` decimals) or, `fixed`, a scale
    always shown with `places` decimals (1.086279)."""

    value: float
    places: int = 4
    fixed: bool = False


@dataclass(frozen=True)
class Label:
    """The formula's own name of something, with its translations (`labels = { es = ... }`)."""

    text: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def shown(self, code: str) -> str:
        return self.labels.get(code, self.text)


@dataclass(frozen=True)
class Words:
    """Several values joined as a language joins them: levels "elementary or middle", rule parts "a; b"."""

    items: tuple[Any, ...]
    joiner: str = "or"  # a sentence of the language's [how] table: or, and, list


@dataclass(frozen=True)
class Phrase:
    """A sentence of the language files' [how] table (`id`), and the values of its placeholders."""

    id: str
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, id: str, **values: Any) -> Phrase:
        return cls(id, values)


Value = Union[Money, Cents, Share, Count, Quantity, Factor, Label, Words, Phrase, str]


@dataclass(frozen=True)
class Line:
    """One component at one school: count x rate = amount, how the rate is set, and its source.

    `amount` is the allocation table's rounded cents (the lines of a school sum to its total);
    `count` and `rate` show how it was computed (`rate` scaled to the pot). `named` lines (the
    base, the transition) take their name from the language file's [lines] table; the others
    are the formula's own, in `label` and its translations `labels`."""

    key: str
    label: str
    amount: int
    count: Count | None = None
    rate: Money | None = None
    rule: tuple[Phrase, ...] = ()
    detail: tuple[Phrase, ...] = ()
    plain: Phrase | None = None  # the line for a site council, in plain words
    source: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    named: bool = False

    @property
    def calculated(self) -> bool:
        """Is the line count x rate (and not a difference, as the transition is)?"""
        return self.count is not None and self.rate is not None


@dataclass(frozen=True)
class Term:
    """One rate of the formula, for the workbook's Formula sheet: what it is, its value as
    written, its unit, the rate it comes to after the pot's scale, and whom it applies to."""

    key: str
    label: Phrase | str
    kind: str  # a sentence of the language's [terms] table: base, weight, foundation, ...
    value: Money | Share | Factor | None
    unit: Phrase | str  # a sentence of the [units] table
    rate_used: Money | None
    applies: Phrase | str
    source: str
    path: str | None = None  # the key path of its value (`weights.poverty.weight`): the workbook names that cell

"""Object and resource codes: the vocabulary formulas and school plans share.

California's Standardized Account Code Structure (SACS) says what money is spent on by an
**object** code of four digits, grouped by thousands (1000-1999 certificated salaries,
2000-2999 classified salaries, 3000-3999 employee benefits, 4000-4999 books and supplies,
5000-5999 services and other operating expenditures, 6000-6999 capital outlay, 7000-7999
other outgo), and which funding source pays by a **resource** code (0000 unrestricted, 3010
Title I, 6500 special education, or a district's own). A formula line may say which objects
its money may buy (`objects = ["1000-3999", "4000-4999"]`: restricted money) and the resource
a school plan may name instead of its key (`resource = "07091"`); a plan line says its object.
Both are written as text, so a leading zero is never lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from wsf.formula.types import LcapAction, Strict

LOWEST, HIGHEST = 1000, 7999  # the expenditure objects; 8000-8999 are revenue, 9000-9999 the balance sheet
GROUPS = (  # (first object, last object, the group's key in the language files' [objects] table)
    (1000, 1999, "certificated"),
    (2000, 2999, "classified"),
    (3000, 3999, "benefits"),
    (4000, 4999, "supplies"),
    (5000, 5999, "services"),
    (6000, 6999, "capital"),
    (7000, 7999, "other_outgo"),
)
SALARIES = (1000, 2999)  # a position's salary is charged to a certificated or classified object
BENEFITS = (3000, 3999)  # and its benefits here
TEXT = re.compile(r"^\s*(\d{4})(?:\.0+)?\s*(?:[-\u2013\u2014]\s*(\d{4})(?:\.0+)?\s*)?$")  # "4300", "4000-4999", "4000 – 4999"
RESOURCE = re.compile(r"^\d{4,5}$")
RESOURCE_FORM = "four digits (a SACS resource such as \"6500\") or five (a district's own code, \"07091\")"


@dataclass(frozen=True, order=True)
class ObjectRange:
    """Objects `start` to `end`, both included: one object when they are equal."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start}" if self.start == self.end else f"{self.start}-{self.end}"

    def within(self, allowed: tuple[ObjectRange, ...]) -> bool:
        """Is every object of this range one of the allowed (whose ranges may adjoin)?"""
        at = self.start
        for other in sorted(allowed):
            if other.start <= at <= other.end:
                at = other.end + 1
                if at > self.end:
                    return True
        return False

    @property
    def group(self) -> str | None:
        """The group of thousands the range lies in (None when it spans groups, as 1000-3999)."""
        for low, high, key in GROUPS:
            if low <= self.start and self.end <= high:
                return key
        return None


def parse_object(text: str) -> ObjectRange:
    """An object code ("4300") or range ("4000-4999") as written; ValueError says what is wrong."""
    match = TEXT.match(text)
    if not match:
        raise ValueError(f"{text!r} is not an object code: write four digits (\"4300\") or a range (\"4000-4999\")")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    if start > end:
        raise ValueError(f"{text!r} runs backwards; write it low to high, \"{end}-{start}\"")
    if start < LOWEST or end > HIGHEST:
        raise ValueError(f"{text!r} is not an expenditure object: spending is objects {LOWEST}-{HIGHEST} "
                         "(8000-8999 are revenue, 9000-9999 the balance sheet; below 1000 is not an object)")
    return ObjectRange(start, end)


def describe_objects(ranges: tuple[ObjectRange, ...]) -> str:
    return ", ".join(str(r) for r in ranges)


# -- the formula's value types -----------------------------------------------------------------


def _text(what: str, example: str):
    def check(value):
        if not isinstance(value, str):
            raise ValueError(f"write {what} as text in quotes ({example}): as a number it can lose its leading zeros")
        return value

    return check


def _object(value: str) -> str:
    parse_object(value)
    return value


def _no_overlap(values: list[str]) -> list[str]:
    ranges = sorted(parse_object(v) for v in values)
    for a, b in zip(ranges, ranges[1:]):
        if b.start <= a.end:
            raise ValueError(f"objects {a} and {b} overlap; list each object once")
    return values


def _resource(value: str) -> str:
    if not RESOURCE.match(value):
        raise ValueError(f"resource {value!r} is not a resource code: {RESOURCE_FORM}")
    return value


ObjectText = Annotated[str, BeforeValidator(_text("an object code", '"4300" or "4000-4999"')), AfterValidator(_object)]
Objects = Annotated[list[ObjectText], Field(min_length=1), AfterValidator(_no_overlap)]
Resource = Annotated[str, BeforeValidator(_text("a resource code", '"6500"')), AfterValidator(_resource)]


def _salary_object(value: str) -> str:
    found = parse_object(value)
    if found.start != found.end or not SALARIES[0] <= found.start <= SALARIES[1]:
        raise ValueError(f"object {value!r}: a position's salary is one object of {SALARIES[0]}-{SALARIES[1]} "
                         "(1100 teachers, 1300 administrators, 2100 instructional aides, 2400 clerical); its benefits go to 3000-3999")
    return value


SalaryObject = Annotated[str, BeforeValidator(_text("an object code", '"1100"')), AfterValidator(_salary_object)]


class Funding(Strict):
    """What a line's money may buy, the resource code a school plan may name it by, and the LCAP
    action it pays for; every allocation line (a weight, a foundation, a position, the base) carries these."""

    objects: Objects | None = None  # restricted money: only these objects (absent: any)
    resource: Resource | None = None  # a plan may name the line by this code instead of its key
    lcap: LcapAction | None = None  # the LCAP action (goal.action) its money pays for: `wsf lcap tables` totals it

    @property
    def allowed(self) -> tuple[ObjectRange, ...] | None:
        """The objects the line may pay for; None when it is unrestricted."""
        return None if self.objects is None else tuple(parse_object(v) for v in self.objects)


FUNDING_KEYS = tuple(Funding.model_fields)

"""LCAP numbers, exact: money as integer cents, percentages as fractions, each rounded once for display.

The CDE template's percentages are quotients of dollar amounts (S&C grants over the base grant);
kept as `Fraction`s they add and subtract without drift, and a carryover computed from them is
exact until it is written. A percentage read from a file or an option must carry its `%` sign: a
bare 0.2 could be 0.2% or 20% (a fraction typed where points were meant), and is refused rather
than guessed.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

PLACES = 3  # percentages are shown to a thousandth of a point: 19.935%
MAX_CENTS = 10**14  # $1 trillion: a larger amount is a typo, as the allocation says
MONEY = re.compile(r"^\$?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
PERCENT = re.compile(r"^(\d+(\.\d+)?|\.\d+)\s*%$")
NOISE = Decimal("0.000001")  # a spreadsheet's float noise (1234.5000000001) is within a millionth of a cent


class NumberError(ValueError):
    """A cell or option that is not the number it should be: the message says what was written and what is meant."""


def parse_money(text: str | None) -> int:
    """Dollars as a person or a spreadsheet writes them (`1234.56`, `$1,234.56`; blank is $0) in cents."""
    value = (text or "").strip()
    if value == "":
        return 0
    if value.startswith(("-", "(")) or value.endswith(")"):
        raise NumberError(f"{value!r} is negative; planned and actual expenditures are $0 or more")
    if not MONEY.match(value):
        raise NumberError(f"{value!r} is not an amount in dollars (such as 1234.56 or $1,234.56)")
    amount = Decimal(value.lstrip("$").strip().replace(",", ""))
    cents = amount * 100
    if cents != cents.to_integral_value():
        rounded = cents.to_integral_value(rounding=ROUND_HALF_UP)
        digits = -amount.as_tuple().exponent
        if digits < 9 or abs(cents - rounded) > NOISE * 100:  # a real third decimal, not float noise from a spreadsheet
            raise NumberError(f"{value!r} has fractions of a cent; give dollars to the cent")
        cents = rounded
    if cents > MAX_CENTS:
        raise NumberError(f"{value!r} is more than $1,000,000,000,000, more than any LEA's budget: a typo?")
    return int(cents)


def parse_percent(text: str | None, blank: Fraction | None = Fraction(0)) -> Fraction:
    """A percentage with its `%` sign (`0.5%`, `26.295%`) as a fraction of 1; blank is `blank`.

    A bare number is refused with both readings: 0.2 may be 0.2% or 20% typed as a fraction."""
    value = (text or "").strip()
    if value == "":
        if blank is None:
            raise NumberError("is blank; give a percentage such as 0.50%")
        return blank
    if value.startswith("-"):
        raise NumberError(f"{value!r} is negative; a percentage of improved services is 0% or more")
    if not PERCENT.match(value):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise NumberError(f"{value!r} is not a percentage (such as 0.50%)") from None
        raise NumberError(f"{value!r} has no % sign, so it could be {number.normalize():f}% or, typed as a fraction, "
                          f"{(number * 100).normalize():f}%: write it with the sign, as {number.normalize():f}% or {(number * 100).normalize():f}%")
    share = Fraction(Decimal(value.rstrip("%").strip())) / 100
    if share > 1:
        raise NumberError(f"{value!r} is more than 100% of the base grant: a typo?")
    return share


def half_up(value: Fraction) -> int:
    """A non-negative (or negative) exact amount rounded half away from zero to a whole unit."""
    whole, rest = divmod(abs(value.numerator), value.denominator)
    whole += 2 * rest >= value.denominator
    return whole if value >= 0 else -whole


def points(share: Fraction | None, places: int = PLACES) -> Decimal | None:
    """A share as percentage points, rounded half up once: 0.1993512 -> 19.935."""
    if share is None:
        return None
    scaled = half_up(share * 100 * 10**places)
    return Decimal(scaled).scaleb(-places)


def percent_text(share: Fraction | None, places: int = PLACES) -> str:
    """`19.935%` (English, for the terminal and CSV readers); documents format by their locale."""
    shown = points(share, places)
    return "n/a" if shown is None else f"{shown:,.{places}f}%"


def dollars(cents: int) -> Decimal:
    """Cents as an exact decimal of dollars (a table's money column)."""
    return Decimal(cents).scaleb(-2)


def money_text(cents: int) -> str:
    """`$1,234.56` from cents, by integer arithmetic."""
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}${whole:,}.{part:02d}"

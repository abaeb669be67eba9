"""Packet numbers: the language's fast formatter (`wsf.render.i18n.Pattern`, Python's `format`) writes
exactly what babel writes, for every kind of number the packets print, in English and Spanish
(and in French and Hindi, whose symbols and grouping take the other paths).

The reference for each is babel itself, called as the packets called it before the fast path:
`format_decimal` and `format_percent` as they are, money through the locale's currency pattern
with the fraction digits set (as `format_currency` applies it), after the same rounding.
"""

from __future__ import annotations

import copy
import math

import pytest
from babel import Locale
from babel.numbers import format_currency, format_decimal, format_percent
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wsf.render.i18n import Language, load_language
from wsf.render.packets.pages import SHIPPED

LOCALES = ["en_US", "es_US", "fr_FR", "hi_IN"]
SETTINGS = settings(max_examples=400, deadline=None)
# dollars and shares as the packets see them: any sign, zero, cents to billions, and beyond
AMOUNTS = st.floats(min_value=-1e13, max_value=1e13, allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 0.005, -0.005, 0.125, 2.675, 1.005, 0.5, 1.5, 2.5, -2.5, 1234.565, 999999.995, 1e15, -1e-9]
)
CENTS = st.integers(min_value=-(10**17), max_value=10**17) | st.sampled_from(
    [0, 49, 50, -50, 150, -149, 10**15 - 1, 10**15, -(10**15)]
)


@pytest.fixture(scope="module")
def languages() -> dict[str, Language]:
    english = load_language("en", [SHIPPED])
    return {locale: Language(locale, locale, locale, english.data, english.files) for locale in LOCALES}


def babel_dollars(value: float, places: int, locale: str) -> str:
    """Dollars as the packets wrote them with babel: the currency pattern with `places` digits."""
    if places == 0:
        value = math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)
    pattern = copy.copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (places, places)
    return pattern.apply(round(value, places) + 0.0, locale, currency="USD", currency_digits=False)


def babel_percent(share: float, places: int, locale: str) -> str:
    pattern = copy.copy(Locale.parse(locale).percent_formats[None])
    pattern.frac_prec = (places, places)
    return pattern.apply(share, locale)


@pytest.mark.parametrize("locale", LOCALES)
@SETTINGS
@given(value=AMOUNTS)
@example(value=1234567.891)
def test_dollars_rates_and_shares_are_babels(languages, locale: str, value: float) -> None:
    lang = languages[locale]
    for places in (0, 2, 4):
        assert lang.dollars(value, places) == babel_dollars(value, places, locale)
    assert lang.money(value) == babel_dollars(value / 100, 2, locale)
    for places in (0, 1, 2):
        assert lang.percent(value / 1e6, places) == babel_percent(value / 1e6, places, locale)
    assert lang.number(value, 2) == (
        format_decimal(round(value), locale=locale)
        if value == round(value)
        else format_decimal(round(value, 2), format="#,##0.##", locale=locale)
    )
    assert lang.decimal(value / 1e6) == format_decimal(value / 1e6, format="0.000000", locale=locale)
    assert lang.decimal(value / 1e6, 3) == format_decimal(value / 1e6, format="0.000", locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
@SETTINGS
@given(cents=CENTS)
def test_whole_cents_are_babels(languages, locale: str, cents: int) -> None:
    lang = languages[locale]
    assert lang.money(cents) == babel_dollars(cents / 100, 2, locale)
    assert lang.money(cents, 0) == babel_dollars(cents / 100, 0, locale)
    assert lang.signed_money(cents).endswith(babel_dollars(abs(cents) / 100, 2, locale))
    assert lang.number(cents) == format_decimal(cents, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
@SETTINGS
@given(value=st.integers(min_value=-(10**30), max_value=10**30) | st.sampled_from([0, -1, 10**25, 10**26 - 1, 10**26, -(10**23)]))
def test_whole_numbers_are_babels(languages, locale: str, value: int) -> None:
    """An int goes through `Pattern.apply` without a Decimal: the same text as babel, with the
    fraction's zeros a pattern asks for, and babel's own work past `DIGITS` digits."""
    lang = languages[locale]
    same(lambda: lang.number(value), lambda: format_decimal(value, locale=locale))
    same(lambda: lang.decimal(value, 3), lambda: format_decimal(value, format="0.000", locale=locale))
    for fewest, most in ((0, 0), (0, 3), (2, 2), (1, 4)):
        pattern = copy.copy(Locale.parse(locale).decimal_formats[None])
        pattern.frac_prec = (fewest, most)
        same(lambda: lang._pattern("count").apply(value, fewest, most), lambda: pattern.apply(value, locale))


def same(ours, babels) -> None:
    """The same text, or the same error (babel's decimal context refuses numbers of 28 digits and more)."""
    try:
        expected = babels()
    except ArithmeticError as error:
        with pytest.raises(type(error)):
            ours()
        return
    assert ours() == expected


@pytest.mark.parametrize("locale", ["en_US", "es_US"])
def test_the_reference_is_babels_public_formatting(locale: str) -> None:
    """The references above are what babel's own format_currency and format_percent give (money
    after the packets' own rounding to the cent, Python's `round`)."""
    for value in (0.0, -1234.5, 1234567.891, 0.125, 2.675):
        assert babel_dollars(value, 2, locale) == format_currency(round(value, 2) + 0.0, "USD", locale=locale)
        assert babel_percent(value / 1e4, 0, locale) == format_percent(value / 1e4, locale=locale)


def test_a_locale_the_fast_path_cannot_write_goes_to_babel(languages) -> None:
    assert languages["hi_IN"].money(123456789) == "$12,34,567.89"  # grouped 3 then 2: babel's work
    assert languages["fr_FR"].money(123456789) == "1\u202f234\u202f567,89\u00a0$US"


def test_a_line_of_nothing_or_a_position_never_takes_a_rounding_cent():
    """Found by the property test: a school cut to $4.12 by a gain cap, whose lines were a foundation,
    a position and lines of $0, had -$0.01 on a position of 0 FTE. Rounding units go to lines that
    are something and are not positions; a school with none hands them back as its residual."""
    import numpy as np

    from wsf.engine.solve import split

    parts = np.array([[0.0, 10_000_000.0, 1_500_000.0, 0.0], [0.0, 0.0, 1_500_000.0, 0.0], [2.5, 2.5, 0.0, 0.0]])
    fixed = np.array([False, False, True, True])
    units, residual = split(parts, np.array([11_499_999, 1_499_998, 6]), fixed)
    assert units.tolist() == [[0, 9_999_999, 1_500_000, 0], [0, 0, 1_500_000, 0], [3, 3, 0, 0]]
    assert residual.tolist() == [0, -2, 0]

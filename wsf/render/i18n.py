"""Packet languages: one TOML file of sentences per language, numbers formatted by babel.

A language is `templates/packets/i18n/<code>.toml` (or the same path under a district's
`--templates` folder): a `[meta]` table (`name`, `locale`, `pdf_lang`) and one table per part
of the packets, each key a sentence. Adding `fr.toml` adds French; no code changes. A new
language must have every key the English file has (a missing sentence is an error naming
it, never a blank). A district file for a language that ships (its own `es.toml`) only needs
the sentences it changes: they are laid over the shipped ones.

Sentences are plain text with `{name}` placeholders. `say` fills them: the values are
escaped, and numbers come out formatted for the language's locale: babel's number patterns
for money, percentages and counts, read once per language and applied with Python's own
`format` (`Pattern`: exactly babel's output, an order of magnitude faster, which matters at
a hundred numbers a packet). The formula's labels are never translated: they are the
formula's words.
"""

from __future__ import annotations

import copy
import math
import os
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from string import Formatter
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, parse_pattern
from markupsafe import Markup, escape

from wsf.errors import WsfError
from wsf.render.confine import inside
from wsf.render.escaping import escape_text

I18N = "i18n"
REFERENCE = "en"
CURRENCY = "USD"
MONEY, PERCENT, COUNT = "money", "percent", "count"  # the locale's own patterns, by use
DIGITS = 26  # longer numbers go to babel, which rounds them in a 28-digit decimal context (or raises)
EXACT_CENTS = 10**15  # below it, cents / 100 as a float reads back as exactly those cents


class Text:
    """Sentences of one part of a packet, read as attributes in templates (`packet.text.council.lead`).

    A missing key raises, so a template that names a sentence a language lacks fails loudly.
    Each sentence is also an attribute of the object itself, so that reading one is a plain
    attribute lookup (Python tries those before `__getattr__`, and a failed try costs an
    exception: a packet reads some thirty sentences); names starting with `_` are not read.
    """

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self._name = name
        self._data = {k: Text(f"{name}.{k}", v) if isinstance(v, dict) else v for k, v in data.items()}
        self.__dict__.update((k, v) for k, v in self._data.items() if not k.startswith("_"))

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(f"no sentence {self._name}.{key} in the language file") from None

    def __getitem__(self, key: str) -> Any:
        return self.__getattr__(key)

    def __contains__(self, key: str) -> bool:
        return key in self._data


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    locale: str
    data: dict[str, Any]
    files: tuple[Path, ...]

    @cached_property
    def formatted(self) -> dict[tuple, Any]:
        """Phrases already formatted in this language, by their value (`wsf.render.phrases`)."""
        return {}

    @cached_property
    def text(self) -> Text:
        return Text(self.code, self.data)

    @property
    def tag(self) -> str:
        """The locale as a BCP 47 tag, for `<html lang>` and `xml:lang` (`es-US`)."""
        return self.locale.replace("_", "-")

    @cached_property
    def _locale(self) -> Locale:
        return Locale.parse(self.locale)

    @cached_property
    def _patterns(self) -> dict[str, Pattern]:
        """The locale's patterns by use, and patterns written out here (`0.000000`) by their text."""
        locale = self._locale
        return {
            MONEY: Pattern(locale.currency_formats["standard"], locale, CURRENCY),
            PERCENT: Pattern(locale.percent_formats[None], locale),
            COUNT: Pattern(locale.decimal_formats[None], locale),
        }

    def _pattern(self, name: str) -> Pattern:
        if name not in self._patterns:
            self._patterns[name] = Pattern(parse_pattern(name), self._locale)
        return self._patterns[name]

    def sentence(self, key: str) -> str:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise WsfError(f"no sentence {key!r}", file=self.files[-1], fix=f"add {key} to {self.code}.toml")
            node = node[part]
        if not isinstance(node, str):
            raise WsfError(f"{key!r} is a table, not a sentence", file=self.files[-1])
        return node

    def say(self, key: str, **values: Any) -> Markup:
        """The sentence `key`, its placeholders filled with escaped values (Markup passes as is)."""
        template, names_only = self._templates.get(key) or self._template(key)
        try:
            if names_only:  # what Markup.format does for a bare {name}, without its Python-level formatter
                return Markup(str.format_map(template, {k: escape_text(v) for k, v in values.items()}))
            return template.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise WsfError(f"sentence {key!r} has a placeholder that is not available: {exc}", file=self.files[-1]) from None

    @cached_property
    def _templates(self) -> dict[str, tuple[Markup, bool]]:
        return {}

    def _template(self, key: str) -> tuple[Markup, bool]:
        """The sentence escaped, and whether its placeholders are all bare `{name}`s; read once per key."""
        template = escape(self.sentence(key))
        try:
            fields = [(name, spec, conversion) for _, name, spec, conversion in Formatter().parse(template) if name is not None]
            names_only = all(name.isidentifier() and not spec and conversion is None for name, spec, conversion in fields)
        except ValueError:  # unbalanced braces: Markup.format raises the error
            names_only = False
        self._templates[key] = (template, names_only)
        return template, names_only

    def counted(self, key: str, count: float) -> str:
        """`key`, or `key_one` when the count is exactly 1 (the singular sentence)."""
        return f"{key}_one" if count == 1 else key

    def plain(self, key: str, **values: Any) -> str:
        """The sentence as plain text (templates escape it): for labels, table cells and SVG text."""
        try:
            return self.sentence(key).format(**{k: str(v) for k, v in values.items()})
        except (KeyError, IndexError, ValueError) as exc:
            raise WsfError(f"sentence {key!r} has a placeholder that is not available: {exc}", file=self.files[-1]) from None

    def strong(self, key: str, **values: Any) -> Markup:
        """As `say`, with every value in bold: for lead sentences whose numbers matter."""
        return self.say(key, **{k: bold(v) for k, v in values.items()})

    # -- numbers ---------------------------------------------------------------------

    def money(self, cents: float | None, places: int = 2) -> str:
        """Dollars from integer cents, as the locale writes them; `places` 0 rounds to the dollar."""
        if type(cents) is int and places in (0, 2):
            return self._pattern(MONEY).cents(cents, places) or self.dollars(cents / 100, places)
        return self.dollars(None if cents is None else cents / 100, places)

    def dollars(self, value: float | None, places: int = 2) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return self.sentence("common.not_available")
        if places == 0:
            value = math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)
        return self._pattern(MONEY).apply(round(value, places) + 0.0, places, places)

    def rate(self, value: float | None) -> str:
        """A rate: cents when exact, else to a hundredth of a cent (so count x rate can be checked)."""
        if value is None:
            return ""
        exact = abs(value * 100 - round(value * 100)) < 1e-6
        return self.dollars(value, 2) if exact else self.dollars(value, 4)

    def signed_money(self, cents: int, places: int = 2) -> str:
        text = self.money(abs(cents), places)
        return text if text == self.money(0, places) else ("+" if cents > 0 else "\u2212") + text

    def number(self, value: float | None, places: int = 2) -> str:
        if value is None:
            return self.sentence("common.not_available")
        if value == round(value):
            return self._pattern(COUNT).apply(round(value))
        return self._pattern(f"#,##0.{'#' * places}").apply(round(value, places))

    def percent(self, share: float | None, places: int = 1, signed: bool = False) -> str:
        if share is None or not math.isfinite(share):
            return self.sentence("common.not_available")
        text = self._pattern(PERCENT).apply(abs(share) if signed else share, places, places)
        if signed and round(share * 100, places) != 0:
            text = ("+" if share > 0 else "\u2212") + text
        return text

    def decimal(self, value: float, places: int = 6) -> str:
        return self._pattern(f"0.{'0' * places}").apply(value)


class Pattern:
    """A babel number pattern applied as babel applies it (`NumberPattern.apply`), by Python's `format`
    where that gives the same text: finite values, digits grouped by threes or not at all, at least one
    integer digit, no quoted text. Elsewhere babel itself formats.

    As in babel, a value is read as `Decimal(str(value))`, scaled (x100 for a percentage), rounded
    half-even to the fraction's most digits, and trailing zeros dropped down to its fewest.
    """

    def __init__(self, pattern: NumberPattern, locale: Locale, currency: str | None = None) -> None:
        self.babel, self.locale, self.currency = pattern, locale, currency
        symbols = locale.number_symbols["latn"]
        group, point = symbols.get("group", ","), symbols.get("decimal", ".")
        sign = locale.currency_symbols.get(currency, currency) if currency else "\u00a4"
        self.prefix = tuple(p.replace("\u00a4", sign) for p in pattern.prefix)
        self.suffix = tuple(p.replace("\u00a4", sign) for p in pattern.suffix)
        self.grouping = {(3, 3): ",", (1000, 1000): ""}.get(pattern.grouping)
        self.symbols = None if (group, point) == (",", ".") else str.maketrans({",": group, ".": point})
        literal = "".join([*pattern.prefix, *pattern.suffix, group, point, sign])
        self.fast = (
            self.grouping is not None
            and pattern.int_prec[0] <= 1
            and not pattern.exp_prec
            and "@" not in pattern.pattern
            and "'" not in literal
            and "\u00a4\u00a4" not in literal
        )
        if self.grouping is not None:
            self._whole = ("{:" + self.grouping + "}").format  # whole dollars, grouped as the locale groups them
            self._cents = ("{:" + self.grouping + "}.{:02d}").format  # and cents

    def apply(self, value: float, fewest: int | None = None, most: int | None = None) -> str:
        """`value` with between `fewest` and `most` fraction digits (the pattern's own when not given)."""
        if fewest is None or most is None:
            fewest, most = self.babel.frac_prec
        if type(value) is int and self.fast and not self.babel.scale and most < DIGITS and abs(value) < 10 ** (DIGITS - most):
            # a whole number (a count): its digits, and as many zeros after the point as `fewest` asks
            zeros = min(fewest, most)
            return self._signed(self._whole(abs(value)) + ("." + "0" * zeros if zeros else ""), value < 0)
        number = Decimal(value if type(value) is int else str(value))
        number = number.scaleb(self.babel.scale) if self.babel.scale else number
        if not (self.fast and number.is_finite() and number.adjusted() + most < DIGITS):
            return self._babel(value, fewest, most)
        text = format(abs(number), f"{self.grouping}.{most}f")
        if fewest < most:
            whole, _, fraction = text.partition(".")
            fraction = fraction.rstrip("0").ljust(fewest, "0")
            text = f"{whole}.{fraction}" if fraction else whole
        return self._signed(text, number.is_signed())

    def cents(self, cents: int, places: int) -> str | None:
        """`dollars(cents / 100, places)` for `places` 0 or 2, by integer arithmetic (None where that
        cannot be used). Below 10**15 cents the float `cents / 100` reads back as exactly those
        cents, so the digits are the integer's own, and 0 places round half away from zero."""
        negative, cents = cents < 0, abs(cents)
        if not self.fast or cents >= EXACT_CENTS:
            return None
        if places == 0:
            whole = (cents + 50) // 100
            return self._signed(self._whole(whole), negative and whole > 0)
        return self._signed(self._cents(*divmod(cents, 100)), negative)

    def _signed(self, digits: str, negative: bool) -> str:
        """Digits written with "," and "." as the locale writes them, between its prefix and suffix."""
        text = digits if self.symbols is None else digits.translate(self.symbols)
        return self.prefix[negative] + text + self.suffix[negative]

    def _babel(self, value: float, fewest: int, most: int) -> str:
        pattern = copy.copy(self.babel)
        pattern.frac_prec = (fewest, most)
        return pattern.apply(value, self.locale, currency=self.currency, currency_digits=False)


def bold(value: Any) -> Markup:
    """A value to show in bold inside a sentence (escaped)."""
    return Markup(f"<strong>{escape_text(value)}</strong>")


def language_files(code: str, folders: list[Path]) -> list[Path]:
    """The folders' files for `code`, the district's first; one that leads out of its folder (a link),
    or is not a regular file, is refused before it is read (`wsf.render.confine`)."""
    files = []
    for folder in folders:
        path = folder / I18N / f"{code}.toml"
        if os.path.lexists(path):
            inside(folder, path)  # a WsfError naming the file, unless it is a regular file of the folder
            files.append(path)
    return files


def available(folders: list[Path]) -> list[str]:
    return sorted({p.stem for f in folders if (f / I18N).is_dir() for p in (f / I18N).glob("*.toml")})


def load_language(code: str, folders: list[Path]) -> Language:
    """A language from the packet folders, the district's first: shipped sentences, then the district's."""
    if not code or not code.replace("_", "").replace("-", "").isalnum():
        raise WsfError(f"{code!r} is not a language code", key="--lang", fix="give codes such as en,es")
    shipped = folders[-1]
    files = list(reversed(language_files(code, folders)))  # shipped first, the district's laid over it
    if not files:
        raise WsfError(
            f"no translation file for language {code!r}",
            key="--lang",
            fix=f"available: {', '.join(available(folders))}; add {I18N}/{code}.toml to the --templates folder to add one",
        )
    data: dict[str, Any] = {}
    read = {path: _read(path) for path in files}
    for path in files:
        data = _merge(data, read[path])
    reference_file = shipped / I18N / f"{REFERENCE}.toml"
    reference = read[reference_file] if reference_file in read else _read(reference_file)  # English is read once
    missing = sorted(_keys(reference) - _keys(data))
    if missing:
        listed = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise WsfError(
            f"{len(missing)} sentence{'s' if len(missing) > 1 else ''} missing: {listed}",
            file=files[-1],
            fix=f"every key of {REFERENCE}.toml needs a translation",
        )
    meta = data.get("meta", {})
    locale = str(meta.get("locale", code))
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        raise WsfError(
            f"unknown locale {locale!r}", file=files[-1], key="meta.locale", fix="a babel locale such as en_US or es_US"
        ) from None
    return Language(code, str(meta.get("name", code)), locale, data, tuple(files))


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WsfError(f"not valid TOML: {exc}", file=path, fix='each sentence is key = "text" under its [table]') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WsfError(f"cannot read translation file: {exc}", file=path) from None
    except RecursionError:
        raise WsfError("not a translation file: arrays or tables nested hundreds deep", file=path) from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, value in data.items():
        name = f"{prefix}{key}"
        keys |= _keys(value, name + ".") if isinstance(value, dict) else {name}
    return keys

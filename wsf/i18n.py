"""Packet languages: one TOML file of sentences per language, numbers formatted by babel.

A language is `templates/packets/i18n/<code>.toml` (or the same path under a district's
`--templates` folder): a `[meta]` table (`name`, `locale`, `pdf_lang`) and one table per part
of the packets, each key a sentence. Adding `fr.toml` adds French; no code changes. A new
language must have every key the English file has (a missing sentence is an error naming
it, never a blank). A district file for a language that ships (its own `es.toml`) only needs
the sentences it changes: they are laid over the shipped ones.

Sentences are plain text with `{name}` placeholders. `say` fills them: the values are
escaped, and numbers come out formatted for the language's locale (money with
`babel.numbers.format_currency`, percentages and counts with `format_percent`,
`format_decimal`). The formula's labels are never translated: they are the formula's words.
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from markupsafe import Markup, escape

from wsf.errors import WsfError

I18N = "i18n"
REFERENCE = "en"
CURRENCY = "USD"


class Text:
    """Sentences of one part of a packet, read as attributes in templates (`packet.text.council.lead`).

    A missing key raises, so a template that names a sentence a language lacks fails loudly.
    """

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self._name = name
        self._data = {k: Text(f"{name}.{k}", v) if isinstance(v, dict) else v for k, v in data.items()}

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
    def text(self) -> Text:
        return Text(self.code, self.data)

    @cached_property
    def _locale(self) -> Locale:
        return Locale.parse(self.locale)

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
        template = escape(self.sentence(key))
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise WsfError(f"sentence {key!r} has a placeholder that is not available: {exc}", file=self.files[-1]) from None

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
        return self.dollars(None if cents is None else cents / 100, places)

    def dollars(self, value: float | None, places: int = 2, most: int | None = None) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return self.sentence("common.not_available")
        pattern = copy.copy(self._locale.currency_formats["standard"])
        pattern.frac_prec = (places, most if most is not None else places)
        if places == 0:
            value = math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)
        return pattern.apply(round(value, pattern.frac_prec[1]) + 0.0, self._locale, currency=CURRENCY, currency_digits=False)

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
            return format_decimal(round(value), locale=self._locale)
        return format_decimal(round(value, places), format=f"#,##0.{'#' * places}", locale=self._locale)

    def percent(self, share: float | None, places: int = 1, signed: bool = False) -> str:
        if share is None or not math.isfinite(share):
            return self.sentence("common.not_available")
        pattern = copy.copy(self._locale.percent_formats[None])
        pattern.frac_prec = (places, places)
        text = pattern.apply(abs(share) if signed else share, self._locale)
        if signed and round(share * 100, places) != 0:
            text = ("+" if share > 0 else "\u2212") + text
        return text

    def decimal(self, value: float, places: int = 6) -> str:
        return format_decimal(value, format=f"0.{'0' * places}", locale=self._locale)


def bold(value: Any) -> Markup:
    """A value to show in bold inside a sentence (escaped)."""
    return Markup("<strong>{}</strong>").format(value)


def language_files(code: str, folders: list[Path]) -> list[Path]:
    return [f / I18N / f"{code}.toml" for f in folders if (f / I18N / f"{code}.toml").is_file()]


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
    for path in files:
        data = _merge(data, _read(path))
    reference = _read(shipped / I18N / f"{REFERENCE}.toml")
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

"""The components' phrases in a reader's language: one renderer for the CLI, packets and workbook.

A `Phrase` names a sentence of the language file's `[how]` table; its values are typed
(`Money`, `Share`, `Count`, …) and formatted here by the language's own patterns. A phrase whose
`schools` or `count` value is exactly 1 takes the sentence `<id>_one` when the language has it.
`say` returns escaped markup for HTML; `plain` returns text (a terminal, a spreadsheet cell).

Most phrases are the same at every school (a weight's rule, a grade's base rate): each is
formatted once per language and kept by its value (`_key`), which the packets of a big run ask
again for every school; at most `KEPT` of them, so a run of 10,000 schools does not keep every
school's own counts. A key is a phrase's type and fields, numbers by their exact value and
type, so two phrases share a text only when they are equal in everything a renderer reads.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Any

from markupsafe import Markup, escape

from wsf.engine.components.lines import Cents, Count, Factor, Label, Money, Phrase, Quantity, Share, Words
from wsf.render import TEMPLATES
from wsf.render.i18n import Language, load_language

TABLE = "how"
SINGULAR = ("schools", "count")  # the value whose being 1 picks the singular sentence


def value_text(lang: Language, value: Any) -> str:
    """One value as the language writes it."""
    if type(value) in LEAVES:
        return _once(lang, "value", value, lambda: _value_text(lang, value))
    return _value_text(lang, value)


def _value_text(lang: Language, value: Any) -> str:
    if isinstance(value, Money):
        return lang.rate(value.value) if value.places is None else lang.dollars(value.value, value.places)
    if isinstance(value, Cents):
        return lang.money(value.value)
    if isinstance(value, Share):
        return lang.percent(value.value, value.places)
    if isinstance(value, Count):
        return lang.number(value.value)
    if isinstance(value, Quantity):
        key = lang.counted(f"units.quantity_{value.unit}", value.value)
        key = key if key.rsplit(".", 1)[1] in lang.data.get("units", {}) else f"units.quantity_{value.unit}"
        return lang.plain(key, quantity=lang.number(value.value, 4))
    if isinstance(value, Factor):
        return lang.decimal(value.value, value.places) if value.fixed else lang.number(value.value, value.places)
    if isinstance(value, Label):
        return value.shown(lang.code)
    if isinstance(value, Words):
        return lang.sentence(f"{TABLE}.{value.joiner}").join(value_text(lang, item) for item in value.items)
    if isinstance(value, Phrase):
        return plain(lang, value)
    return "" if value is None else str(value)


def sentence_id(lang: Language, phrase: Phrase) -> str:
    key = f"{TABLE}.{phrase.id}"
    one = next((phrase.values[v] for v in SINGULAR if isinstance(phrase.values.get(v), Count)), None)
    if one is not None and one.value == 1 and phrase.id + "_one" in lang.data.get(TABLE, {}):
        return key + "_one"
    return key


def plain(lang: Language, phrase: Phrase) -> str:
    """The phrase as text."""
    return _once(lang, "plain", phrase, lambda: lang.plain(sentence_id(lang, phrase), **{k: value_text(lang, v) for k, v in phrase.values.items()}))


def say(lang: Language, phrase: Phrase) -> Markup:
    """The phrase as escaped markup (values escaped, the sentence's own words as written)."""
    return _once(lang, "say", phrase, lambda: lang.say(sentence_id(lang, phrase), **{k: escape(value_text(lang, v)) for k, v in phrase.values.items()}))


def _once(lang: Language, form: str, phrase: Any, write):
    """`write()`, kept in the language's `formatted` by the phrase's (or phrases') key; a phrase
    holding a value of a type `_key` does not know is written every time."""
    try:
        key = (form, _key(phrase) if type(phrase) is not tuple else tuple(map(_key, phrase)))
    except Unkeyed:
        return write()
    known = lang.formatted.get(key)
    if known is None:
        if len(lang.formatted) >= KEPT:  # most are one school's (its counts): start again, and keep memory bounded
            lang.formatted.clear()
        known = lang.formatted[key] = write()
    return known


KEPT = 4096  # phrases kept per language, at most
LEAVES = {kind: tuple(f.name for f in fields(kind)) for kind in (Money, Cents, Share, Count, Quantity, Factor)}
ATOMS = (str, int, bool, type(None))


class Unkeyed(Exception):
    """A value `_key` does not know: its phrase is not kept."""


def _key(value: Any) -> tuple:
    """What a renderer reads of a value, hashable: its type and fields, all the way down; a float
    by its exact value (`float.hex`: -0.0 is not 0.0, and 1.0 is not the integer 1)."""
    kind = type(value)
    if kind is Phrase:
        return (kind, value.id, *[(name, _key(v)) for name, v in value.values.items()])
    if kind in LEAVES:
        return (kind, *[_key(getattr(value, name)) for name in LEAVES[kind]])
    if kind is float:
        return (kind, value.hex())
    if kind in ATOMS:
        return (kind, value)
    if kind is Words:
        return (kind, value.joiner, *map(_key, value.items))
    if kind is Label:
        return (kind, value.text, *[(code, _key(text)) for code, text in value.labels.items()])
    raise Unkeyed(kind)


def rule_text(lang: Language, phrases: tuple[Phrase, ...]) -> str:
    """A line's rule as one text: its phrases joined as the language joins rule parts."""
    return _once(lang, "rule_text", phrases, lambda: lang.sentence(f"{TABLE}.parts").join(plain(lang, p) for p in phrases))


def rule_markup(lang: Language, phrases: tuple[Phrase, ...]) -> Markup:
    return _once(lang, "rule", phrases, lambda: Markup(escape(lang.sentence(f"{TABLE}.parts"))).join(say(lang, p) for p in phrases))


@cache
def shipped(code: str = "en") -> Language:
    """A shipped language, for what the CLI prints and the workbook writes."""
    return load_language(code, [TEMPLATES / "packets"])

"""`--set KEY=VALUE`: a formula with some of its rates changed, validated as if written in the file.

The key paths are the ones `wsf sweep --vary` takes (`weights.english_learner.weight`,
`base.K-3`, `base_adjustment[0].rate`, `pot.amount`, ...). The value is read as TOML reads a
number, put into the file's own data at that path, and the whole formula is validated again, so
`--set weights.english_learner.weight=40` is refused with the message the file would get. The
result remembers what was set (`LoadedFormula.overrides`): outputs record it in meta.json.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from typing import Any

from wsf.engine.params import key_parts, lookup
from wsf.errors import WsfError
from wsf.formula.model import LoadedFormula, read_formula_data, validate_formula

EXAMPLE = "e.g. --set weights.english_learner.weight=0.25"


def parse_set(text: str) -> tuple[str, int | float]:
    """`weights.english_learner.weight=0.25` -> ("weights.english_learner.weight", 0.25)."""
    match = re.fullmatch(r"\s*([^=\s]+)\s*=\s*(\S+)\s*", text)
    if not match:
        raise WsfError(f"{text!r} is not KEY=VALUE", key="--set", fix=EXAMPLE)
    path, value = match.group(1), match.group(2)
    try:
        number = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        number = None
    if isinstance(number, bool) or not isinstance(number, int | float):
        hint = ("a share is written as a fraction (20% is 0.20)" if value.endswith("%") else
                "dollars are written without $ or commas (1_000 or 1000)" if any(c in value for c in "$,") else
                "write a number as the formula file would (0.25, 1_000, 2e5)")
        raise WsfError(f"{path}={value}: {value!r} is not a number as a formula file writes it", key="--set", fix=hint)
    return path, number


def known(path: str, allowed: list[str], formula: LoadedFormula, option: str) -> None:
    """Refuse a key path the formula has no rate at, naming the nearest ones it has."""
    if path in allowed:
        return
    near = difflib.get_close_matches(path, allowed, n=3, cutoff=0.5)
    fix = (f"did you mean {' or '.join(near)}?" if near else
           f"the rates of this formula are: {', '.join(allowed[:12])}{' ...' if len(allowed) > 12 else ''}")
    raise WsfError(f"the formula sets no rate {path!r}", file=formula.path, key=option, fix=fix)


def with_overrides(formula: LoadedFormula, sets: tuple[str, ...] | list[str]) -> LoadedFormula:
    """The formula with each `KEY=VALUE` of `sets` written into it, validated as the file would be."""
    if not sets:
        return formula
    from wsf.engine.sweep import sweepable  # the sweep imports the allocation, which the loaders import

    allowed = sweepable(formula.model)
    overrides: dict[str, Any] = {}
    for text in sets:
        path, value = parse_set(text)
        known(path, allowed, formula, "--set")
        if path in overrides:
            raise WsfError(f"{path} is set twice ({overrides[path]} and {value})", key="--set", fix="give each key one --set")
        overrides[path] = value
    data, _, _, tables = read_formula_data(formula.path)
    for path, value in overrides.items():
        node, parts = data, key_parts(path)
        try:
            for part in parts[:-1]:
                node = node[part] if isinstance(part, int) else node.setdefault(part, {})
            node[parts[-1]] = value
        except (KeyError, IndexError, TypeError, AttributeError):  # a rate the model has but the file does not write
            raise WsfError(f"{path} is not written in the formula file, so --set cannot change it", file=formula.path, key="--set",
                           fix=f"write {path} in the file, or sweep it with --vary") from None
    try:
        model = validate_formula(data, path=formula.path)
    except WsfError as error:
        sets_text = ", ".join(f"{k}={v}" for k, v in overrides.items())
        faults = getattr(error, "errors", [error])
        problem = "; ".join(f"{e.key + ': ' if e.key else ''}{e.problem}" for e in faults)
        fixes = [e.fix for e in faults if e.fix]
        raise WsfError(f"{sets_text} makes the formula invalid: {problem}", file=formula.path, key="--set",
                       fix="; ".join(fixes) or None) from None
    return LoadedFormula(model=model, path=formula.path, sha256=formula.sha256, tables=tables, overrides=overrides,
                         original={p: _value(formula, p) for p in overrides})


def described(formula: LoadedFormula) -> list[str]:
    """One line per override: the value set and the file's own."""
    return [f"{path} = {value}" + ("" if formula.original.get(path) is None else f" (the file: {formula.original[path]})")
            for path, value in formula.overrides.items()]


def _value(formula: LoadedFormula, path: str) -> Any:
    try:
        return lookup(formula.model, path)
    except (KeyError, IndexError, AttributeError, TypeError):
        return None

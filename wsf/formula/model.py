"""Formula files: TOML -> dict -> one strict, frozen pydantic model.

The reader only turns the file into a dict; the model decides what is valid. Unknown keys
are refused everywhere, so a typo can never pass silently. The contract is
`shared/spec/formula-files.md`; additions are documented in the README.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from wsf.engine.components import needs
from wsf.engine.components.base import PER_CAPITA, BaseAdjustment, GradeWeight, PerCapita
from wsf.engine.components.foundations import Foundation
from wsf.engine.components.positions import FTE, Cost, Position, is_span
from wsf.engine.components.weights import Role, Weight
from wsf.errors import WsfError
from wsf.formula.grades import ALL, parse_span
from wsf.formula.objects import FUNDING_KEYS, Funding
from wsf.formula.types import FIX, MAX_MONEY, Key, Labels, Money, Rate, Share, Strict, as_fraction, check_usual
from wsf.lcap.grants import Grants

BASE_FUNDING = "base_funding"  # the model's name for the base line's objects and resource
RESERVED = ("school_id", "name", "enrollment", "base", "transition", "total", "per_pupil")


class FormulaInfo(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    title: str | None = None
    titles: Labels = {}  # the title in other languages: titles = { es = "..." }
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] = "en"  # the language `title` and every `label` are in
    fiscal_year: str | None = None
    source: str | None = None
    unit: Literal["pupils", "ada"] = "pupils"  # "ada": enrollment is average daily attendance, fractional
    # the levels a school may have (SFUSD: ES, K-8, MS, HS); a school of any other is refused, not given nothing by rules by level
    levels: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None

    def title_in(self, code: str) -> str:
        """The title as a reader of language `code` reads it (the id when there is none)."""
        return self.titles.get(code) or self.title or self.id


class DerivedCount(Strict):
    any_of: Annotated[list[Key], Field(min_length=1)]
    label: str | None = None


class Pot(Strict):
    amount: Annotated[float, Field(gt=0, le=MAX_MONEY, allow_inf_nan=False)]
    solve: Literal["base"] = "base"


class Transition(Strict):
    """From last year's allocations toward the formula (needs a prior-allocation input)."""

    max_loss: Share | None = None
    max_gain: Rate | None = None
    gap_closure: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None
    basis: Literal["total", "per_pupil"] = "total"
    unusual: bool = False  # a gain cap beyond USUAL is meant

    @model_validator(mode="after")
    def _some_rule(self) -> Transition:
        if self.max_loss is None and self.max_gain is None and self.gap_closure is None:
            raise ValueError("give at least one of max_loss, max_gain or gap_closure")
        check_usual(self.max_gain, "max_gain", "max_gain", "[transition]", self.unusual)
        return self


class Rounding(Strict):
    """The unit of every amount, and what is rounded: by default each school's total (to the pot
    by largest remainder) with the components split to it; `per_span` and `per_line` round the
    lines one by one instead, as the published formula does, and the total is their sum."""

    to: Literal["cent", "dollar"] = "cent"
    per_span: bool = False  # CDE's rule: each component per grade span, rounded half up, then summed
    per_line: bool = False  # SFUSD's rule: each component from its unrounded rate, rounded half up, then summed

    @model_validator(mode="after")
    def _one_rule(self) -> Rounding:
        if self.per_span and self.per_line:
            raise ValueError("give one of per_span (each grade span's piece rounded) or per_line (each line rounded), not both")
        return self

    @property
    def unit_cents(self) -> int:
        return 100 if self.to == "dollar" else 1

    @property
    def by_line(self) -> str | None:
        """Which rule rounds the lines one by one (the key that asked for it), or None: the total is rounded."""
        return "per_span" if self.per_span else "per_line" if self.per_line else None


class SalaryTable(Strict):
    """`[salary_table] file = "salaries.csv"`: the `[costs]` kept in a file beside the formula (one
    row per job class), read with it and hashed into every output's provenance."""

    file: Annotated[str, Field(min_length=1)]
    source: str | None = None


class Formula(Strict):
    formula: FormulaInfo
    per_capita: PerCapita | None = None
    base: Annotated[dict[str, Money | GradeWeight], Field(min_length=1)]
    # the base line's `objects` and `resource`, written in [base] beside its spans (see _base_funding)
    base_funding: Funding = Funding()
    base_adjustment: list[BaseAdjustment] = []
    weights: dict[Key, Weight] = {}
    counts: dict[Key, DerivedCount] = {}
    foundations: dict[Key, Foundation] = {}
    positions: dict[Key, Position] = {}  # staffing rules: FTE by rule, costed (KEY_fte and KEY in the table)
    costs: dict[Key, Cost] = {}  # what one FTE (or one daily hour) of a position costs: average salary and benefits
    salary_table: SalaryTable | None = None  # or, merged into costs, from a file
    pot: Pot | None = None
    transition: Transition | None = None
    rounding: Rounding = Rounding()
    # what a data column stands for, when no weight counts it: `[roles] poverty = "frl"`
    roles: dict[Role, Key] = {}
    # which lines are LCFF's base, supplemental and concentration grants: `wsf lcap percentages` reads them
    lcap: Grants | None = None

    @model_validator(mode="before")
    @classmethod
    def _base_funding(cls, data: Any) -> Any:
        """`[base]` holds the spans and, beside them, the base line's `objects` and `resource`
        (no span is called so): they are taken out into `base_funding`, which a file cannot name."""
        if not isinstance(data, dict):
            return data
        if BASE_FUNDING in data:
            raise ValueError(f"unknown key {BASE_FUNDING!r}; the base's objects and resource are written in [base]")
        base = data.get("base")
        if not isinstance(base, dict) or not any(k in base for k in FUNDING_KEYS):
            return data
        funding = {k: base[k] for k in FUNDING_KEYS if k in base}
        return {**data, "base": {k: v for k, v in base.items() if k not in FUNDING_KEYS}, BASE_FUNDING: funding}

    @model_serializer(mode="wrap")
    def _as_written(self, handler) -> dict[str, Any]:
        """The formula as a file writes it: the base's objects and resource back in [base]."""
        data = handler(self)
        funding = data.pop(BASE_FUNDING, None) or {}
        if isinstance(data.get("base"), dict):
            data["base"] = {**data["base"], **{k: v for k, v in funding.items() if v is not None}}
        return data

    @field_validator("base")
    @classmethod
    def _spans(cls, base: dict[str, Any]) -> dict[str, Any]:
        if ALL in base and len(base) > 1:
            raise ValueError('"all" covers every grade; it cannot stand beside other spans')
        seen: dict[str, str] = {}
        for span in base:
            for grade in parse_span(span):
                if grade in seen:
                    raise ValueError(f'spans "{seen[grade]}" and "{span}" overlap at grade {grade}')
                seen[grade] = span
        return base

    @model_validator(mode="after")
    def _cross_checks(self) -> Formula:
        covered = self.grade_span
        for i, adj in enumerate(self.base_adjustment):
            missing = [g for g in parse_span(adj.span) if g not in covered]
            if missing:
                raise ValueError(
                    f"base_adjustment[{i}].span: grades {', '.join(missing)} of "
                    f'"{adj.span}" have no base rate; adjust a span listed in [base]'
                )
        if self.per_capita is None and any(isinstance(v, GradeWeight) for v in self.base.values()):
            raise ValueError("base: a span is written as a weight, but there is no [per_capita] amount it multiplies")
        for key, weight in self.weights.items():
            if weight.of == PER_CAPITA and self.per_capita is None:
                raise ValueError(f"weights.{key}.of: there is no [per_capita] table to be a multiple of")
            if weight.of is not None and weight.of not in self.base and weight.of != PER_CAPITA:
                raise ValueError(
                    f'weights.{key}.of: "{weight.of}" is not a span of [base]; '
                    f"use one of {', '.join([*self.base, *([PER_CAPITA] if self.per_capita else [])])}"
                )
        kinds = {"weight": self.weights, "foundation": self.foundations, "position": self.positions}
        seen: dict[str, str] = {}
        for kind, keys in kinds.items():
            for key in keys:
                if key in seen:
                    raise ValueError(f"key {key!r} is both a {seen[key]} and a {kind}; keys are unique")
                seen[key] = kind
        for key in [*self.weights, *self.foundations, *self.positions, *self.counts]:
            if key in RESERVED or key in [k + FTE for k in self.positions]:
                raise ValueError(f"key {key!r} is a column of the allocation table; choose another name")
        self._check_positions()
        if self.lcap is not None:
            self.lcap.check(self.line_keys)
        for key, count in self.counts.items():
            if key in count.any_of:
                raise ValueError(f"counts.{key}: a count cannot be derived from itself")
        if self.rounding.per_span and self.pot:
            raise ValueError("rounding.per_span: per-span rounding reproduces a state formula and cannot keep a [pot] exact")
        if self.rounding.per_line and self.pot:
            raise ValueError("rounding.per_line: each line rounded on its own reproduces a published formula, and the sum of rounded lines "
                             f"cannot keep a [pot] exact{FIX}remove per_line to have totals rounded to the pot, or remove [pot]")
        if self.pot and any(f.cap_share_of_base is not None for f in self.foundations.values()):
            raise ValueError("pot: a foundation capped at a share of base cannot be used with [pot] (the base is what the pot solves)")
        if self.rounding.to == "dollar" and self.pot and self.pot.amount != round(self.pot.amount):
            raise ValueError("pot.amount has cents but rounding is to the dollar; make them agree")
        if self.pot and round(self.pot.amount, 2) != self.pot.amount:
            raise ValueError("pot.amount has fractions of a cent; give it to the cent")
        if self.formula.levels is not None:
            known = {level.lower() for level in self.formula.levels}
            for where, level in self.named_levels():
                if level.lower() not in known:
                    raise ValueError(f"{where}: level {level!r} is not one of the formula's levels ({', '.join(self.formula.levels)}); "
                                     "name it in [formula] levels, or correct it")
        for key, item in self.sourced_items():
            if not (item.source or self.formula.source):
                raise ValueError(f"{key}: no source; add source = \"...\" here or in [formula]")
        return self

    def _check_positions(self) -> None:
        for key, position in self.positions.items():
            cost = position.cost
            if isinstance(cost, str):
                if cost not in self.costs:
                    known = f"; the formula's costs are: {', '.join(self.costs)}" if self.costs else "; add a [costs." + cost + "] table"
                    raise ValueError(f"positions.{key}.cost: {cost!r} is not a [costs] key{known}")
                if self.costs[cost].unit != position.unit:
                    have = "a salary (per FTE)" if self.costs[cost].unit == "fte" else "an hourly rate"
                    raise ValueError(f"positions.{key}.cost: costs.{cost} is {have}, but the position is counted in "
                                     f"{'FTE' if position.unit == 'fte' else 'hours'}; give unit = \"{self.costs[cost].unit}\" or another cost")
            for rule, path in position.steps(key):
                of = rule.counted
                if of != "enrollment" and is_span(of):
                    missing = [g for g in parse_span(of) if g not in self.grade_span]
                    if missing:
                        raise ValueError(f"{path}.of: grades {', '.join(missing)} of \"{of}\" have no base rate, so the data has no column for them")

    # -- derived views the engine reads -------------------------------------------------

    @cached_property
    def base_dollars(self) -> dict[str, float]:
        """Each [base] span's rate in dollars (a grade weight times the per-capita base)."""
        return {
            span: value.weight * self.per_capita.amount if isinstance(value, GradeWeight) and self.per_capita else float(value)
            for span, value in self.base.items()
        }

    @cached_property
    def grade_span(self) -> dict[str, str]:
        """Each covered grade -> the [base] span that funds it."""
        return {grade: span for span in self.base for grade in parse_span(span)}

    @cached_property
    def grade_rate(self) -> dict[str, float]:
        """Adjusted base per pupil of each covered grade: base x (1 + rates) + dollar add-ons."""
        rates = {}
        for grade, span in self.grade_span.items():
            adjustments = [adj for adj in self.base_adjustment if grade in parse_span(adj.span)]
            bump = sum(adj.rate or 0.0 for adj in adjustments)
            rates[grade] = self.base_dollars[span] * (1 + bump) + sum(adj.per_pupil or 0.0 for adj in adjustments)
        return rates

    def span_rate(self, span: str) -> float:
        """Adjusted base of one [base] span, or the per-capita base (the rate `of` multiplies)."""
        if span == PER_CAPITA and self.per_capita is not None:
            return self.per_capita.amount
        return self.grade_rate[parse_span(span)[0]]

    @property
    def count_columns(self) -> list[str]:
        """Count columns the data must supply (derived counts' flags come from a roster): the
        weights' counts and the columns `[roles]` names."""
        return sorted({*needs(self, "count"), *self.roles.values()})

    def columns_for(self, role: str) -> list[str]:
        """The count columns that stand for a group of pupils (`poverty`, `english_learner`,
        `special_education`, ...): the one `[roles]` names, else those of the weights with that role."""
        if role in self.roles:
            return [self.roles[role]]
        return list(dict.fromkeys(w.count for w in self.weights.values() if w.role == role and w.count))

    def column_for(self, role: str) -> str | None:
        columns = self.columns_for(role)
        return columns[0] if columns else None

    @property
    def funded_roles(self) -> list[str]:
        """The groups the formula's weights are for, in the order they are written."""
        return list(dict.fromkeys(w.role for w in self.weights.values() if w.role is not None))

    @property
    def line_keys(self) -> list[str]:
        """The allocation's lines in the formula's order, before the transition: base, weights,
        foundations, positions."""
        return ["base", *self.weights, *self.foundations, *self.positions]

    def labelled_lines(self) -> dict[str, Any]:
        """The lines the formula labels itself, by key: weights, foundations, positions."""
        return {**self.weights, **self.foundations, **self.positions}

    @property
    def quantity_columns(self) -> list[str]:
        """The table's quantity columns: KEY_fte for every position."""
        return [k + FTE for k in self.positions]

    @property
    def number_columns(self) -> dict[str, list[str]]:
        """Number columns the components read (a capacity, TK teacher FTE), each with the keys that read it."""
        return needs(self, "number")

    @property
    def share_columns(self) -> list[str]:
        return sorted(needs(self, "share"))

    @property
    def text_columns(self) -> dict[str, list[str]]:
        """Text columns the components read (a school's `level`), each with the keys that read it."""
        return needs(self, "text")

    @property
    def flag_columns(self) -> list[str]:
        """True/false roster columns needed: weight counts and derived counts' inputs."""
        flags = {c for c in self.count_columns if c not in self.counts}
        for count in self.counts.values():
            flags.update(count.any_of)
        return sorted(flags)

    def untranslated(self, code: str) -> list[str]:
        """The keys whose label the formula does not give in language `code`: a packet in that
        language prints them as the formula writes them."""
        if code == self.formula.language:
            return []
        items = [*self.weights.items(), *self.foundations.items(), *self.positions.items(),
                 *((f"costs.{k}", c) for k, c in self.costs.items()), *((f"base_adjustment[{i}]", a) for i, a in enumerate(self.base_adjustment))]
        missing = [k for k, item in items if code not in item.labels]
        return (["formula.title"] if self.formula.title and code not in self.formula.titles else []) + missing

    def named_levels(self) -> list[tuple[str, str]]:
        """Every level a rule names (`when = { level = [...] }`, `at_levels`), with where it names it."""
        whens: list[tuple[str, Any]] = []
        for kind, items in (("weights", self.weights), ("foundations", self.foundations), ("positions", self.positions)):
            for key, item in items.items():
                whens.append((f"{kind}.{key}.when", getattr(item, "when", None)))
                steps = getattr(item, "rates", None) or getattr(item, "rules", None) or []
                field = "rates" if getattr(item, "rates", None) else "rules"
                whens += [(f"{kind}.{key}.{field}[{i}].when", step.when) for i, step in enumerate(steps)]
                if getattr(item, "at_levels", None):
                    whens.append((f"{kind}.{key}.at_levels", item.at_levels))
        out = []
        for where, when in whens:
            levels = when if isinstance(when, list) else (when.level if when is not None else None) or []
            out += [(where, level) for level in levels]
        return out

    def sourced_items(self) -> list[tuple[str, Any]]:
        items: list[tuple[str, Any]] = [
            (f"base_adjustment[{i}]", adj) for i, adj in enumerate(self.base_adjustment)
        ]
        items += [(f"weights.{k}", w) for k, w in self.weights.items()]
        items += [(f"foundations.{k}", f) for k, f in self.foundations.items()]
        items += [(f"positions.{k}", f) for k, f in self.positions.items()]
        items += [(f"costs.{k}", f) for k, f in self.costs.items()]
        return items

    def source_of(self, item: Any) -> str:
        return item.source or self.formula.source or ""

    def funding_of(self, key: str) -> Funding:
        """What a line's money may buy and its resource code: the base's, or a weight's, foundation's or position's."""
        return self.base_funding if key == "base" else self.labelled_lines()[key]


class LoadedFormula(BaseModel):
    """A validated formula with where it came from: path and SHA-256 of its bytes, and the files it
    reads (a salary table)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    model: Formula
    path: Path
    sha256: str
    tables: tuple[Any, ...] = ()  # wsf.data.tables.Table of each file the formula names
    overrides: dict[str, Any] = {}  # key path -> value given with --set, applied on top of the file (wsf.engine.overrides)
    original: dict[str, Any] = {}  # key path -> the file's own value where --set replaced it

    @property
    def files(self) -> list[Path]:
        return [self.path, *(t.path for t in self.tables)]

    @property
    def label(self) -> str:
        """The file's name, and the values set on top of it: `example.toml with weights.el.weight=0.25`."""
        sets = ", ".join(f"{k}={v}" for k, v in self.overrides.items())
        return f"{self.path.name} with {sets}" if sets else self.path.name


def read_toml(path: str | Path, what: str = "formula", fix: str = "see the formula-file reference in the README",
              reference: str = "docs/formula-files.md") -> tuple[bytes, str, dict[str, Any]]:
    """A TOML file's bytes, text and data, or a WsfError naming the file, the line and the fault:
    what every wsf file in TOML (formulas, catalogs, drivers, plans) is read by."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WsfError(f"cannot read {what} file: {exc.strerror}", file=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WsfError(f"not UTF-8 text (byte {exc.start})", file=path, fix=f"save the {what} file as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise WsfError(f"not a {what}: arrays or tables nested hundreds deep", file=path,
                       fix=f"a {what} file nests tables two or three levels deep; see {reference}") from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match.group(1)) if match else None
        if line is None and "end of document" in str(exc):
            line = len(text.splitlines())
        problem = re.sub(r"\s*\(at line.*\)", "", str(exc))
        raise WsfError(f"not valid TOML: {problem}", file=path, line=line, fix=fix) from None
    return raw, text, data


def load_formula(path: str | Path) -> LoadedFormula:
    path = Path(path)
    data, text, raw, tables = read_formula_data(path)
    return LoadedFormula(
        model=validate_formula(data, path=path, text=text),
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        tables=tables,
    )


def read_formula_data(path: Path) -> tuple[dict[str, Any], str, bytes, tuple[Any, ...]]:
    """A formula file's data as validation sees it (its salary table's rows in `[costs]`), its text, bytes and tables."""
    raw, text, data = read_toml(path)
    data, tables = _with_salary_table(data, path, text)
    return data, text, raw, tables


def named_files(path: Path) -> list[Path]:
    """The files a formula file names (its salary table), read from the TOML without validating
    it: what an output may not replace, known before anything is computed."""
    try:
        table = tomllib.loads(path.read_text("utf-8-sig")).get("salary_table")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return []  # loading the formula will say what is wrong
    if isinstance(table, dict) and isinstance(table.get("file"), str) and table["file"]:
        return [(path.parent / table["file"]).resolve()]
    return []


def _with_salary_table(data: dict[str, Any], path: Path, text: str) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The formula's data with its salary table's rows as `[costs]` entries (a key in both is an error)."""
    table = data.get("salary_table")
    if not isinstance(table, dict) or not isinstance(table.get("file"), str) or not table["file"]:
        return data, ()  # absent, or malformed: the model says what is wrong
    from wsf.data.salaries import read_salary_table  # the data readers import the model: read it late

    file = (path.parent / table["file"]).resolve()
    if not file.is_file():
        raise WsfError(f"the salary table {table['file']!r} does not exist (looked for {file})", file=path,
                       line=line_of(text, "salary_table.file"), key="salary_table.file",
                       fix="give the path relative to the formula file")
    entries, read = read_salary_table(file)
    inline = data.get("costs") if isinstance(data.get("costs"), dict) else {}
    both = sorted(set(entries) & set(inline))
    if both:
        raise WsfError(f"costs.{both[0]} is in the formula and in the salary table {file.name}", file=path,
                       line=line_of(text, f"costs.{both[0]}"), fix="keep one of them")
    source = table.get("source")
    rows = {k: {"source": source, **v} if source and "source" not in v else v for k, v in entries.items()}
    return {**data, "costs": {**inline, **rows}}, (read,)


def validate_formula(data: dict[str, Any], *, path: str | Path = "formula", text: str = "") -> Formula:
    try:
        return Formula.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, WsfError] = {}
        for err in exc.errors(include_url=False):
            member = _union_member(err)
            if member == "table" and err["type"] in ("model_type", "dict_type", "model_attributes_type"):
                continue  # the value is not a table at all: the number form's error says what it should be
            if member == "number" and isinstance(err.get("input"), dict):
                continue  # a table: its own fields' errors say what is wrong
            error = to_wsf_error(err, path, text)
            if member == "number" and err["type"].endswith(("_type", "_parsing")):  # the wrong kind of value
                error = WsfError(f"{UNION_FORMS.get(str(err['loc'][0]), 'has the wrong type')}, got {_Shown(err.get('input'))!r}",
                                 file=path, line=error.line, key=error.key)
            errors.setdefault(f"{error.key}:{error.problem}", error)
        raise WsfError.many(list(errors.values())) from None


# Pydantic puts the member of a union a value failed, and validator wrappers, in an error's
# location: they are not keys of the file.
TAGS = re.compile(r"^(function-(after|before|wrap|plain)(\[.*\])?|constrained-\w+|lax-or-strict|json-or-python|[A-Z][a-z]+[A-Z][A-Za-z]*)$")
UNION_FORMS = {"base": "must be dollars per pupil (a number), or a grade weight such as { weight = 1.08 }"}


def _union_member(err: dict[str, Any]) -> str | None:
    """Which member of a `number | table` union an error belongs to, if any."""
    for part in err["loc"]:
        if isinstance(part, str) and part.startswith("constrained-"):
            return "number"
        if isinstance(part, str) and (re.match(r"^[A-Z][a-z]+[A-Z]", part) or "GradeWeight" in part):
            return "table"
    return None


def to_wsf_error(err: dict[str, Any], path: str | Path, text: str) -> WsfError:
    loc = [part for part in err["loc"] if not (isinstance(part, str) and TAGS.match(part))]
    if loc and loc[0] == BASE_FUNDING:  # written in [base]
        loc = ["base", *loc[1:]]
    key = _key_path(loc)
    kind, ctx, got = err["type"], err.get("ctx", {}), _Shown(err.get("input"))
    fix = None
    if kind == "extra_forbidden":
        problem = f"unknown key {loc[-1]!r}"
        fix = "check the spelling against the formula-file reference in the README"
    elif kind == "missing":
        problem = "required key is missing"
    elif kind == "less_than_equal" and next(iter(ctx.values())) == 1 and isinstance(got.value, (int, float)):
        problem = f"must be a share between 0 and 1, got {got!r}; did you mean {as_fraction(got.value)}?"
        fix = "a percentage is written as a fraction: 5% is 0.05"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        problem = f"must be {op} {bound:g}, got {got!r}"
        if kind == "less_than_equal" and isinstance(got.value, (int, float)) and got.value / 100 <= bound:
            problem += f"; did you mean {as_fraction(got.value)}?"
            fix = "a percentage is written as a fraction: 108% is 1.08"
    elif kind == "finite_number":
        problem = f"must be a finite number, got {got!r}"
    elif kind == "string_pattern_mismatch":
        problem = f"{got!r} is not a valid name; use lowercase letters, digits and _ (or - for formula.id)"
    elif kind == "value_error":
        problem, _, fix = str(ctx.get("error", err["msg"])).partition(FIX)
        fix = fix or None
    elif kind == "too_short":
        problem = "must not be empty"
    else:
        problem = f"{err['msg'][0].lower()}{err['msg'][1:]}, got {got!r}"
    # A cross-check names its own key path inside the message ("weights.x.of: ...").
    inner = re.match(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z0-9_]+)*): (.*)$", problem, flags=re.S)
    if inner:  # a cross-check names its key path from the top; a table's own check, its field
        key, problem = (f"{key}.{inner.group(1)}" if key else inner.group(1)), inner.group(2)
    return WsfError(problem, file=path, line=line_of(text, key), key=key or None, fix=fix)


class _Shown:
    """A value as a message quotes it: its repr, cut short (a pasted column or a nested table is not news)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        text = repr(self.value)
        return text if len(text) <= 60 else text[:57] + "..."

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


def _key_path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def line_of(text: str, key: str) -> int | None:
    """Line of a key path in the TOML source (or of its nearest enclosing key), for messages."""
    if not text or not key:
        return None
    lines: dict[str, int] = {}
    table, arrays = "", {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if m := re.match(r"^\[\[\s*([\w.]+)\s*\]\]", line):
            arrays[m.group(1)] = arrays.get(m.group(1), -1) + 1
            table = f"{m.group(1)}[{arrays[m.group(1)]}]"
        elif m := re.match(r"^\[\s*([\w.\"-]+)\s*\]", line):
            table = m.group(1).replace('"', "")
        elif m := re.match(r'^"?([\w-]+)"?\s*=', line):
            lines.setdefault(f"{table}.{m.group(1)}" if table else m.group(1), n)
            continue
        else:
            continue
        lines.setdefault(table, n)
    while key:
        if key in lines:
            return lines[key]
        if not re.search(r"[.\[]", key):
            return None
        shorter = re.sub(r"(\[\d+\]|\.[^.\[]*)$", "", key)  # the enclosing key: drop the last `.part` or `[i]`
        key = shorter if shorter != key else key[: max(key.rfind("."), key.rfind("["))]  # `a[x]b`: cut at the last separator
    return None

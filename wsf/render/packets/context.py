"""What the packets show, as text: one context object per packet, built from the engine's results.

In: an `Allocation`, optionally current `Spending` (and the `Equity` analysis made from it),
and a `Language`. Out: a `Principal`, `Council` or `District`, the one object its template
sees (as `packet`). Every number is already formatted for the language and every sentence
already written, so templates only lay them out. Amounts are never recomputed: lines are
`wsf.engine.explain.explain`'s (integer cents that sum to the total); totals, per-pupil amounts and
the transition come from the allocation table; current spending and equity statistics from
`wsf.data.spending` and `wsf.equity.analysis`.

Fields every packet shares live in `packet.doc` (a `Document`): the language's sentences
(`doc.text`, e.g. `doc.text.principal.lines_heading`), the district and fiscal year, and the
provenance (formula id, file names and SHA-256 hashes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
import polars as pl
from markupsafe import Markup

from wsf import __version__
from wsf.data.spending import Spending
from wsf.engine.allocate import TRANSITION, Allocation, per_pupil
from wsf.engine.components.lines import Line
from wsf.engine.explain import Rows, by_school
from wsf.equity.analysis import Equity
from wsf.plans.compare import Review
from wsf.render.i18n import Language, Text, bold
from wsf.render.phrases import plain, rule_markup
from wsf.write.files import FIXED_DATE

SIMILAR = 5  # similar schools compared with
PER_CAPITA = "per_capita"
CREATED = FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")  # fixed (W3C date), so reruns give identical PDFs
PIECES = (("phase_in", "phase"), ("hold_harmless", "floor"), ("gain_cap", "cap"))  # the transition line in cents, taken apart by the engine


@dataclass(frozen=True)
class Run:
    """Everything computed once for a set of packets. `table`: one row per school (cents).

    What packets look up by school is read from the tables once, on first use, so a packet costs
    no scan of them: thousands of schools cost linear time, not quadratic.
    """

    allocation: Allocation
    spending: Spending | None
    equity: Equity | None
    poverty: str | None  # None: the data has no poverty count; similar schools are nearest in size
    table: pl.DataFrame  # school_id, name, level, enrollment, share, total, transition, per_pupil, prior, current, PIECES
    plans: Review | None = None  # the school site plans, checked (and compared with the approved ones), for plan packets

    @cached_property
    def rows(self) -> dict[str, dict]:
        """school_id -> its row of `table`."""
        return {row["school_id"]: row for row in self.table.iter_rows(named=True)}

    @cached_property
    def allocation_rows(self) -> Rows:
        """The allocation's own tables by school_id, for `wsf.engine.explain.explain`."""
        return by_school(self.allocation)

    @cached_property
    def similar(self) -> Similar:
        """school_id -> the rows of its similar schools, nearest first (see `similar_schools`)."""
        return Similar(list(self.rows.values()), nearest(self.table, self.poverty is not None))

    @cached_property
    def median_per_pupil(self) -> int | None:
        """The district's median per-pupil amount (cents)."""
        return median_cents(self.table["per_pupil"].drop_nulls().to_list())

    def index(self, schools: list[str] | None = None) -> None:
        """Read now what school packets look up: rows and similar schools, and the allocation's
        rows for `explain` of `schools` alone when given (a run of some schools, or a worker's)."""
        if schools is not None and "allocation_rows" not in self.__dict__:
            self.__dict__["allocation_rows"] = by_school(self.allocation, schools)  # as cached_property keeps it
        self.rows, self.allocation_rows, self.similar  # noqa: B018 (each is read once, and kept)

    @cached_property
    def _kept(self) -> dict[int, tuple[Language, dict]]:
        return {}

    def once(self, lang: Language, key: tuple, make: Callable[[], Any]) -> Any:
        """`make()` the first time this run asks `key` in `lang`, then kept: what is the same for
        every school (a packet's provenance, the council's "why"), or for a school wherever it
        appears (as another school's similar school), is written once per run and language."""
        held = self._kept.get(id(lang))
        if held is None:
            held = self._kept[id(lang)] = (lang, {})  # holding `lang` keeps its id from being reused
        kept = held[1]
        if key not in kept:
            kept[key] = make()
        return kept[key]


class Similar(dict):
    """school_id -> the rows of its similar schools, nearest first: every school's are found at
    once (`nearest`), and a school's rows are gathered the first time it is asked for, so a run
    of some of the schools (or a worker's share of them) gathers only theirs."""

    def __init__(self, rows: list[dict], near: list[np.ndarray]) -> None:
        super().__init__()
        self.rows, self.near = rows, near
        self.at = {row["school_id"]: i for i, row in enumerate(rows)}

    def __missing__(self, school_id: str) -> tuple[dict, ...]:
        rows = self.rows
        found = self[school_id] = tuple(rows[j] for j in self.near[self.at[school_id]])
        return found


def prepare(
    allocation: Allocation, spending: Spending | None = None, equity: Equity | None = None, poverty: str | None = None,
    plans: Review | None = None,
) -> Run:
    """What every packet of a run looks up. Similar schools are nearest in poverty share when the
    formula says which count measures poverty (its roles), else nearest in size."""
    inputs = allocation.inputs
    poverty = poverty or allocation.formula.model.column_for("poverty")
    has_poverty = poverty is not None and poverty in inputs.columns
    data = inputs.select(
        "school_id",
        (pl.col("level") if "level" in inputs.columns else pl.lit(None, pl.String)).alias("level"),
        (
            pl.when(pl.col("enrollment") > 0).then(pl.col(poverty) / pl.col("enrollment"))
            if has_poverty
            else pl.lit(None, pl.Float64)
        ).alias("share"),
        ((pl.col("_prior") * 100).round(0).cast(pl.Int64) if "_prior" in inputs.columns else pl.lit(None, pl.Int64)).alias(
            "prior"
        ),
    )
    pieces = allocation.pieces.select("school_id", *[c for c, _ in PIECES])
    table = allocation.cents.select("school_id", "name", "enrollment", "total", TRANSITION, "per_pupil").join(
        data, on="school_id", how="left"
    )
    table = table.join(pieces, on="school_id", how="left")
    current = (
        spending.frame.select("school_id", "current")
        if spending is not None
        else pl.DataFrame(schema={"school_id": pl.String, "current": pl.Int64})
    )
    table = table.join(current, on="school_id", how="left").with_columns(per_pupil("current").alias("current_per_pupil"))
    return Run(allocation, spending, equity, poverty if has_poverty else None, table.sort("school_id"), plans)


# -- shared parts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRow:
    name: str
    sha256: str


@dataclass(frozen=True)
class Document:
    """The parts every packet shares: language, identity, provenance, page furniture."""

    kind: str  # principal, council or district
    lang: str  # the language code (en, es, ...)
    html_lang: str  # BCP 47 tag for <html lang>, e.g. es-US
    text: Text  # the language's sentences, by part: doc.text.common.total
    title: str  # <title> and the PDF's title
    district: str  # the formula's title
    fiscal_year: str
    formula_id: str
    formula_file: str
    formula_sha256: str
    files: tuple[FileRow, ...]  # the data files, by name and SHA-256
    version: str
    created: str  # fixed (W3C date), so reruns give identical PDFs
    footer: str  # running footer, left: the school (or district)
    page_css: Markup  # CSS `content` value of the page counter, e.g. "Page " counter(page) ...
    footer_css: Markup  # the footer as a CSS string
    provenance: Markup  # the sentence introducing the hashes


def css_string(text: str) -> Markup:
    """Text as a CSS string literal: anything but letters, digits and spaces hex-escaped."""
    # a hex escape swallows one following space, so every escape ends with its own
    return Markup('"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x} " for c in text) + '"')


def page_counter(lang: Language) -> Markup:
    """'Page {page} of {pages}' as CSS content: strings and counters, in the language's order."""
    return _page_counter(lang.sentence("common.page"))


@cache
def _page_counter(sentence: str) -> Markup:
    parts, rest = [], sentence
    while rest:
        head, brace, tail = rest.partition("{")
        if head:
            parts.append(css_string(head))
        if not brace:
            break
        name, _, rest = tail.partition("}")
        parts.append(Markup("counter(page)" if name == "page" else "counter(pages)"))
    return Markup(" ").join(parts)


def document(run: Run, lang: Language, kind: str, title: str, footer: str) -> Document:
    return Document(kind=kind, title=title, footer=footer, footer_css=css_string(footer), **run.once(lang, ("document",), lambda: _shared(run, lang)))


def _shared(run: Run, lang: Language) -> dict[str, Any]:
    """The fields of `Document` that are the same for every packet of a run and language."""
    formula = run.allocation.formula
    info = formula.model.formula
    files = [*run.allocation.sources, *(run.spending.sources if run.spending else ())]
    return dict(
        lang=lang.code,
        html_lang=lang.locale.replace("_", "-"),
        text=lang.text,
        district=info.title_in(lang.code),
        fiscal_year=info.fiscal_year or "",
        formula_id=info.id,
        formula_file=formula.path.name,
        formula_sha256=formula.sha256,
        files=tuple(FileRow(t.path.name, t.sha256) for t in files),
        version=__version__,
        created=CREATED,
        page_css=page_counter(lang),
        provenance=lang.say("common.provenance", version=__version__),
    )


@dataclass(frozen=True)
class School:
    id: str
    name: str
    level: str
    enrollment: str


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    note: Markup


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    emphasis: bool = False


def level_words(lang: Language, level: str | None) -> str:
    """Schools of a level as the language writes them ("elementary schools"); unknown levels as written."""
    if level is None:
        return lang.sentence("levels.any")
    levels = lang.data.get("levels", {})
    if level not in ("any", "other") and isinstance(levels.get(level), str):
        return levels[level]
    return lang.plain("levels.other", level=level)


def level_name(lang: Language, level: str | None) -> str:
    """One school's level for its heading ("Elementary school"); unknown levels as written."""
    names = lang.data.get("level", {})
    return "" if level is None else str(names.get(level, level))


def line_label(lang: Language, line: Line) -> str:
    """The formula's label for its own lines (in the language, when the formula gives one); the
    engine's base and transition lines in the language."""
    return lang.sentence(f"lines.{line.key}") if line.named else line.labels.get(lang.code, line.label)


def how(lang: Language, line: Line) -> Markup:
    """The line's rule in the language; the transition's is told in its own section."""
    return lang.say("how.transition") if line.key == TRANSITION else rule_markup(lang, line.rule)


def details(lang: Language, line: Line) -> tuple[str, ...]:
    """The line's detail rows (the base by grades); the transition's pieces are told in its section."""
    return () if line.key == TRANSITION else tuple(plain(lang, d) for d in line.detail)


# -- similar schools and the transition -----------------------------------------------------


def similar_schools(run: Run, school_id: str) -> pl.DataFrame:
    """The `SIMILAR` other schools of the same level (any level for a school without one) with
    pupils and a per-pupil amount, nearest in poverty share (or, without one, in enrollment),
    ties by school_id."""
    return pl.DataFrame(list(run.similar[school_id]), schema=run.table.schema)


def nearest(table: pl.DataFrame, by_poverty: bool, count: int = SIMILAR) -> list[np.ndarray]:
    """For each row of `table` (sorted by school_id), the row numbers of its similar schools.

    One sort per level instead of one per school: sorted by key (share, or enrollment), a school's
    candidates at or above its key are, in that order, already by distance and then row; those below
    are so when sorted by key descending and row. Its nearest are the first of the merge of the two,
    so the first `count` + 1 of each (+1: it may be among them itself) hold them all. (Two distinct
    keys on one side never round to one distance: shares of real enrollments differ by far more.)
    """
    eligible = table.select((pl.col("enrollment") > 0) & pl.col("per_pupil").is_not_null()).to_series().to_numpy()
    share = table["share"].to_numpy()
    enrollment = table["enrollment"].cast(pl.Float64).to_numpy()
    levels = np.array(table["level"].to_list(), dtype=object)
    by_share = np.isfinite(share) if by_poverty else np.zeros(table.height, dtype=bool)
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(levels, by_share)):
        groups.setdefault(key, []).append(i)
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * table.height
    for (level, shared), schools in groups.items():
        pool = np.flatnonzero(eligible & (levels == level)) if level is not None else np.flatnonzero(eligible)
        keys = share if shared else enrollment
        for school, picks in zip(schools, _nearest_in(pool, keys, np.array(schools), count)):
            out[school] = picks
    return out


def _nearest_in(pool: np.ndarray, keys: np.ndarray, schools: np.ndarray, count: int) -> list[np.ndarray]:
    """For each of `schools`, the `count` rows of `pool` nearest by `keys`, ties by row, itself excluded."""
    up = pool[np.lexsort((pool, keys[pool]))]
    down = pool[np.lexsort((pool, -keys[pool]))]
    below = np.searchsorted(keys[up], keys[schools], side="left")  # pool rows keyed below each school
    width = np.arange(count + 1)
    above_at, below_at = below[:, None] + width, (len(pool) - below)[:, None] + width
    rows = np.concatenate([_take(up, above_at), _take(down, below_at)], axis=1)
    valid = (rows >= 0) & (rows != schools[:, None])
    distance = np.abs(keys[rows] - keys[schools][:, None]).astype(np.float64)
    distance[~valid] = np.inf
    order = np.lexsort((np.where(valid, rows, len(keys)), distance), axis=1)[:, :count]
    picked = np.take_along_axis(rows, order, axis=1)
    found = np.minimum(valid.sum(axis=1), count)
    return [picked[i, : found[i]] for i in range(len(schools))]


def _take(sorted_rows: np.ndarray, at: np.ndarray) -> np.ndarray:
    """`sorted_rows` at positions `at`; -1 past the end."""
    padded = np.append(sorted_rows, -1)
    return padded[np.minimum(at, len(sorted_rows))]


def median_cents(values: list[int]) -> int | None:
    """The median of whole cents, half up between the middle two."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle] + 1) // 2


@dataclass(frozen=True)
class Transition:
    case: str  # none, new, within, floor or cap
    sentence: Markup
    rows: tuple[Row, ...]




def transition(lang: Language, run: Run, school: dict) -> Transition:
    """The transition line explained: last year, full formula, the pieces (phase-in, loss floor,
    gain cap) as the engine computed them, and this year's amount."""
    rules = run.allocation.formula.model.transition
    amount, total, prior = school[TRANSITION], school["total"], school["prior"]
    t = "principal."
    if rules is None:
        return Transition("none", lang.say(t + "transition_none"), ())
    if not prior:
        return Transition("new", lang.say(t + "transition_new"), ())
    formula = total - amount
    cap = run.allocation.gain_cap
    rows = [
        Row((lang.sentence(t + "prior_row"), lang.money(prior))),
        Row((lang.sentence(t + "formula_row"), lang.money(formula))),
    ]
    if rules.basis == "total" and rules.gap_closure is None:  # the bounds are plain shares of last year's total
        if rules.max_loss is not None:
            rows.append(
                Row(
                    (
                        lang.plain(t + "floor_row", share=lang.percent(1 - rules.max_loss)),
                        lang.money((1 - rules.max_loss) * prior),
                    )
                )
            )
        if cap is not None:
            rows.append(Row((lang.plain(t + "cap_row", share=lang.percent(cap, 2)), lang.money((1 + cap) * prior))))
    pieces = [(case, school[column]) for column, case in PIECES if school[column] != 0]  # they sum to the line
    for case, cents in pieces:
        rows.append(Row((lang.sentence(f"{t}{case}_piece_row"), lang.signed_money(cents))))
    rows += [
        Row((lang.sentence(t + "transition_row"), lang.signed_money(amount))),
        Row((lang.sentence(t + "final_row"), lang.money(total)), emphasis=True),
    ]
    basis = lang.sentence(t + "per_pupil_basis") if rules.basis == "per_pupil" else ""
    values = {
        "formula": bold(lang.money(formula)),
        "prior": bold(lang.money(prior)),
        "amount": bold(lang.money(abs(amount))),
        "max_loss": lang.percent(rules.max_loss or 0.0, 1),
        "cap": lang.percent(cap or 0.0, 2),
        "closure": lang.percent(rules.gap_closure or 0.0, 0),
        "basis": basis,
    }
    case = "within" if not pieces else max(pieces, key=lambda piece: abs(piece[1]))[0]
    return Transition(case, lang.say(f"{t}transition_{case}", **values), tuple(rows))


def school_of(lang: Language, run: Run, row: dict) -> School:
    return School(
        row["school_id"], row["name"] or row["school_id"], level_name(lang, row["level"]), lang.number(row["enrollment"])
    )


def heading(lang: Language, kind: str, run: Run, name: str) -> str:
    info = run.allocation.formula.model.formula
    year = info.fiscal_year or info.title_in(lang.code)
    return lang.plain(f"{kind}.title", school=name, year=year)


def similar_median(run: Run, school_id: str) -> int | None:
    return median_cents([other["per_pupil"] for other in run.similar[school_id]])

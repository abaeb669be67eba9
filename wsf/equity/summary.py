"""What the equity summary says, in the reader's language.

`summary_of` turns an `Equity` analysis into a `Summary`, the one object
`templates/equity/summary.html` sees (as `report`): every sentence written from the language
file's `[equity]` table and every number formatted by the `Language` (money, percentages and
counts as its locale writes them), so the template only lays them out. Headings and column
names that hold no number are read by the template itself, from `report.text` (the
`[equity]` table: `report.text.measures_heading`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from markupsafe import Markup

from wsf import __version__
from wsf.data.spending import ROSTER, Note
from wsf.equity.analysis import MEASURES, NO_CURRENT, NOT_IN_DATA, Equity
from wsf.equity.charts import band_word
from wsf.render.i18n import Language, Text, bold

TOP = 5  # gainers, losers and salary shifts listed in the summary
SAME_POVERTY = 0.03  # "the same poverty level": shares within 3 percentage points
BELOW, ABOVE = 90, 110  # percent of its formula amount a school spends today: far below, far above
SAME_TOTAL = 50_000  # dollars: a difference in the district's total smaller than this is "about the same"
CV_TARGET = 0.10  # the coefficient of variation school-finance studies commonly aim below
LISTED = 10  # schools named in a note before "and N more"
T = "equity."
# measure -> which way is more equal (the key of its words in [equity.measures])
BETTER = {
    "range": "lower",
    "restricted_range": "lower",
    "federal_range_ratio": "lower",
    "cv": "lower",
    "mcloone": "one",
    "verstegen": "one",
    "gini": "lower",
    "theil": "lower",
    "correlation_poverty": "positive",
    "slope_poverty": "positive",
    "elasticity_poverty": "positive",
}
PROBLEMS = {NO_CURRENT: "no_current", NOT_IN_DATA: "not_in_data"}  # schools.csv's `missing` -> its words


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    """Everything summary.html shows, as text. Tables are lists of `Row`s of formatted cells."""

    lang: str  # BCP 47 tag for <html lang>
    text: Text  # the [equity] table: headings and column names
    title: str
    subtitle: str
    lead: str
    missing_warning: str  # "" when every school could be compared
    findings: tuple[str, ...]
    horizontal: tuple[Row, ...]  # name, what it shows, today, formula, more equal is
    vertical: tuple[Row, ...]
    weights: tuple[Row, ...]  # need, formula lines, formula weight, implied today, implied under the formula
    scatter: Markup
    bands_chart: Markup
    bands_note: str
    bands: tuple[Row, ...]  # band, low-income share, schools, pupils, today, formula, change
    gainers: tuple[Row, ...]  # name, school_id, pupils, low-income, today, formula, change per pupil, in total
    losers: tuple[Row, ...]
    salary_lead: str  # "" without a staff roster
    salary_to: tuple[Row, ...]  # name, school_id, low-income, moved, at actual cost, at average cost
    salary_from: tuple[Row, ...]
    missing: tuple[Row, ...]  # school_id, name, problem
    notes: tuple[str, ...]
    footer: Markup
    data: tuple[Row, ...]  # file, SHA-256


def summary_of(equity: Equity, lang: Language, scatter: Markup, bands: Markup, options: dict) -> Summary:
    info = equity.allocation.formula.model.formula
    name = info.title or info.id
    in_title = info.fiscal_year and info.fiscal_year not in (info.title or "")
    horizontal, vertical = _measures(equity, lang)
    analysed = equity.analysed
    ranked = analysed.sort(["gap_per_pupil", "school_id"], descending=[True, False])
    gainers = ranked.filter(pl.col("gap_per_pupil") > 0).head(TOP)
    losers = ranked.filter(pl.col("gap_per_pupil") < 0).sort(["gap_per_pupil", "school_id"]).head(TOP)
    salary_lead, salary_to, salary_from = _salary(equity, lang)
    missing = equity.missing.height
    formula = equity.allocation.formula
    return Summary(
        lang=lang.tag,
        text=lang.text.equity,
        title=lang.plain(T + "title"),
        subtitle=lang.plain(T + "subtitle_year", formula=name, year=info.fiscal_year) if in_title else name,
        lead=lang.plain(T + ("lead_compared" if missing else "lead"), schools=lang.number(analysed.height), formula=info.id),
        missing_warning=lang.plain(lang.counted(T + "missing_warning", missing), count=lang.number(missing)) if missing else "",
        findings=tuple(_findings(equity, lang)),
        horizontal=horizontal,
        vertical=vertical,
        weights=_weights(equity, lang),
        scatter=scatter,
        bands_chart=bands,
        bands_note=lang.plain(T + "bands_note", band=band_word(lang, equity)),
        bands=_bands(equity, lang),
        gainers=_school_rows(gainers, lang),
        losers=_school_rows(losers, lang),
        salary_lead=salary_lead,
        salary_to=salary_to,
        salary_from=salary_from,
        missing=tuple(
            Row((sid, name or "", lang.plain(T + PROBLEMS[problem]))) for sid, name, problem in equity.missing.iter_rows()
        ),
        notes=tuple(_notes(equity, lang)),
        footer=lang.say(
            T + "footer",
            formula=bold(info.id),
            file=formula.path.name,
            sha256=Markup("<code>{}</code>").format(formula.sha256),
            options=_options_text(equity, lang, options),
            version=__version__,
        ),
        data=tuple(Row((t.path.name, t.sha256)) for t in (*equity.allocation.sources, *equity.spending.sources)),
    )


# -- numbers -------------------------------------------------------------------------------


def _fixed(lang: Language, value: float | None, places: int) -> str:
    """A measure to a fixed number of decimals (0.080, not 0.08); n/a when it is undefined."""
    if value is None or not math.isfinite(value):
        return lang.sentence("common.not_available")
    return lang.decimal(value, places)


def _dollars(lang: Language, value: float | None) -> str:
    return lang.dollars(value, 0)


def _cents(lang: Language, cents: float | None) -> str:
    return lang.money(None if cents is None else round(cents), 0)


def _pct(lang: Language, share: float | None) -> str:
    return lang.percent(share, 0)


def _millions(lang: Language, dollars: float) -> str:
    return lang.plain(T + "millions", amount=lang.dollars(dollars / 1e6, 1))


# -- tables --------------------------------------------------------------------------------


def _measures(equity: Equity, lang: Language) -> tuple[tuple[Row, ...], tuple[Row, ...]]:
    """The measures as rows: those of equal funding for all (horizontal), then those of poverty."""
    horizontal, vertical = [], []
    m = T + "measures."
    for name in MEASURES:
        today, formula = equity.stat(name, "current"), equity.stat(name, "formula")
        if name in ("range", "restricted_range"):
            cells = (_dollars(lang, today), _dollars(lang, formula))
        elif name == "slope_poverty":
            cells = tuple(_dollars(lang, equity.per_poverty_step(s)) for s in ("current", "formula"))
        elif name == "correlation_poverty":
            cells = (_fixed(lang, today, 2), _fixed(lang, formula, 2))
        else:
            cells = (_fixed(lang, today, 3), _fixed(lang, formula, 3))
        shows = lang.plain(m + f"{name}_shows", target=lang.decimal(CV_TARGET, 2))
        row = Row((lang.plain(m + name), shows, *cells, lang.plain(m + f"better_{BETTER[name]}")))
        (vertical if name.endswith("_poverty") else horizontal).append(row)
    return tuple(horizontal), tuple(vertical)


def _weights(equity: Equity, lang: Language) -> tuple[Row, ...]:
    return tuple(
        Row(
            (
                _need_label(lang, need, cols, equity.poverty),
                keys or lang.plain(T + "no_lines"),
                _fixed(lang, formula_weight, 2),
                _fixed(lang, implied_today, 2),
                _fixed(lang, implied_formula, 2),
            )
        )
        for need, cols, keys, formula_weight, implied_today, implied_formula in equity.vertical.iter_rows()
    )


def _need_label(lang: Language, need: str, cols: str, poverty: str) -> str:
    if need == poverty:
        return lang.plain(T + "need_poverty", columns=cols)
    if need in ("el", "sped"):
        return lang.plain(T + f"need_{need}", columns=cols)
    return need


def _bands(equity: Equity, lang: Language) -> tuple[Row, ...]:
    return tuple(
        Row(
            (
                lang.number(band),
                lang.plain(T + "share_range", low=_pct(lang, low), high=_pct(lang, high)),
                lang.number(schools),
                lang.number(round(pupils)),
                _cents(lang, today),
                _cents(lang, formula),
                lang.signed_money(round(formula - today), 0),
            )
        )
        for band, low, high, schools, pupils, today, formula, _ in equity.bands.iter_rows()
    )


def _school_rows(frame: pl.DataFrame, lang: Language) -> tuple[Row, ...]:
    columns = "school_id", "name", "enrollment", "poverty_share", "current_per_pupil", "formula_per_pupil", "gap_per_pupil", "gap"
    return tuple(
        Row(
            (
                name,
                sid,
                lang.number(pupils),
                _pct(lang, share),
                _cents(lang, today),
                _cents(lang, formula),
                lang.signed_money(round(gap), 0),
                lang.signed_money(round(gap_total), 0),
            )
        )
        for sid, name, pupils, share, today, formula, gap, gap_total in frame.select(*columns).iter_rows()
    )


# -- sentences -----------------------------------------------------------------------------


def _findings(equity: Equity, lang: Language) -> list[str]:
    stat = equity.stat
    data = equity.analysed
    schools = lang.number(data.height)
    out = []
    today, formula = stat("total", "current"), stat("total", "formula")
    difference = formula - today
    kind = "totals_same" if abs(difference) < SAME_TOTAL else "totals_more" if difference > 0 else "totals_less"
    out.append(
        lang.plain(
            T + kind,
            schools=schools,
            current=_millions(lang, today),
            current_per_pupil=_dollars(lang, stat("mean", "current")),
            formula=_millions(lang, formula),
            formula_per_pupil=_dollars(lang, stat("mean", "formula")),
            difference=_millions(lang, abs(difference)),
        )
    )
    gain = data.filter(pl.col("gap") > 0).height
    lose = data.filter(pl.col("gap") < 0).height
    text = lang.plain(T + "gain_lose", gain=lang.number(gain), lose=lang.number(lose))
    if equity.allocation.formula.model.transition is not None:
        text += " " + lang.plain(T + "phased_in")
    out.append(text)
    out.append(
        lang.plain(
            T + "against_formula",
            below=lang.number(data.filter(pl.col("percent_of_formula") < BELOW).height),
            above=lang.number(data.filter(pl.col("percent_of_formula") > ABOVE).height),
            schools=schools,
            low=lang.percent(BELOW / 100, 0),
            high=lang.percent(ABOVE / 100, 0),
        )
    )
    pair = _same_poverty_pair(data.join(equity.allocation.inputs.select("school_id", "level"), on="school_id", how="left"), lang)
    if pair:
        out.append(pair)
    step_today, step_formula = equity.per_poverty_step("current"), equity.per_poverty_step("formula")
    if step_today is not None and step_formula is not None:
        out.append(lang.plain(T + "poverty_step", today=_dollars(lang, step_today), formula=_dollars(lang, step_formula)))
    bands = equity.bands
    if bands.height >= 2:
        low, high = bands.row(0, named=True), bands.row(-1, named=True)
        out.append(
            lang.plain(
                T + "bands_finding",
                band=band_word(lang, equity),
                high_today=_cents(lang, high["current_per_pupil"]),
                low_today=_cents(lang, low["current_per_pupil"]),
                high_formula=_cents(lang, high["formula_per_pupil"]),
                low_formula=_cents(lang, low["formula_per_pupil"]),
            )
        )
    cv_today, cv_formula = stat("cv", "current"), stat("cv", "formula")
    r_today, r_formula = stat("correlation_poverty", "current"), stat("correlation_poverty", "formula")
    if None not in (cv_today, cv_formula, r_today, r_formula):
        if cv_formula > cv_today and r_formula > r_today:
            kind = "spread_follows_need"
        elif cv_formula <= cv_today:
            kind = "spread_shrinks"
        else:
            kind = "spread_grows"
        out.append(
            lang.plain(
                T + kind,
                cv_today=lang.decimal(cv_today, 3),
                cv_formula=lang.decimal(cv_formula, 3),
                r_today=lang.decimal(r_today, 2),
                r_formula=lang.decimal(r_formula, 2),
            )
        )
    return out


def _same_poverty_pair(data: pl.DataFrame, lang: Language) -> str | None:
    """Two schools of the same level and poverty (within 3 points) whose spending today differs most."""
    pair = widest_close_pair(
        data["poverty_share"].to_numpy(), data["current_per_pupil"].to_numpy(), data["level"].fill_null("").to_list()
    )
    if pair is None:
        return None
    a, b = data.row(pair[0], named=True), data.row(pair[1], named=True)
    return lang.plain(
        T + "same_poverty",
        first=a["name"],
        first_share=_pct(lang, a["poverty_share"]),
        first_today=_cents(lang, a["current_per_pupil"]),
        second=b["name"],
        second_share=_pct(lang, b["poverty_share"]),
        second_today=_cents(lang, b["current_per_pupil"]),
        first_formula=_cents(lang, a["formula_per_pupil"]),
        second_formula=_cents(lang, b["formula_per_pupil"]),
    )


def widest_close_pair(share: np.ndarray, spend: np.ndarray, level: list[str]) -> tuple[int, int] | None:
    """The rows (i, j) of one level, shares within SAME_POVERTY of each other, with the largest
    spend[i] - spend[j] > 0 (ties: the first i, then the first j, in row order), in O(n log n): per
    level, sorted by share, the schools close to i are a run of neighbours, and a sparse table gives
    each run's minimum. No n x n matrix (10,000 schools would need 100 million cells)."""
    groups: dict[str, list[int]] = {}
    for row, lv in enumerate(level):
        groups.setdefault(lv, []).append(row)
    gap = np.full(len(level), -np.inf)
    runs: dict[int, tuple[list[int], int, int]] = {}
    for rows in groups.values():
        order = sorted(rows, key=lambda r: share[r])
        values = spend[order]
        n, lo, hi = len(order), 0, 0
        bounds = np.empty((n, 2), dtype=np.int64)
        for k, row in enumerate(order):  # |a - b| is the larger less the smaller, exactly as the matrix had it
            while share[row] - share[order[lo]] > SAME_POVERTY:
                lo += 1
            hi = max(hi, k)
            while hi + 1 < n and share[order[hi + 1]] - share[row] <= SAME_POVERTY:
                hi += 1
            bounds[k] = lo, hi
        table = [values]
        while 2 ** len(table) <= n:
            half = 2 ** (len(table) - 1)
            table.append(np.minimum(table[-1][:-half], table[-1][half:]))
        width = np.floor(np.log2(bounds[:, 1] - bounds[:, 0] + 1)).astype(np.int64)
        lowest = np.array([min(table[w][a], table[w][b - 2**w + 1]) for w, (a, b) in zip(width, bounds)])
        for k, row in enumerate(order):
            gap[row] = values[k] - lowest[k]
            runs[row] = (order, int(bounds[k, 0]), int(bounds[k, 1]))
    if not len(level) or gap.max() <= 0:
        return None
    i = int(np.argmax(gap))  # the first row with the widest gap
    order, lo, hi = runs[i]
    return i, min(r for r in order[lo : hi + 1] if spend[i] - spend[r] == gap[i])


def _salary(equity: Equity, lang: Language) -> tuple[str, tuple[Row, ...], tuple[Row, ...]]:
    """What average-salary budgeting would move, and to and from which schools (from a roster only)."""
    if equity.spending.kind != ROSTER:
        return "", (), ()
    frame = equity.schools.filter(pl.col("salary_shift").is_not_null())
    moved = int(frame.filter(pl.col("salary_shift") > 0)["salary_shift"].sum())
    lead = lang.plain(T + "salary_lead", moved=_cents(lang, moved))
    sides = (
        frame.filter(pl.col("enrollment") > 0)
        .group_by(pl.col("salary_shift") > 0)
        .agg((pl.col(equity.poverty).sum() / pl.col("enrollment").sum()).alias("share"))
    )
    share = dict(sides.iter_rows())
    if True in share and False in share:
        lead += " " + lang.plain(T + "salary_poverty", to=_pct(lang, share[True]), away=_pct(lang, share[False]))

    def rows(part: pl.DataFrame) -> tuple[Row, ...]:
        columns = "school_id", "name", "poverty_share", "salary_shift", "personnel", "personnel_at_average"
        return tuple(
            Row((name or sid, sid, _pct(lang, p), _cents(lang, abs(shift)), _cents(lang, actual), _cents(lang, average)))
            for sid, name, p, shift, actual, average in part.select(*columns).iter_rows()
        )

    to = frame.filter(pl.col("salary_shift") > 0).sort(["salary_shift", "school_id"], descending=[True, False]).head(TOP)
    away = frame.filter(pl.col("salary_shift") < 0).sort(["salary_shift", "school_id"]).head(TOP)
    return lead, rows(to), rows(away)


def _listing(lang: Language, items: list[str] | tuple[str, ...]) -> str:
    """Names joined by commas, the first `LISTED` of them and how many more."""
    shown = ", ".join(items[:LISTED])
    if len(items) <= LISTED:
        return shown
    return lang.plain(T + "listing_more", schools=shown, count=lang.number(len(items) - LISTED))


def _notes(equity: Equity, lang: Language) -> list[str]:
    notes = []
    if equity.no_pupils.height:
        listed = [lang.plain(T + "school_listed", school_id=sid, name=name or "") for sid, name in equity.no_pupils.iter_rows()]
        notes.append(lang.plain(lang.counted(T + "no_pupils", len(listed)), schools=", ".join(listed)))
    missing = equity.missing.height
    if missing:
        outside = equity.missing.filter(pl.col("missing") == NOT_IN_DATA).height
        key = lang.counted(T + ("not_compared_outside" if outside else "not_compared"), missing)
        notes.append(lang.plain(key, count=lang.number(missing), outside=lang.number(outside)))
    notes += [_spending_note(lang, note) for note in equity.spending.notes]
    notes.append(lang.plain(T + "full_formula"))
    return notes


def _spending_note(lang: Language, note: Note) -> str:
    return lang.plain(
        lang.counted(T + note.kind, len(note.schools)),
        count=lang.number(len(note.schools)),
        file=note.file,
        roster=note.roster,
        zero=lang.money(0, 0),
        schools=_listing(lang, note.schools),
    )


def _options_text(equity: Equity, lang: Language, options: dict) -> str:
    parts = [
        lang.plain(T + "option_poverty", column=equity.poverty),
        lang.plain(T + "option_bands", count=lang.number(equity.band_count)),
        lang.plain(T + ("option_roster" if equity.spending.kind == ROSTER else "option_totals")),
    ]
    if options.get("allow_missing"):
        parts.append(lang.plain(T + "option_missing"))
    return "; ".join(parts)

"""The board's packet: district totals, what the money is for, the transition, the equity
summary (with current spending) and the schools that gain and lose most. `district` returns
the one object `templates/packets/district.html` sees as `packet`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from markupsafe import Markup

from wsf.engine.allocate import TRANSITION
from wsf.render.i18n import Language, bold
from wsf.render.packets.context import Document, Figure, Row, Run, document, median_cents
from wsf.render.shapes import Stack, stack

MOVERS = 8  # schools listed among the largest gains and losses
# measure -> (how it is shown, which way is more equal): "usd", "usd_step" (per 10 points of poverty), or places
MEASURES = {
    "mean": ("usd", "none"),
    "median": ("usd", "none"),
    "restricted_range": ("usd", "lower"),
    "cv": (3, "lower"),
    "mcloone": (3, "one"),
    "gini": (3, "lower"),
    "correlation_poverty": (2, "higher"),
    "slope_poverty": ("usd_step", "higher"),
}


@dataclass(frozen=True)
class Component:
    label: str
    key: str
    amount: str
    share: str
    colour: str  # its segment's colour in the chart ("" for a line with no positive amount)


@dataclass(frozen=True)
class EquitySummary:
    intro: Markup
    rows: tuple[Row, ...]  # measure, today, formula, more equal is
    bands: tuple[Row, ...]  # band, low-income share, schools, pupils, today, formula, difference
    note: Markup


@dataclass(frozen=True)
class Movers:
    heading: str
    before: str  # the column heading of the amount compared with (last year, or today)
    gainers: tuple[Row, ...]  # school, pupils, before, this year, change, change %
    losers: tuple[Row, ...]


@dataclass(frozen=True)
class District:
    """templates/packets/district.html: the board's summary of the whole allocation."""

    doc: Document
    heading: str
    intro: Markup
    figures: tuple[Figure, ...]
    stack: Stack  # drawn without its legend: the components' table carries the colours
    components: tuple[Component, ...]
    total: str
    scale: Markup  # how the pot was met ("" without a pot)
    transition: tuple[Markup, ...]
    equity: EquitySummary | None  # with --current only
    equity_missing: Markup  # with --current, why there is no equity section ("" otherwise)
    movers: Movers | None  # with --prior (or else --current)


def district(run: Run, lang: Language) -> District:
    allocation = run.allocation
    model = allocation.formula.model
    cents = allocation.cents
    total = int(cents["total"].sum())
    pupils = float(cents["enrollment"].sum())
    t = "district."
    labels = {"base": lang.sentence("lines.base"), TRANSITION: lang.sentence("lines.transition")}
    labels |= {k: item.labels.get(lang.code, item.label) for k, item in model.labelled_lines().items()}
    sums = [(key, int(cents[key].sum())) for key in allocation.component_keys]
    chart = stack("components", lang.sentence(t + "components_heading"), [(labels[k], v, lang.money(v, 0), "") for k, v in sums])
    colours = dict(zip([k for k, v in sums if v > 0], (s.colour for s in chart.segments)))
    components = tuple(
        Component(labels[k], k, lang.money(v), lang.percent(v / total if total else None), colours.get(k, "")) for k, v in sums
    )
    per_pupil = cents.filter(pl.col("per_pupil").is_not_null())["per_pupil"]
    average = round(total / pupils) if pupils else None
    figures = (
        Figure(
            lang.sentence(t + "fig_total"),
            lang.money(total, 0),
            lang.say(t + "fig_total_note", schools=lang.number(cents.height)),
        ),
        Figure(
            lang.sentence(t + "fig_pupils"), lang.number(pupils), lang.say(t + "fig_pupils_note", per_pupil=lang.money(average))
        ),
        Figure(
            lang.sentence(t + "fig_range"),
            lang.money(median_cents(per_pupil.to_list()), 0),
            lang.say(t + "fig_range_note", low=lang.money(per_pupil.min(), 0), high=lang.money(per_pupil.max(), 0)),
        ),
    )
    info = model.formula
    scale = Markup("")
    if model.pot:
        scale = lang.say(
            t + "scale_note", scale=lang.decimal(allocation.scale), pot=bold(lang.money(round(model.pot.amount * 100), 0))
        )
    return District(
        doc=document(
            run, lang, "district", f"{info.title_in(lang.code)} \u2014 {lang.sentence('district.kind')}", info.title_in(lang.code)
        ),
        heading=lang.plain(t + "title", year=info.fiscal_year or info.id),
        intro=lang.strong(
            t + "intro",
            total=lang.money(total, 0),
            schools=lang.number(cents.height),
            pupils=lang.number(pupils),
            per_pupil=lang.money(average),
        ),
        figures=figures,
        stack=chart,
        components=components,
        total=lang.money(total),
        scale=scale,
        transition=_transition(run, lang),
        equity=_equity(run, lang),
        equity_missing=lang.say(t + "equity_no_poverty") if run.spending is not None and run.equity is None else Markup(""),
        movers=_movers(run, lang),
    )


def _transition(run: Run, lang: Language) -> tuple[Markup, ...]:
    rules = run.allocation.formula.model.transition
    t = "district."
    if rules is None:
        return (lang.say(t + "transition_none"),)
    table = run.table
    out = []
    basis = lang.sentence("principal.per_pupil_basis") if rules.basis == "per_pupil" else ""
    phased = table.filter(pl.col("phase_in") != 0)
    if rules.gap_closure is not None:
        out.append(
            lang.say(
                lang.counted(t + "transition_phase", phased.height),
                count=bold(lang.number(phased.height)),
                closure=lang.percent(rules.gap_closure, 0),
            )
        )
    floor = table.filter(pl.col("hold_harmless") > 0)
    if rules.max_loss is not None and floor.height == 0:
        out.append(lang.say(t + "transition_floor_none", max_loss=lang.percent(rules.max_loss, 1), basis=basis))
    elif rules.max_loss is not None:
        out.append(
            lang.say(
                lang.counted(t + "transition_floor", floor.height),
                count=bold(lang.number(floor.height)),
                max_loss=lang.percent(rules.max_loss, 1),
                basis=basis,
                cost=bold(lang.money(int(floor["hold_harmless"].sum()), 0)),
            )
        )
    capped = table.filter(pl.col("gain_cap") < 0)
    if run.allocation.gain_cap is not None:
        out.append(
            lang.say(
                lang.counted(t + "transition_cap", capped.height),
                count=bold(lang.number(capped.height)),
                cap=lang.percent(run.allocation.gain_cap, 2),
                basis=basis,
                cost=bold(lang.money(-int(capped["gain_cap"].sum()), 0)),
            )
        )
    elif rules.max_gain is None and run.allocation.formula.model.pot is not None:
        out.append(lang.say(t + "transition_cap_none"))
    new = table.filter(pl.col("prior").is_null() | (pl.col("prior") == 0))
    if new.height:
        out.append(lang.say(lang.counted(t + "transition_new", new.height), count=bold(lang.number(new.height))))
    return tuple(out)


def _measure(lang: Language, equity, name: str, shown, series: str) -> str:
    value = equity.per_poverty_step(series) if shown == "usd_step" else equity.stat(name, series)
    if value is None:
        return lang.sentence("common.not_available")
    if shown in ("usd", "usd_step"):
        return lang.dollars(value, 0)
    return lang.decimal(value, shown)


def _equity(run: Run, lang: Language) -> EquitySummary | None:
    equity = run.equity
    if equity is None:
        return None
    t = "district."
    rows = tuple(
        Row(
            (
                lang.sentence(f"measures.{name}"),
                _measure(lang, equity, name, shown, "current"),
                _measure(lang, equity, name, shown, "formula"),
                lang.sentence(f"measures.better_{better}"),
            )
        )
        for name, (shown, better) in MEASURES.items()
    )
    bands = tuple(
        Row(
            (
                lang.number(b),
                lang.plain(t + "band_range", low=lang.percent(lo, 0), high=lang.percent(hi, 0)),
                lang.number(n),
                lang.number(p),
                lang.money(c, 0),
                lang.money(f, 0),
                lang.signed_money(f - c, 0),
            )
        )
        for b, lo, hi, n, p, c, f, _ in equity.bands.iter_rows()
    )
    note = (
        lang.say(t + "equity_note")
        if equity.missing.height == 0
        else lang.say(lang.counted(t + "equity_note_missing", equity.missing.height), count=lang.number(equity.missing.height))
    )
    return EquitySummary(lang.say(t + "equity_intro", schools=lang.number(equity.analysed.height)), rows, bands, note)


def _movers(run: Run, lang: Language) -> Movers | None:
    t = "district."
    table = run.table
    if table["prior"].is_not_null().any():
        base, heading, before = "prior", lang.sentence(t + "movers_prior"), lang.sentence(t + "col_last_year")
        after = "total"
    elif table["current"].is_not_null().any():
        base, heading, before = "current", lang.sentence(t + "movers_current"), lang.sentence(t + "col_today")
        after = "total"
    else:
        return None
    data = table.filter(pl.col(base).is_not_null() & (pl.col(base) > 0)).with_columns(
        (pl.col(after) - pl.col(base)).alias("_change"), ((pl.col(after) - pl.col(base)) / pl.col(base)).round(4).alias("_share")
    )

    def rows(frame: pl.DataFrame) -> tuple[Row, ...]:
        return tuple(
            Row(
                (
                    r["name"] or r["school_id"],
                    lang.number(r["enrollment"]),
                    lang.money(r[base], 0),
                    lang.money(r[after], 0),
                    lang.signed_money(r["_change"], 0),
                    lang.percent(r["_share"], 1, signed=True),
                )
            )
            for r in frame.iter_rows(named=True)
        )

    # by percentage, then (many schools sit at the same floor or cap) by dollars
    gainers = (
        data.filter(pl.col("_change") > 0).sort(["_share", "_change", "school_id"], descending=[True, True, False]).head(MOVERS)
    )
    losers = data.filter(pl.col("_change") < 0).sort(["_share", "_change", "school_id"]).head(MOVERS)
    return Movers(heading, before, rows(gainers), rows(losers))

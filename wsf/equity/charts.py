"""The equity charts as SVG: coordinates and words here (NumPy, the reader's language), markup
in templates.

`scatter_chart` and `bands_chart` compute every coordinate and label of a `wsf.render.shapes.Chart`;
the templates `templates/equity/scatter.svg` and `templates/equity/bands.svg` only draw it (each
sees one object, `chart`). Words come from the language file's `[equity.charts]` table, numbers
from the `Language`'s formats. Nothing needs a browser.
"""

from __future__ import annotations

import math

import numpy as np

from wsf.equity.analysis import POVERTY_STEP, Equity
from wsf.render.i18n import Language
from wsf.render.shapes import BLUE, ORANGE, Chart, Line, Point, Rect, Series, Tick, domain, frame, legend, ticks

COLOURS = {"current": ORANGE, "formula": BLUE}  # today orange, the formula blue
SERIES = {"current": "today", "formula": "formula"}  # series -> the word its sentences are keyed by
WIDTH, LEFT, RIGHT = 860, 96, 836
T = "equity.charts."


def band_word(lang: Language, equity: Equity) -> str:
    """What one band is of the schools: a tenth (deciles) or a fifth (quintiles)."""
    return lang.sentence(f"equity.band_{equity.band_count}")


def scatter_chart(equity: Equity, lang: Language) -> Chart:
    """Per-pupil dollars against poverty share, today and under the formula, one circle per school."""
    data = equity.analysed
    share = data["poverty_share"].to_numpy()
    pupils = data["enrollment"].cast(float).to_numpy()
    names = data["name"].to_list()
    amounts = {s: data[f"{s}_per_pupil"].to_numpy() / 100 for s in SERIES}
    layout = frame(
        WIDTH,
        lang.plain(T + "scatter_title"),
        lang.plain(T + "scatter_subtitle"),
        plot=344,
        below=72,
        footnote=lang.plain(T + "scatter_footnote", zero=lang.money(0, 0)),
    )
    top, bottom = layout.top, layout.bottom
    x0, x1, xstep = domain(math.floor(share.min() * 10) / 10, math.ceil(share.max() * 10) / 10, 8)
    both = np.concatenate(list(amounts.values()))
    y0, y1, ystep = domain(float(both.min()), float(both.max()), 6)

    def sx(v):
        return np.round(LEFT + (np.asarray(v) - x0) / (x1 - x0) * (RIGHT - LEFT), 1)

    def sy(v):
        return np.round(bottom - (np.asarray(v) - y0) / (y1 - y0) * (bottom - top), 1)

    radius = np.round(2.5 + 6.5 * np.sqrt(pupils / pupils.max()), 1)
    px = sx(share)
    series = []
    low, high = float(share.min()), float(share.max())
    for key, values in amounts.items():
        word = SERIES[key]
        py = sy(values)
        titles = [
            lang.plain(T + f"point_{word}", school=n, share=lang.percent(s, 0), amount=lang.dollars(v))
            for n, s, v in zip(names, share, values)
        ]
        line = equity.lines[key]
        trend = None
        if math.isfinite(line.slope):
            ends = np.array([low, high])
            ty = sy(line.intercept + line.slope * ends)
            tx = sx(ends)
            step = lang.dollars(line.slope * POVERTY_STEP, 0)
            trend = Line(float(tx[0]), float(ty[0]), float(tx[1]), float(ty[1]), lang.plain(T + f"trend_{word}", amount=step))
        points = tuple(Point(float(a), float(b), float(r), t) for a, b, r, t in zip(px, py, radius, titles))
        series.append(Series(key, lang.plain(T + word), COLOURS[key], points, trend))
    cy, fy = sy(amounts["current"]), sy(amounts["formula"])
    x_values, y_values = ticks(x0, x1, xstep), ticks(y0, y1, ystep)
    return Chart(
        id="scatter",
        lang=lang.tag,
        frame=layout,
        left=LEFT,
        right=RIGHT,
        x_label=lang.plain(T + "scatter_x", column=equity.poverty),
        y_label=lang.plain(T + "scatter_y"),
        x_ticks=tuple(Tick(float(p), lang.percent(v, 0)) for p, v in zip(sx(x_values), x_values)),
        y_ticks=tuple(Tick(float(p), lang.dollars(v, 0)) for p, v in zip(sy(y_values), y_values)),
        series=legend(series, LEFT),
        links=tuple(Line(float(a), float(b), float(a), float(c)) for a, b, c in zip(px, cy, fy)),
    )


def bands_chart(equity: Equity, lang: Language) -> Chart:
    """Pupil-weighted mean per-pupil dollars per poverty band, today beside the formula (bars from $0)."""
    bands = equity.bands
    n = bands.height
    layout = frame(
        WIDTH,
        lang.plain(T + "bands_title"),
        lang.plain(T + "bands_subtitle", count=lang.number(n), band=band_word(lang, equity)),
        plot=316,
        below=80,
    )
    top, bottom = layout.top, layout.bottom
    values = {s: bands[f"{s}_per_pupil"].to_numpy() / 100 for s in SERIES}
    _, y1, ystep = domain(0.0, float(max(v.max() for v in values.values())), 6)

    def sy(v):
        return np.round(bottom - np.asarray(v) / y1 * (bottom - top), 1)

    slot = (RIGHT - LEFT) / n
    bar = min(slot * 0.36, 40.0)
    centres = LEFT + slot * (np.arange(n) + 0.5)
    bars = []
    gap = 2.0
    band_ids = bands["band"].to_list()
    for key, xs in (("current", centres - bar - gap / 2), ("formula", centres + gap / 2)):
        ys = sy(values[key])
        for band, x, y, v in zip(band_ids, np.round(xs, 1), ys, values[key]):
            title = lang.plain(T + f"bar_{SERIES[key]}", band=lang.number(band), amount=lang.dollars(v))
            bars.append(Rect(float(x), float(y), round(bar, 1), round(bottom - float(y), 1), COLOURS[key], title))
    first, last = band_ids[0], band_ids[-1]
    tick_labels = [
        lang.plain(T + "band_lowest", band=lang.number(b))
        if b == first
        else lang.plain(T + "band_highest", band=lang.number(b))
        if b == last
        else lang.number(b)
        for b in band_ids
    ]
    ranges = [
        lang.plain(T + "band_range", low=lang.percent(a, 0), high=lang.percent(b, 0))
        for a, b in zip(bands["poverty_from"], bands["poverty_to"])
    ]
    y_values = ticks(0.0, y1, ystep)
    series = [Series(k, lang.plain(T + SERIES[k]), COLOURS[k]) for k in SERIES]
    return Chart(
        id="bands",
        lang=lang.tag,
        frame=layout,
        left=LEFT,
        right=RIGHT,
        x_label=lang.plain(T + "bands_x", column=equity.poverty),
        y_label=lang.plain(T + "bands_y"),
        x_ticks=tuple(Tick(round(float(c), 1), t) for c, t in zip(centres, tick_labels)),
        x_notes=tuple(Tick(round(float(c), 1), r) for c, r in zip(centres, ranges)),
        y_ticks=tuple(Tick(float(p), lang.dollars(v, 0)) for p, v in zip(sy(y_values), y_values)),
        series=legend(series, LEFT),
        bars=tuple(bars),
    )

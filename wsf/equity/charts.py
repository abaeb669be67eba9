"""The equity charts as SVG: coordinates and labels here (NumPy), markup in templates.

`scatter_chart` and `bands_chart` compute every coordinate and label; the templates
`templates/equity/scatter.svg` and `templates/equity/bands.svg` only draw them. Each
template sees one object, `chart` (a `Chart`), documented below. Nothing needs a browser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jinja2
import numpy as np
from markupsafe import Markup

from wsf.equity.analysis import POVERTY_STEP, Equity
from wsf.render import TEMPLATES
from wsf.render.text import money

CURRENT_COLOUR = "#c2410c"  # orange: today
FORMULA_COLOUR = "#1d4ed8"  # blue: the formula (an orange/blue pair reads in every common colour blindness)


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along the axis
    label: str


@dataclass(frozen=True)
class Point:
    cx: float
    cy: float
    r: float
    title: str


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float
    title: str = ""


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Series:
    key: str  # "current" or "formula"
    label: str
    colour: str
    points: tuple[Point, ...] = ()
    trend: Segment | None = None


@dataclass(frozen=True)
class Chart:
    """What a chart template draws. Pixel coordinates; the plot is [left, right] x [top, bottom]."""

    id: str  # prefix for the SVG's element ids (unique when two charts share a page)
    width: int
    height: int
    title: str
    subtitle: str
    left: float
    top: float
    right: float
    bottom: float
    x_label: str
    y_label: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    series: tuple[Series, ...]
    x_notes: tuple[Tick, ...] = ()  # a second line under the x tick labels (bands: poverty range)
    links: tuple[Segment, ...] = ()  # scatter: one school's amount today -> under the formula
    bars: tuple[Bar, ...] = field(default=())
    footnote: str = ""


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context) -> Markup:
    """Render a template; the result is markup (autoescaped), safe to inline in the summary."""
    return Markup(environment().get_template(template).render(**context))


def nice_step(span: float, count: int = 6) -> float:
    """A round tick step (1, 2, 2.5 or 5 x 10^k) giving about `count` ticks over `span`."""
    if span <= 0:
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _domain(low: float, high: float, count: int = 6) -> tuple[float, float, float]:
    if high <= low:
        low, high = low - 1, high + 1
    step = nice_step(high - low, count)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _ticks(low: float, high: float, step: float) -> np.ndarray:
    return low + step * np.arange(round((high - low) / step) + 1)


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def scatter_chart(equity: Equity) -> Chart:
    """Per-pupil dollars against poverty share, today and under the formula, one circle per school."""
    data = equity.analysed
    share = data["poverty_share"].to_numpy()
    pupils = data["enrollment"].cast(float).to_numpy()
    names = data["name"].to_list()
    amounts = {s: data[f"{s}_per_pupil"].to_numpy() / 100 for s in ("current", "formula")}
    width, height, left, top, right, bottom = 860, 520, 96, 104, 836, 448
    x0, x1, xstep = _domain(math.floor(share.min() * 10) / 10, math.ceil(share.max() * 10) / 10, 8)
    both = np.concatenate(list(amounts.values()))
    y0, y1, ystep = _domain(float(both.min()), float(both.max()), 6)

    def sx(v):
        return np.round(left + (np.asarray(v) - x0) / (x1 - x0) * (right - left), 1)

    def sy(v):
        return np.round(bottom - (np.asarray(v) - y0) / (y1 - y0) * (bottom - top), 1)

    radius = np.round(2.5 + 6.5 * np.sqrt(pupils / pupils.max()), 1)
    px = sx(share)
    labels = {"current": "Today (current spending)", "formula": "Under the formula"}
    colours = {"current": CURRENT_COLOUR, "formula": FORMULA_COLOUR}
    series = []
    low, high = float(share.min()), float(share.max())
    for key, values in amounts.items():
        py = sy(values)
        titles = [
            f"{n}: {_percent(s)} low-income, {labels[key].lower()} {money(v)} per pupil" for n, s, v in zip(names, share, values)
        ]
        line = equity.lines[key]
        trend = None
        if math.isfinite(line.slope):
            ends = np.array([low, high])
            ty = sy(line.intercept + line.slope * ends)
            tx = sx(ends)
            trend = Segment(
                float(tx[0]),
                float(ty[0]),
                float(tx[1]),
                float(ty[1]),
                f"trend {labels[key].lower()}: {money(line.slope * POVERTY_STEP, 0)} per pupil for each 10 points of poverty",
            )
        points = tuple(Point(float(a), float(b), float(r), t) for a, b, r, t in zip(px, py, radius, titles))
        series.append(Series(key, labels[key], colours[key], points, trend))
    cy, fy = sy(amounts["current"]), sy(amounts["formula"])
    links = tuple(Segment(float(a), float(b), float(a), float(c)) for a, b, c in zip(px, cy, fy))
    return Chart(
        id="scatter",
        width=width,
        height=height,
        title="Dollars per pupil by share of low-income pupils",
        subtitle=(
            "Each circle is a school (its area shows its pupils); a grey line joins a school's amount today "
            "to its amount under the formula."
        ),
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        x_label=f"Low-income pupils ({equity.poverty}) as a share of enrollment",
        y_label="Dollars per pupil",
        x_ticks=tuple(Tick(float(p), _percent(v)) for p, v in zip(sx(_ticks(x0, x1, xstep)), _ticks(x0, x1, xstep))),
        y_ticks=tuple(Tick(float(p), money(v, 0)) for p, v in zip(sy(_ticks(y0, y1, ystep)), _ticks(y0, y1, ystep))),
        series=tuple(series),
        links=links,
        footnote=(
            "Dashed line: trend today; solid line: trend under the formula (pupil-weighted straight-line fits). "
            "The vertical axis does not start at $0."
        ),
    )


def bands_chart(equity: Equity) -> Chart:
    """Pupil-weighted mean per-pupil dollars per poverty band, today beside the formula (bars from $0)."""
    bands = equity.bands
    n = bands.height
    width, height, left, top, right, bottom = 860, 500, 96, 104, 836, 420
    values = {s: bands[f"{s}_per_pupil"].to_numpy() / 100 for s in ("current", "formula")}
    _, y1, ystep = _domain(0.0, float(max(v.max() for v in values.values())), 6)

    def sy(v):
        return np.round(bottom - np.asarray(v) / y1 * (bottom - top), 1)

    slot = (right - left) / n
    bar = min(slot * 0.36, 40.0)
    centres = left + slot * (np.arange(n) + 0.5)
    word = "tenth" if equity.band_count == 10 else "fifth"
    labels = {"current": "Today (current spending)", "formula": "Under the formula"}
    colours = {"current": CURRENT_COLOUR, "formula": FORMULA_COLOUR}
    bars = []
    gap = 2.0
    for key, xs in (("current", centres - bar - gap / 2), ("formula", centres + gap / 2)):
        ys = sy(values[key])
        for band, x, y, v in zip(bands["band"].to_list(), np.round(xs, 1), ys, values[key]):
            bars.append(
                Bar(
                    float(x),
                    float(y),
                    round(bar, 1),
                    round(bottom - float(y), 1),
                    colours[key],
                    f"band {band}: {labels[key].lower()} {money(v)} per pupil",
                )
            )
    band_ids = bands["band"].to_list()
    first, last = band_ids[0], band_ids[-1]
    tick_labels = [f"{b}" + (" lowest" if b == first else " highest" if b == last else "") for b in band_ids]
    ranges = [f"{_percent(a)}–{_percent(b)}" for a, b in zip(bands["poverty_from"], bands["poverty_to"])]
    return Chart(
        id="bands",
        width=width,
        height=height,
        title="Average dollars per pupil, schools grouped by poverty",
        subtitle=(
            f"Schools in {n} groups of about equal size (each a {word} of the schools), "
            "from the lowest share of low-income pupils to the highest."
        ),
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        x_label=f"Poverty band (range of low-income share, {equity.poverty})",
        y_label="Dollars per pupil (pupil-weighted mean)",
        x_ticks=tuple(Tick(round(float(c), 1), t) for c, t in zip(centres, tick_labels)),
        x_notes=tuple(Tick(round(float(c), 1), r) for c, r in zip(centres, ranges)),
        y_ticks=tuple(Tick(float(p), money(v, 0)) for p, v in zip(sy(_ticks(0.0, y1, ystep)), _ticks(0.0, y1, ystep))),
        series=tuple(Series(k, labels[k], colours[k]) for k in ("current", "formula")),
        bars=tuple(bars),
    )

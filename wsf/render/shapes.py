"""Geometry of every chart wsf draws: coordinates computed here, SVG markup in the templates.

One module for the packets' charts and the equity report's, so a rectangle, a line or a tick is
one type wherever it is drawn:

- `templates/packets/_bars.svg` draws a `Bars` (one labelled horizontal bar per row, with an
  optional reference line); `templates/packets/_stack.svg` draws a `Stack` (one bar split into
  coloured `Rect`s, its legend laid out in HTML beside it). These are 680 wide, the width of a
  Letter page inside the packet margins.
- `templates/equity/_frame.svg` draws the axes, legend and titles of a `Chart` (an x-y plot of
  `Series` of `Point`s, `Line`s and `Rect`s), which `templates/equity/scatter.svg` and
  `bands.svg` fill in.

Coordinates are in SVG user units (1/96 inch). SVG text does not wrap itself, and a sentence
half as long again in another language must still fit: `wrap` breaks titles and notes into lines
measured by DejaVu Sans' own character widths (`text_width`), the widest of the fonts the charts
name, so a line that fits in it fits in the others. No font file is read: the widths are here,
so the same text gives the same lines on every machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from markupsafe import Markup, escape

WIDTH = 680
# Colour-blind-safe qualitative palette (Tableau 10), in the order lines appear.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac")
BLUE = "#1d4ed8"
ORANGE = "#c2410c"  # with BLUE, a pair that reads in every common colour blindness
HIGHLIGHT = BLUE
MUTED = "#9db3cf"
NEGATIVE = ORANGE

# DejaVu Sans advance widths in 1/2048 em: U+0020-U+007E, U+00A0-U+00FF, and a few more.
_ASCII = (
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577, 1294, 1178,
    1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251,
    1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995,
    1298, 1253, 1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716,
)  # fmt: skip
_LATIN1 = (
    651, 821, 1303, 1303, 1303, 1303, 690, 1024, 1024, 2048, 965, 1253, 1716, 739, 2048, 1024, 1024, 1716, 821, 821,
    1024, 1303, 1303, 651, 1024, 821, 965, 1253, 1985, 1985, 1985, 1087, 1401, 1401, 1401, 1401, 1401, 1401, 1995,
    1430, 1294, 1294, 1294, 1294, 604, 604, 604, 604, 1587, 1532, 1612, 1612, 1612, 1612, 1612, 1716, 1612, 1499,
    1499, 1499, 1499, 1251, 1239, 1290, 1255, 1255, 1255, 1255, 1255, 1255, 2011, 1126, 1260, 1260, 1260, 1260, 569,
    569, 569, 569, 1253, 1298, 1253, 1253, 1253, 1253, 1253, 1716, 1253, 1298, 1298, 1298, 1298, 1212, 1300, 1212,
)  # fmt: skip
WIDTHS = {
    **dict(zip(map(chr, range(0x20, 0x7F)), _ASCII)),
    **dict(zip(map(chr, range(0xA0, 0x100)), _LATIN1)),
    "\u2013": 1024, "\u2014": 2048, "\u2018": 651, "\u2019": 651, "\u201c": 1061, "\u201d": 1061, "\u2026": 2048,
    "\u2212": 1716, "\u20ac": 1303,
}  # fmt: skip
WIDEST = 2048  # a character outside the table counts as a full em
BOLD = 1.13  # DejaVu Sans Bold is about this much wider, on average over words


@dataclass(frozen=True)
class Rect:
    """A filled rectangle with a tooltip: a bar of a column chart, a segment of a `Stack`."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    title: str = ""


@dataclass(frozen=True)
class Point:
    cx: float
    cy: float
    r: float
    title: str


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along the axis
    label: str


# -- the packets' charts ------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One row of a `Bars`: a label, a bar and its value."""

    y: float
    x: float  # where the bar starts
    width: float
    label: str
    value: str
    value_x: float  # where the value text ends (right-aligned in a column after the bars)
    colour: str
    bold: bool = False


@dataclass(frozen=True)
class Reference:
    x: float
    label: str
    top: float
    bottom: float


@dataclass(frozen=True)
class Bars:
    """A horizontal bar chart: labels right-aligned at `label_right`, bars from `zero`."""

    id: str
    title: str  # read by screen readers (<title>)
    width: int
    height: int
    label_right: float
    zero: float
    bar_height: float
    bars: tuple[Bar, ...]
    reference: Reference | None = None


@dataclass(frozen=True)
class LegendItem:
    colour: str
    label: str
    amount: str
    share: str


@dataclass(frozen=True)
class Stack:
    id: str
    title: str
    width: int
    height: int
    segments: tuple[Rect, ...]  # each as tall as the stack (the template draws them from y = 0)
    legend: tuple[LegendItem, ...]


def clip(text: str, most: int) -> str:
    """A label shortened to `most` characters with an ellipsis (the full text stays in tables)."""
    return text if len(text) <= most else text[: most - 1].rstrip() + "\u2026"


def bars(
    id: str,
    title: str,
    rows: list[tuple[str, float, str, bool]],
    reference: tuple[float, str] | None = None,
    label_width: float = 230,
    colour: str = MUTED,
) -> Bars:
    """Rows of (label, value, value text, highlighted). Values may be negative (drawn leftwards)."""
    row_height, bar_height, top = 24.0, 15.0, 6.0
    values = [v for _, v, _, _ in rows] + ([reference[0]] if reference else [])
    low, high = min(0.0, *values), max(0.0, *values) or 1.0
    left, right = label_width + 10, WIDTH - 96  # the values are a right-aligned column after the bars
    scale = (right - left) / ((high - low) or 1.0)
    zero = left - low * scale
    out = []
    for i, (label, value, text, bold) in enumerate(rows):
        start, end = sorted((zero, zero + value * scale))
        fill = HIGHLIGHT if bold else (NEGATIVE if value < 0 else colour)
        out.append(
            Bar(
                top + i * row_height,
                round(start, 2),
                round(max(end - start, 0.5), 2),
                clip(label, 40),
                text,
                WIDTH - 2,
                fill,
                bold,
            )
        )
    height = int(top + len(rows) * row_height + (22 if reference else 4))
    ref = None
    if reference:
        ref = Reference(round(zero + reference[0] * scale, 2), reference[1], 0.0, top + len(rows) * row_height)
    return Bars(id, title, WIDTH, height, label_width, round(zero, 2), bar_height, tuple(out), ref)


def stack(id: str, title: str, parts: list[tuple[str, int, str, str]], height: int = 30) -> Stack:
    """One bar of the positive parts, (label, cents, amount text, share text) each, in order."""
    positive = [(label, cents, amount, share) for label, cents, amount, share in parts if cents > 0]
    whole = sum(c for _, c, _, _ in positive) or 1
    x, segments, legend = 0.0, [], []
    for i, (label, cents, amount, share) in enumerate(positive):
        colour = PALETTE[i % len(PALETTE)]
        width = WIDTH * cents / whole
        title_ = f"{label}: {amount}" + (f" ({share})" if share else "")
        segments.append(Rect(round(x, 2), 0.0, round(width, 2), float(height), colour, title_))
        legend.append(LegendItem(colour, label, amount, share))
        x += width
    for label, cents, amount, share in parts:
        if cents < 0:
            legend.append(LegendItem(NEGATIVE, label, amount, share))
    return Stack(id, title, WIDTH, height, tuple(segments), tuple(legend))


# -- x-y charts (the equity report) ----------------------------------------------------------


@dataclass(frozen=True)
class Series:
    key: str  # "current" or "formula"
    label: str
    colour: str
    points: tuple[Point, ...] = ()
    trend: Line | None = None
    legend_x: float = 0.0  # where its legend entry starts

    @property
    def circles(self) -> Markup:
        """The points as SVG circles with their titles (escaped), written here rather than by a
        template loop: 10,000 schools' points took the sandboxed template over a second."""
        return Markup("\n".join(
            f'    <circle cx="{p.cx}" cy="{p.cy}" r="{p.r}"><title>{escape(p.title)}</title></circle>' for p in self.points
        ))


@dataclass(frozen=True)
class Frame:
    """A chart's words and where they go: the title and subtitle wrapped to its width above the
    legend and the plot, the footnote below. Each line is a `Tick` at its baseline."""

    width: int
    height: int
    title: str  # whole, for screen readers (<title>, <desc>)
    subtitle: str
    title_lines: tuple[Tick, ...]
    subtitle_lines: tuple[Tick, ...]
    legend: float  # the legend row's middle
    top: float  # the plot's top and bottom
    bottom: float
    footnote_lines: tuple[Tick, ...] = ()


@dataclass(frozen=True)
class Chart:
    """What an equity chart template draws. Pixel coordinates; the plot is [left, right] x
    [frame.top, frame.bottom]."""

    id: str  # prefix for the SVG's element ids (unique when two charts share a page)
    lang: str  # the language of its text (xml:lang)
    frame: Frame
    left: float
    right: float
    x_label: str
    y_label: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    series: tuple[Series, ...]
    x_notes: tuple[Tick, ...] = ()  # a second line under the x tick labels (bands: poverty range)
    links: tuple[Line, ...] = ()  # scatter: one school's amount today -> under the formula
    bars: tuple[Rect, ...] = field(default=())

    @property
    def link_lines(self) -> Markup:
        """The scatter's links as SVG lines, written here for the reason `Series.circles` is."""
        return Markup("\n".join(f'    <line x1="{k.x1}" y1="{k.y1}" x2="{k.x2}" y2="{k.y2}"/>' for k in self.links))

    @property
    def y_label_lines(self) -> tuple[Tick, ...]:
        """The y axis label in lines no longer than the plot is tall, each at the x of its baseline
        (the text runs upwards): one line at 22, two at 14 and 30."""
        lines = wrap(self.y_label, AXIS_SIZE, self.frame.bottom - self.frame.top)
        return tuple(Tick(22.0 - 8 * (len(lines) - 1) + 16 * i, line) for i, line in enumerate(lines))


TITLE_SIZE, SUBTITLE_SIZE, LEGEND_SIZE, AXIS_SIZE, FOOTNOTE_SIZE = 19.0, 12.5, 13.0, 13.0, 11.5
MARGIN = 24  # left and right of the title, subtitle and footnote


def text_width(text: str, size: float, bold: bool = False) -> float:
    """How wide `text` is at font `size` in DejaVu Sans (its bold a little wider)."""
    return sum(WIDTHS.get(c, WIDEST) for c in text) * size / 2048 * (BOLD if bold else 1.0)


def wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    """`text` in lines no wider than `width` at font `size`, broken between words (a word longer
    than the width has a line of its own)."""
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(joined, size, bold) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines


def frame(width: int, title: str, subtitle: str, plot: float, below: float, footnote: str = "") -> Frame:
    """Lay out a chart `width` wide whose plot is `plot` tall with `below` under it for tick and
    axis labels (and the footnote's first line). With one line of title and subtitle the title's
    baseline is at 32, the subtitle's at 54, the legend's middle at 80 and the plot's top at 104;
    every further line moves what follows down."""
    text = width - 2 * MARGIN
    heads = wrap(title, TITLE_SIZE, text, bold=True)
    subs = wrap(subtitle, SUBTITLE_SIZE, text)
    feet = wrap(footnote, FOOTNOTE_SIZE, text)
    title_lines = tuple(Tick(32.0 + 23 * i, line) for i, line in enumerate(heads))
    first = title_lines[-1].at + 22 if title_lines else 32.0
    subtitle_lines = tuple(Tick(first + 16 * i, line) for i, line in enumerate(subs))
    legend = (subtitle_lines[-1].at if subtitle_lines else first - 22) + 26
    top = legend + 24
    bottom = top + plot
    height = int(bottom + below + 14 * max(len(feet) - 1, 0))
    footnote_lines = tuple(Tick(height - 12.0 - 14 * (len(feet) - 1 - i), line) for i, line in enumerate(feet))
    return Frame(width, height, title, subtitle, title_lines, subtitle_lines, legend, top, bottom, footnote_lines)


def legend(series: list[Series], left: float) -> tuple[Series, ...]:
    """The series with their legend entries placed side by side from `left`, each at least 230
    wide and wider when its label needs it (a swatch, a gap, the label, a gap)."""
    out, x = [], left + 4
    for item in series:
        out.append(Series(item.key, item.label, item.colour, item.points, item.trend, round(x, 1)))
        x += max(230.0, 20 + text_width(item.label, LEGEND_SIZE) + 24)
    return tuple(out)


def nice_step(span: float, count: int = 6) -> float:
    """A round tick step (1, 2, 2.5 or 5 x 10^k) giving about `count` ticks over `span`."""
    if span <= 0:
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def domain(low: float, high: float, count: int = 6) -> tuple[float, float, float]:
    """An axis from a round number at or below `low` to one at or above `high`, and its step."""
    if high <= low:
        low, high = low - 1, high + 1
    step = nice_step(high - low, count)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def ticks(low: float, high: float, step: float) -> np.ndarray:
    """The tick values of an axis from `domain`."""
    return low + step * np.arange(round((high - low) / step) + 1)

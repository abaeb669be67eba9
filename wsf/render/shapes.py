"""Geometry of the packets' charts: coordinates computed here, SVG markup in the templates.

`templates/packets/_bars.svg` draws a `Bars` (one labelled horizontal bar per row, with an
optional reference line); `templates/packets/_stack.svg` draws a `Stack` (one bar split into
coloured segments, its legend laid out in HTML beside it). Coordinates are in SVG user units
(1/96 inch); the charts are 680 wide, the width of a Letter page inside the packet margins.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 680
# Colour-blind-safe qualitative palette (Tableau 10), in the order lines appear.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac")
HIGHLIGHT = "#1d4ed8"
MUTED = "#9db3cf"
NEGATIVE = "#c2410c"


@dataclass(frozen=True)
class Bar:
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
class Segment:
    x: float
    width: float
    colour: str
    title: str


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
    segments: tuple[Segment, ...]
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
        segments.append(Segment(round(x, 2), round(width, 2), colour, f"{label}: {amount}" + (f" ({share})" if share else "")))
        legend.append(LegendItem(colour, label, amount, share))
        x += width
    for label, cents, amount, share in parts:
        if cents < 0:
            legend.append(LegendItem(NEGATIVE, label, amount, share))
    return Stack(id, title, WIDTH, height, tuple(segments), tuple(legend))

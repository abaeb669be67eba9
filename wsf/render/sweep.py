"""What `wsf sweep` prints: the points (or each school at each point) as a formatted table,
every row, or the first and last rows and how many are left out (and where they all are)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from wsf.render.text import money

SHOWN = 60  # rows printed in full; beyond, the first and last half of it
MONEY_POINTS = ("total", "hold_harmless", "floor_pays_them")  # dollars (floats to the cent) in the points table
CENTS_SCHOOLS = ("amount", "change", "per_pupil")  # integer cents in the per-school table


def value(v: float | None) -> str:
    """A swept value as it would be written: 0.25, 250,000, 2.5e+08 written out."""
    if v is None:
        return ""
    return f"{v:,.0f}" if abs(v) >= 1000 and float(v).is_integer() else f"{v:,.6g}"


def percent(v: float | None, signed: bool = False) -> str:
    return "" if v is None else (f"{v:+.2%}" if signed else f"{v:.2%}")


def _formats(table: pl.DataFrame, swept: list[str]) -> dict[str, Callable]:
    formats: dict[str, Callable] = {}
    for column in table.columns:
        if column in swept:
            formats[column] = value
        elif column in MONEY_POINTS:
            formats[column] = lambda v: "" if v is None else money(v)
        elif column in CENTS_SCHOOLS:
            formats[column] = lambda v: "" if v is None else money(v / 100)
        elif column == "change_percent":
            formats[column] = lambda v: percent(v, signed=True)
        elif column == "gain_cap":
            formats[column] = percent
        elif column == "scale":
            formats[column] = lambda v: "" if v is None else f"{v:.6f}"
        elif column in ("cv", "gini"):
            formats[column] = lambda v: "" if v is None else f"{v:.4f}"
        elif table[column].dtype.is_integer():
            formats[column] = lambda v: "" if v is None else f"{v:,}"
        else:
            formats[column] = lambda v: "" if v is None else str(v)[:30]
    return formats


def render_table(table: pl.DataFrame, swept: list[str], what: str, output: Path | None) -> str:
    """The table with dollars, percentages and counts written out, columns aligned; every row up
    to SHOWN rows, else the first and last SHOWN // 2 and a line saying how many are left out."""
    formats = _formats(table, swept)
    if table.height > SHOWN:
        half = SHOWN // 2
        parts = [table.head(half), table.tail(half)]
    else:
        parts = [table]
    cells = [[[formats[c](v) for c, v in zip(table.columns, row, strict=True)] for row in part.iter_rows()] for part in parts]
    widths = [max([len(c)] + [len(row[i]) for part in cells for row in part]) for i, c in enumerate(table.columns)]
    text = [c for c in table.columns]
    numeric = [table[c].dtype.is_numeric() for c in table.columns]

    def line(row: list[str]) -> str:
        return "  ".join(cell.rjust(w) if right else cell.ljust(w) for cell, w, right in zip(row, widths, numeric, strict=True)).rstrip()

    out = [line(text), line(["-" * w for w in widths])]
    out += [line(row) for row in cells[0]]
    if len(cells) > 1:
        left = table.height - SHOWN
        where = f"all {table.height:,} are in {output}" if output else "write them all with -o FILE (.csv, .parquet or .xlsx)"
        out.append(f"... {left:,} {what} not shown: {where}")
        out += [line(row) for row in cells[1]]
    return "\n".join(out)

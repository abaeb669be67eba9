"""The LCAP folder: every action table as CSV (and the school formula's and site plans' totals per
action), one workbook, one HTML page, the budget overview for
parents in each language asked for (HTML, and PDF on request), and meta.json.

Everything is written into a temporary sibling folder and swapped onto the target only when
complete, so a failed run leaves the previous folder as it was; reruns on the same inputs give
identical bytes (no timestamps, fixed PDF dates and identifiers). The overview's words come from
`wsf/templates/lcap/i18n/<lang>.toml` and render in a sandboxed, autoescaped Jinja
environment (`wsf.render.templates`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from wsf import __version__
from wsf.errors import WsfError
from wsf.lcap.numbers import dollars, points
from wsf.lcap.pages import File, overview, tables_page
from wsf.lcap.tables import DOLLARS, PERCENT, Table, Tables
from wsf.lcap.workbook import write_book
from wsf.render import TEMPLATES
from wsf.render.i18n import Language, load_language
from wsf.render.templates import sandbox
from wsf.write.atomic import folder_into_place
from wsf.write.files import atomic_path, check_output, write_json, write_table

FOLDER = TEMPLATES / "lcap"
DEFAULT_LANG = "en"
OURS = re.compile(r"(total_planned_expenditures|contributing_actions|annual_update|contributing_actions_annual_update|wsf_by_action|plans_by_action|summary)\.csv"
                  r"|tables\.(xlsx|html)|overview(\.[A-Za-z0-9_-]+)?\.(html|pdf)|meta\.json")


def languages(codes: Iterable[str]) -> list[Language]:
    chosen = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not chosen:
        raise WsfError("no language given", key="--lang", fix="give language codes such as en,es")
    return [load_language(code, [FOLDER]) for code in chosen]


def document_name(stem: str, code: str, extension: str) -> str:
    """`overview.html` in English, `overview.es.html` in Spanish."""
    return f"{stem}.{extension}" if code == DEFAULT_LANG else f"{stem}.{code}.{extension}"


def write_lcap(tables: Tables, output: Path, inputs: list[tuple[str, Path]], files: tuple[File, ...], meta: dict,
               langs: Iterable[str] = (DEFAULT_LANG,), pdf: bool = False) -> list[Path]:
    """Write the whole folder atomically; returns the files written (inside `output`)."""
    output = Path(output)
    chosen = languages(langs)
    check_output(output, inputs, folder=True)
    _check_target(output)
    with folder_into_place(output) as temp:
        names = _write(tables, temp, files, meta, chosen, pdf)
    return [output / name for name in names]


def frame(table: Table) -> pl.DataFrame:
    """A table's actions as columns: money in dollars and cents, percentages in points to a thousandth."""
    data, schema = {}, {}
    for column in table.columns:
        values = [row[column.name] for row in table.rows]
        if column.unit == DOLLARS:
            data[column.name], schema[column.name] = [dollars(v) for v in values], pl.Decimal(None, 2)
        elif column.unit == PERCENT:
            data[column.name], schema[column.name] = [points(v) for v in values], pl.Decimal(None, 3)
        else:
            data[column.name], schema[column.name] = values, pl.String
    return pl.DataFrame(data, schema=schema)


def summary(tables: Tables) -> pl.DataFrame:
    """Every numbered field of every table: its number (or name), wording, value, unit and formula."""
    rows = [(t.name, t.year, i.key, i.label, f"{dollars(i.value) if i.unit == DOLLARS else points(i.value)}", i.unit, i.formula)
            for t in tables.tables for i in t.items]
    return pl.DataFrame(rows, schema=["table", "year", "item", "label", "value", "unit", "formula"], orient="row")


def _write(tables: Tables, folder: Path, files: tuple[File, ...], meta: dict, chosen: list[Language], pdf: bool) -> list[str]:
    names = ["summary.csv"]
    write_table(summary(tables), folder / "summary.csv")
    for table in (*tables.tables, *tables.extra):
        if table.rows or table.columns:
            names.append(f"{table.name}.csv")
            write_table(frame(table), folder / names[-1])
    names.append("tables.xlsx")
    with atomic_path(folder / "tables.xlsx") as temp:
        write_book(temp, tables, files)
    env = sandbox([FOLDER])
    english = load_language(DEFAULT_LANG, [FOLDER])
    names.append("tables.html")
    _text(folder / "tables.html", env.get_template("tables.html").render(page=tables_page(english, tables, files)))
    for lang in chosen:
        html = env.get_template("overview.html").render(page=overview(lang, tables, files))
        names.append(document_name("overview", lang.code, "html"))
        _text(folder / names[-1], html)
        if pdf:
            from wsf.render.pdf import render_pdf  # WeasyPrint: half a second to import, only when asked

            names.append(document_name("overview", lang.code, "pdf"))
            with atomic_path(folder / names[-1]) as temp:
                refused = render_pdf(html, str(temp), str(FOLDER) + os.sep, (FOLDER,))
            if refused:
                raise WsfError(f"the overview's PDF could not load {', '.join(refused)}", file=names[-1])
    write_json({**meta, "wsf_version": __version__, "languages": [lang.code for lang in chosen], "files": names}, folder / "meta.json")
    return [*names, "meta.json"]


def _text(path: Path, text: str) -> None:
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8", newline="\n")


def _check_target(output: Path) -> None:
    """Only replace a folder that is empty or holds nothing but an earlier LCAP folder."""
    if output.exists() and not output.is_dir():
        raise WsfError("is a file, not a folder", file=output, key="-o", fix="give a folder name for the LCAP tables")
    if output.is_dir():
        foreign = sorted(p.name for p in output.iterdir() if not OURS.fullmatch(p.name))
        if foreign:
            raise WsfError(f"the folder exists and holds files this command did not write ({', '.join(foreign[:5])})", file=output, key="-o",
                           fix="choose a new folder, or empty this one")

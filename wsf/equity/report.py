"""The equity output folder: tables, charts and a one-page summary for the board, in the
languages asked for.

`write_report` writes everything into a temporary sibling folder and renames it onto the
target only when complete, so a failed run leaves no half-written folder; reruns on the same
inputs give identical bytes (no timestamps, fixed ordering, fixed number formats).

The tables are the same in every language (measure keys, school ids and column names are
identities, not words). The summary and its two charts are written once per language:
English keeps the names `summary.html`, `scatter.svg` and `bands.svg`; another language
`xx` writes `summary.xx.html`, `scatter.xx.svg` and `bands.xx.svg` beside them, so a file's
name says its language whatever else the run was asked for. Their words come from the packets'
language files (`templates/packets/i18n/<lang>.toml`, table `[equity]`), and they render in the
sandboxed Jinja environment, with the packets' options (`wsf.render.templates`); the summary's context is a
`wsf.equity.summary.Summary`, the charts' a `wsf.render.shapes.Chart`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import jinja2
import polars as pl
from markupsafe import Markup

from wsf.api import input_files, provenance
from wsf.engine.allocate import dollars
from wsf.equity.analysis import Equity
from wsf.equity.charts import bands_chart, scatter_chart
from wsf.equity.summary import summary_of
from wsf.errors import WsfError
from wsf.render import TEMPLATES
from wsf.render.i18n import Language, load_language
from wsf.render.templates import sandbox
from wsf.write.atomic import folder_into_place
from wsf.write.files import atomic_path, check_folder_target, check_output, write_json, write_table

TABLES = ("schools.csv", "statistics.csv", "bands.csv", "vertical.csv", "positions.csv")
DOCUMENTS = ("scatter.svg", "bands.svg", "summary.html")  # one of each per language
META = "meta.json"
DEFAULT_LANG = "en"  # its documents keep the names they had before there were languages
FOLDER = TEMPLATES / "equity"
LANGUAGES = [TEMPLATES / "packets"]  # where the language files are (i18n/<lang>.toml), shared with the packets
TRANSLATED = re.compile(r"(scatter|bands)\.[A-Za-z0-9_-]+\.svg|summary\.[A-Za-z0-9_-]+\.html")


def document_name(name: str, code: str) -> str:
    """`summary.html` in language `code`: itself in English, `summary.es.html` in Spanish."""
    if code == DEFAULT_LANG:
        return name
    stem, extension = name.rsplit(".", 1)
    return f"{stem}.{code}.{extension}"


def languages(codes: Iterable[str]) -> list[Language]:
    """The languages asked for (each once, in order); an unknown one is an error naming those there are."""
    chosen = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not chosen:
        raise WsfError("no language given", key="--lang", fix="give language codes such as en,es")
    return [load_language(code, LANGUAGES) for code in chosen]


def write_report(equity: Equity, output: Path, options: dict | None = None, langs: Iterable[str] = (DEFAULT_LANG,)) -> list[Path]:
    """Write the whole folder atomically; returns the files written (inside `output`)."""
    output = Path(output)
    chosen = languages(langs)
    check_output(output, input_files(equity.allocation, equity.spending), folder=True)
    check_folder_target(output, _ours, "equity")
    with folder_into_place(output) as temp:
        names = _write_files(equity, temp, options or {}, chosen)
    return [output / name for name in names]


def render(env: jinja2.Environment, template: str, **context) -> Markup:
    """A template rendered; the result is markup (autoescaped), safe to inline in the summary."""
    return Markup(env.get_template(template).render(**context))


def _write_files(equity: Equity, folder: Path, options: dict, chosen: list[Language]) -> list[str]:
    names = ["schools.csv", "statistics.csv", "bands.csv", "vertical.csv"]
    write_table(schools_table(equity), folder / "schools.csv")
    write_table(equity.statistics, folder / "statistics.csv")
    write_table(bands_table(equity), folder / "bands.csv")
    write_table(equity.vertical, folder / "vertical.csv")
    positions = equity.spending.positions
    if positions is not None:
        write_table(positions.with_columns(dollars("cost"), dollars("average")), folder / "positions.csv")
        names.append("positions.csv")
    env = sandbox([FOLDER])
    for lang in chosen:
        scatter = render(env, "scatter.svg", chart=scatter_chart(equity, lang))
        bands = render(env, "bands.svg", chart=bands_chart(equity, lang))
        summary = render(env, "summary.html", report=summary_of(equity, lang, scatter, bands, options))
        for name, text in (("scatter.svg", scatter), ("bands.svg", bands), ("summary.html", summary)):
            names.append(document_name(name, lang.code))
            with atomic_path(folder / names[-1]) as temp:
                temp.write_text(str(text), encoding="utf-8", newline="\n")
    write_json(meta(equity, options, chosen), folder / META)
    return [*names, META]


def _ours(name: str) -> bool:
    """A file name an equity report writes, in any language."""
    return name in (*TABLES, *DOCUMENTS, META) or TRANSLATED.fullmatch(name) is not None


def meta(equity: Equity, options: dict, chosen: list[Language]) -> dict:
    info = provenance(equity.allocation)
    info["current_spending"] = [{"file": t.path.name, "sha256": t.sha256} for t in equity.spending.sources]
    info["equity"] = {
        "poverty": equity.poverty,
        "bands": equity.band_count,
        "languages": [lang.code for lang in chosen],
        **options,
    }
    return info


# -- tables ------------------------------------------------------------------------------

MONEY = ("current", "formula", "gap", "current_per_pupil", "formula_per_pupil", "gap_per_pupil", "allocation", "transition")


def schools_table(equity: Equity) -> pl.DataFrame:
    frame = equity.schools
    money_cols = [c for c in frame.columns if c in MONEY or c in equity.spending.detail_columns]
    counts = [c for c, t in frame.schema.items() if t == pl.Float64 and c not in ("poverty_share", "percent_of_formula")]
    whole = [c for c in counts if (frame[c].drop_nulls() == frame[c].drop_nulls().round()).all()]
    return frame.with_columns(
        pl.col("poverty_share").round(4),
        *[pl.col(c).cast(pl.Int64) for c in whole],
        *[dollars(c) for c in money_cols],
    )


def bands_table(equity: Equity) -> pl.DataFrame:
    return equity.bands.with_columns(dollars("current_per_pupil"), dollars("formula_per_pupil"), dollars("difference_per_pupil"))

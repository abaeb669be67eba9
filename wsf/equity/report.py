"""The equity output folder: tables, charts and a one-page summary for the board.

`write_report` writes everything into a temporary sibling folder and renames it onto the
target only when complete, so a failed run leaves no half-written folder; reruns on the same
inputs give identical bytes (no timestamps, fixed ordering, fixed number formats).

The summary template (`templates/equity/summary.html`) sees one object, `report` (a
`Summary`): every number already formatted as text, every sentence already written, so the
template only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from markupsafe import Markup

from wsf import __version__
from wsf.api import input_files, provenance
from wsf.data.spending import ROSTER
from wsf.engine.allocate import dollars
from wsf.equity.analysis import MEASURES, NOT_IN_DATA, Equity
from wsf.equity.charts import bands_chart, render, scatter_chart
from wsf.errors import WsfError
from wsf.render.text import money
from wsf.write.atomic import folder_into_place
from wsf.write.files import atomic_path, check_output, write_json, write_table

FILES = (
    "schools.csv",
    "statistics.csv",
    "bands.csv",
    "vertical.csv",
    "positions.csv",
    "scatter.svg",
    "bands.svg",
    "summary.html",
    "meta.json",
)
TOP = 5  # gainers, losers and salary shifts listed in the summary
SAME_POVERTY = 0.03  # "the same poverty level": shares within 3 percentage points

# measure -> (name for people, what it shows in plain words, which way is more equal)
PLAIN = {
    "range": ("Range", "highest minus lowest school, per pupil", "lower"),
    "restricted_range": ("Restricted range", "95th minus 5th percentile pupil (leaves out the extremes)", "lower"),
    "federal_range_ratio": ("Federal range ratio", "restricted range as a share of the 5th percentile", "lower"),
    "cv": (
        "Coefficient of variation",
        "typical distance from the average, as a share of it (a common target is 0.10 or less)",
        "lower",
    ),
    "mcloone": ("McLoone index", "pupils below the median, as a share of what the median would give them", "closer to 1"),
    "verstegen": ("Verstegen index", "pupils above the median, as a multiple of what the median would give them", "closer to 1"),
    "gini": ("Gini coefficient", "overall inequality between pupils' funding (0 = all equal)", "lower"),
    "theil": ("Theil index", "overall inequality, most sensitive to the best-funded schools (0 = all equal)", "lower"),
    "correlation_poverty": (
        "Correlation with poverty",
        "how closely dollars per pupil follow the share of low-income pupils (-1 to +1)",
        "positive",
    ),
    "slope_poverty": (
        "Dollars for 10 points more poverty",
        "extra dollars per pupil for each 10 percentage points more low-income pupils",
        "positive",
    ),
    "elasticity_poverty": (
        "Elasticity with poverty",
        "% more dollars per pupil for 1% more low-income pupils, at the average",
        "positive",
    ),
}


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    """Everything summary.html shows, as text. Tables are lists of `Row`s of formatted cells."""

    title: str
    subtitle: str
    lead: str
    findings: tuple[str, ...]
    horizontal: tuple[Row, ...]  # name, plain words, today, formula, more equal is
    vertical: tuple[Row, ...]
    weights: tuple[Row, ...]  # need, formula weight, implied today, implied under the formula
    scatter: Markup
    bands_chart: Markup
    band_word: str
    bands: tuple[Row, ...]
    gainers: tuple[Row, ...]
    losers: tuple[Row, ...]
    salary_lead: str
    salary_to: tuple[Row, ...]
    salary_from: tuple[Row, ...]
    missing: tuple[Row, ...]
    notes: tuple[str, ...]
    formula_id: str
    formula_file: str
    formula_sha256: str
    data: tuple[Row, ...]  # file, SHA-256
    version: str = __version__
    options: str = ""
    hashes_note: str = field(default="SHA-256 of each file's bytes: the same hash means the same file.")


def write_report(equity: Equity, output: Path, options: dict | None = None) -> list[Path]:
    """Write the whole folder atomically; returns the files written (inside `output`)."""
    output = Path(output)
    check_output(output, input_files(equity.allocation, equity.spending), folder=True)
    _check_target(output)
    with folder_into_place(output) as temp:
        names = _write_files(equity, temp, options or {})
    return [output / name for name in names]


def _write_files(equity: Equity, folder: Path, options: dict) -> list[str]:
    names = ["schools.csv", "statistics.csv", "bands.csv", "vertical.csv"]
    write_table(schools_table(equity), folder / "schools.csv")
    write_table(equity.statistics, folder / "statistics.csv")
    write_table(bands_table(equity), folder / "bands.csv")
    write_table(equity.vertical, folder / "vertical.csv")
    positions = equity.spending.positions
    if positions is not None:
        write_table(positions.with_columns(dollars("cost"), dollars("average")), folder / "positions.csv")
        names.append("positions.csv")
    scatter = render("equity/scatter.svg", chart=scatter_chart(equity))
    bands = render("equity/bands.svg", chart=bands_chart(equity))
    summary = render("equity/summary.html", report=summary_of(equity, scatter, bands, options))
    for name, text in (("scatter.svg", scatter), ("bands.svg", bands), ("summary.html", summary)):
        with atomic_path(folder / name) as temp:
            temp.write_text(str(text), encoding="utf-8", newline="\n")
    write_json(meta(equity, options), folder / "meta.json")
    return [*names, "scatter.svg", "bands.svg", "summary.html", "meta.json"]


def _check_target(output: Path) -> None:
    """Only replace a folder that is empty or holds nothing but an earlier equity report."""
    if output.exists() and not output.is_dir():
        raise WsfError("is a file, not a folder", file=output, key="-o", fix="give a folder name for the equity report")
    if output.is_dir():
        foreign = sorted(p.name for p in output.iterdir() if p.name not in FILES)
        if foreign:
            raise WsfError(
                f"the folder exists and holds files this report did not write ({', '.join(foreign[:5])})",
                file=output,
                key="-o",
                fix="choose a new folder, or empty this one",
            )


def meta(equity: Equity, options: dict) -> dict:
    info = provenance(equity.allocation)
    info["current_spending"] = [{"file": t.path.name, "sha256": t.sha256} for t in equity.spending.sources]
    info["equity"] = {"poverty": equity.poverty, "bands": equity.band_count, **options}
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


# -- the summary ---------------------------------------------------------------------------


def _num(value: float | None, places: int = 3) -> str:
    return "n/a" if value is None else f"{value:,.{places}f}"


def _usd(cents: float | None, places: int = 0) -> str:
    return "n/a" if cents is None else money(cents / 100, places)


def _millions(dollars_: float) -> str:
    return f"${dollars_ / 1e6:,.1f} million"


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.0f}%"


def summary_of(equity: Equity, scatter: Markup, bands: Markup, options: dict) -> Summary:
    model = equity.allocation.formula.model
    info = model.formula
    stat = equity.stat
    analysed = equity.analysed
    horizontal, vertical = [], []
    for name in MEASURES:
        label, plain, better = PLAIN[name]
        cur, form = stat(name, "current"), stat(name, "formula")
        if name in ("range", "restricted_range"):
            cells = (_usd(None if cur is None else cur * 100), _usd(None if form is None else form * 100))
        elif name == "slope_poverty":
            cells = tuple(money(v, 0) if v is not None else "n/a" for v in map(equity.per_poverty_step, ("current", "formula")))
        elif name == "correlation_poverty":
            cells = (_num(cur, 2), _num(form, 2))
        else:
            cells = (_num(cur), _num(form))
        row = Row((label, plain, *cells, better))
        (vertical if name.endswith("_poverty") else horizontal).append(row)
    weights = tuple(
        Row(
            (
                _need_label(need, cols, equity.poverty),
                keys or "none",
                _num(fw, 2),
                _num(ic, 2),
                _num(ifo, 2),
            )
        )
        for need, cols, keys, fw, ic, ifo in equity.vertical.iter_rows()
    )
    band_word = "tenth" if equity.band_count == 10 else "fifth"
    band_rows = tuple(
        Row(
            (
                str(b),
                f"{_pct(lo)} to {_pct(hi)}",
                f"{n:,}",
                f"{p:,.0f}",
                _usd(c),
                _usd(f),
                _signed(f - c),
            )
        )
        for b, lo, hi, n, p, c, f, _ in equity.bands.iter_rows()
    )
    ranked = analysed.sort(["gap_per_pupil", "school_id"], descending=[True, False])
    gainers = ranked.filter(pl.col("gap_per_pupil") > 0).head(TOP)
    losers = ranked.filter(pl.col("gap_per_pupil") < 0).sort(["gap_per_pupil", "school_id"]).head(TOP)
    data = tuple(Row((t.path.name, t.sha256)) for t in (*equity.allocation.sources, *equity.spending.sources))
    salary_lead, salary_to, salary_from = _salary(equity)
    return Summary(
        title="Is the new formula fairer? Equity analysis",
        subtitle=f"{info.title or info.id}"
        + (f" — fiscal year {info.fiscal_year}" if info.fiscal_year and info.fiscal_year not in (info.title or "") else ""),
        lead=_lead(equity),
        findings=tuple(_findings(equity)),
        horizontal=tuple(horizontal),
        vertical=tuple(vertical),
        weights=weights,
        scatter=scatter,
        bands_chart=bands,
        band_word=band_word,
        bands=band_rows,
        gainers=_school_rows(gainers),
        losers=_school_rows(losers),
        salary_lead=salary_lead,
        salary_to=salary_to,
        salary_from=salary_from,
        missing=tuple(Row((sid, name or "", problem)) for sid, name, problem in equity.missing.iter_rows()),
        notes=tuple(_notes(equity)),
        formula_id=info.id,
        formula_file=equity.allocation.formula.path.name,
        formula_sha256=equity.allocation.formula.sha256,
        data=data,
        options=_options_text(equity, options),
    )


def _options_text(equity: Equity, options: dict) -> str:
    parts = [
        f"poverty column {equity.poverty}",
        f"{equity.band_count} poverty bands",
        "current spending from " + ("a staff roster at actual salaries" if equity.spending.kind == ROSTER else "per-school totals"),
    ]
    if options.get("allow_missing"):
        parts.append("schools missing from an input reported, not refused")
    return "; ".join(parts)


def _signed(cents: float) -> str:
    return ("+" if cents > 0 else "") + _usd(cents)


def _need_label(need: str, cols: str, poverty: str) -> str:
    if need == poverty:
        return f"Low-income pupils ({cols})"
    if need == "el":
        return "English learners (el)"
    if need == "sped":
        return f"Special education ({cols})"
    return need


def _school_rows(frame: pl.DataFrame) -> tuple[Row, ...]:
    return tuple(
        Row((name, sid, f"{n:,}", _pct(p), _usd(c), _usd(f), _signed(g), _signed(gt)))
        for sid, name, n, p, c, f, g, gt in frame.select(
            "school_id", "name", "enrollment", "poverty_share", "current_per_pupil", "formula_per_pupil", "gap_per_pupil", "gap"
        ).iter_rows()
    )


def _lead(equity: Equity) -> str:
    n = equity.analysed.height
    whom = f"each of the district's {n} schools" if not equity.missing.height else f"each of the {n} schools with both amounts"
    return (
        f"This page compares what {whom} spends today with what the weighted student "
        f"funding formula ({equity.allocation.formula.model.formula.id}) would give it. Dollars are per pupil, and "
        "every district figure counts each pupil once, so a large school weighs more than a small one. Two questions "
        "matter: are pupils with the same needs funded alike, and do schools with more need get more?"
    )


def _findings(equity: Equity) -> list[str]:
    stat = equity.stat
    data = equity.analysed
    out = []
    cur_total, for_total = stat("total", "current"), stat("total", "formula")
    diff = for_total - cur_total
    out.append(
        f"Today the {data.height} schools spend {_millions(cur_total)} ({money(stat('mean', 'current'), 0)} per pupil). "
        f"The formula gives them {_millions(for_total)} ({money(stat('mean', 'formula'), 0)} per pupil), "
        + (
            f"{_millions(abs(diff))} {'more' if diff > 0 else 'less'} in total."
            if abs(diff) >= 50_000
            else "about the same total."
        )
    )
    gain = data.filter(pl.col("gap") > 0).height
    lose = data.filter(pl.col("gap") < 0).height
    text = f"Under the full formula {gain} schools would get more than they spend today and {lose} would get less."
    if equity.allocation.formula.model.transition is not None:
        text += " This year's allocation applies the transition limits, so the change is phased in."
    out.append(text)
    below = data.filter(pl.col("percent_of_formula") < 90).height
    above = data.filter(pl.col("percent_of_formula") > 110).height
    out.append(
        f"Measured against the formula, {below} of the {data.height} schools spend less than 90% of their formula amount "
        f"today and {above} spend more than 110% of it."
    )
    pair = _same_poverty_pair(data.join(equity.allocation.inputs.select("school_id", "level"), on="school_id", how="left"))
    if pair:
        out.append(pair)
    step_c, step_f = equity.per_poverty_step("current"), equity.per_poverty_step("formula")
    if step_c is not None and step_f is not None:
        out.append(
            f"For every 10 percentage points more low-income pupils, a school spends {money(step_c, 0)} more per pupil today; "
            f"under the formula it would get {money(step_f, 0)} more."
        )
    bands = equity.bands
    if bands.height >= 2:
        word = "tenth" if equity.band_count == 10 else "fifth"
        lo, hi = bands.row(0, named=True), bands.row(-1, named=True)
        out.append(
            f"The {word} of schools with the most low-income pupils spends {_usd(hi['current_per_pupil'])} per pupil today, "
            "against "
            f"{_usd(lo['current_per_pupil'])} in the {word} with the fewest; under the formula, {_usd(hi['formula_per_pupil'])} "
            f"against {_usd(lo['formula_per_pupil'])}."
        )
    cv_c, cv_f = stat("cv", "current"), stat("cv", "formula")
    r_c, r_f = stat("correlation_poverty", "current"), stat("correlation_poverty", "formula")
    if None not in (cv_c, cv_f, r_c, r_f):
        if cv_f > cv_c and r_f > r_c:
            out.append(
                "Differences between schools grow under the formula "
                f"(coefficient of variation {cv_c:.3f} to {cv_f:.3f}) because it "
                f"gives more to pupils with more need on purpose: per-pupil dollars follow poverty far more closely (correlation "
                f"{r_c:.2f} to {r_f:.2f}). Measures of equal funding for all pupils count those intended differences "
                "as inequality."
            )
        elif cv_f <= cv_c:
            out.append(
                "Differences between schools shrink under the formula "
                f"(coefficient of variation {cv_c:.3f} to {cv_f:.3f}), and the "
                f"correlation of per-pupil dollars with poverty goes from {r_c:.2f} to {r_f:.2f}."
            )
        else:
            out.append(
                f"Differences between schools grow under the formula (coefficient of variation {cv_c:.3f} to {cv_f:.3f}) while "
                f"per-pupil dollars follow poverty less closely (correlation {r_c:.2f} to {r_f:.2f}): worth a close look."
            )
    return out


def _same_poverty_pair(data: pl.DataFrame) -> str | None:
    """Two schools of the same level and poverty (within 3 points) whose spending today differs most."""
    share = data["poverty_share"].to_numpy()
    spend = data["current_per_pupil"].to_numpy()
    level = data["level"].fill_null("").to_numpy()
    close = (np.abs(share[:, None] - share[None, :]) <= SAME_POVERTY) & (level[:, None] == level[None, :])
    spread = np.where(close, spend[:, None] - spend[None, :], -1)
    i, j = np.unravel_index(np.argmax(spread), spread.shape)
    if spread[i, j] <= 0:
        return None
    a, b = data.row(int(i), named=True), data.row(int(j), named=True)
    return (
        "Schools of the same kind with the same share of low-income pupils are funded very differently today: "
        f"{a['name']} ({_pct(a['poverty_share'])} "
        f"low-income) spends {_usd(a['current_per_pupil'])} per pupil and {b['name']} ({_pct(b['poverty_share'])}) "
        f"{_usd(b['current_per_pupil'])}. Under the formula they would get {_usd(a['formula_per_pupil'])} and "
        f"{_usd(b['formula_per_pupil'])}."
    )


def _salary(equity: Equity) -> tuple[str, tuple[Row, ...], tuple[Row, ...]]:
    spending = equity.spending
    if spending.kind != ROSTER:
        return "", (), ()
    frame = equity.schools.filter(pl.col("salary_shift").is_not_null())
    moved = int(frame.filter(pl.col("salary_shift") > 0)["salary_shift"].sum())
    lead = (
        "Many districts charge each school the district-average salary of a position rather than what its staff actually cost. "
        f"Doing so here would move {_usd(moved)} between schools: schools whose staff cost more than average (often more "
        "experienced, better-paid teachers) receive more than they are charged for, paid for by schools whose staff cost less."
    )
    sides = (
        frame.filter(pl.col("enrollment") > 0)
        .group_by(pl.col("salary_shift") > 0)
        .agg((pl.col(equity.poverty).sum() / pl.col("enrollment").sum()).alias("share"))
    )
    share = dict(sides.iter_rows())
    if True in share and False in share:
        lead += (
            f" The schools it moves money to have {_pct(share[True])} low-income pupils on average; the schools it moves "
            f"money from, {_pct(share[False])}."
        )

    def rows(part: pl.DataFrame) -> tuple[Row, ...]:
        return tuple(
            Row((name or sid, sid, _pct(p), _usd(abs(shift)), _usd(actual), _usd(average)))
            for sid, name, p, shift, actual, average in part.select(
                "school_id", "name", "poverty_share", "salary_shift", "personnel", "personnel_at_average"
            ).iter_rows()
        )

    to = frame.filter(pl.col("salary_shift") > 0).sort(["salary_shift", "school_id"], descending=[True, False]).head(TOP)
    away = frame.filter(pl.col("salary_shift") < 0).sort(["salary_shift", "school_id"]).head(TOP)
    return lead, rows(to), rows(away)


def _notes(equity: Equity) -> list[str]:
    notes = []
    if equity.no_pupils.height:
        listed = ", ".join(f"{sid} ({name})" for sid, name in equity.no_pupils.iter_rows())
        notes.append(f"Left out of every per-pupil figure because they have no pupils: {listed}.")
    if equity.missing.height:
        outside = equity.missing.filter(pl.col("missing") == NOT_IN_DATA).height
        notes.append(
            f"{equity.missing.height} school{'s' if equity.missing.height != 1 else ''} could not be compared (listed above)"
            + (f", {outside} of them not in the formula's school data" if outside else "")
            + "; they are left out of every figure on this page."
        )
    notes += [f"{n[0].upper()}{n[1:]}." for n in equity.spending.notes]
    notes.append(
        "Formula amounts are at full formula, before this year's transition line; schools.csv also lists this year's "
        "allocation with the transition."
    )
    return notes

"""The `wsf` command: thin wiring from options to one library call and its output.

Every user-facing fault is a `WsfError`, printed in a line or two with exit status 2 (the shared
options, the error output and the progress line are `wsf.options`).
"""

from __future__ import annotations

import atexit
import gc
import math
from dataclasses import replace
from pathlib import Path

import click
import polars as pl

from wsf import __version__
from wsf.api import provenance
from wsf.data.growth import Growth, read_growth
from wsf.data.growth import uniform as growth_share
from wsf.engine import scenarios
from wsf.engine.allocate import allocate as allocate_formula
from wsf.engine.allocate import dollars
from wsf.engine.explain import explain
from wsf.engine.overrides import with_overrides
from wsf.engine.sweep import parse_axis, sweep_per_school
from wsf.engine.sweep import sweep as sweep_formula
from wsf.errors import WsfError
from wsf.formula.model import load_formula
from wsf.options import FILE, Data, PlanFiles, data_options, echo, override_lines, plan_options, progress, reports_errors
from wsf.render.sweep import render_table
from wsf.render.text import money, number, plural, render_summary, render_text, transition_facts
from wsf.write.files import check_output, write_table

# At exit Python's last collection walks every object still alive (polars, numpy, pydantic's models,
# the language and locale data a summary loads): 0.1-0.2 s of a 1 s `wsf allocate`. Frozen first,
# they are skipped; the process is ending, so nothing is kept that would have been freed.
atexit.register(gc.freeze)

LAST_YEAR = "Last year's allocations (school_id, prior), for a formula with a [transition]."


@click.group()
@click.version_option(__version__, prog_name="wsf")
def main() -> None:
    """Weighted student funding: turn a formula file and enrollment into every school's budget."""


@main.command()
@click.argument("formula", type=FILE)
@data_options(prior=LAST_YEAR, sets=True)
@reports_errors
def validate(formula: Path, data: Data) -> None:
    """Check a formula file, and data against it: everything `allocate` does but write.

    \b
    Example:
      wsf validate formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv --prior fixtures/example-district/prior.csv
    """
    if data.schools is None and data.students is None:
        loaded = with_overrides(load_formula(formula), data.sets)
        echo(f"ok: {loaded.label} ({loaded.model.formula.id}) is a valid formula; give --schools (or --students) to check data with it")
        return
    result = data.allocate(formula)
    summary = result.summary()
    echo(f"ok: {result.formula.label} ({result.formula.model.formula.id}) allocates {money(summary['total_cents'] / 100)} to "
         f"{plural(summary['schools'], 'school')} ({number(summary['pupils'])} pupils); nothing was written")
    for head, text in transition_facts(result):
        echo(f"  {head:<11}{text}")


@main.command()
@click.argument("formula", type=FILE)
@data_options(prior=LAST_YEAR, sets=True)
@click.option("-o", "--output", type=FILE, required=True, help="Allocation table to write: .csv, .parquet or .xlsx.")
@reports_errors
def allocate(formula: Path, data: Data, output: Path) -> None:
    """Compute every school's allocation and write the allocation table.

    \b
    Example:
      wsf allocate formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv \\
        --prior fixtures/example-district/prior.csv -o allocations.csv
    """
    result = data.allocate(formula)
    written = write_table(result.table, output, provenance(result))
    echo(render_summary(result))
    for line in override_lines(result.formula):
        echo(line)
    echo("wrote " + ", ".join(str(p) for p in written))


@main.command(name="explain")
@click.argument("formula", type=FILE)
@data_options(prior=LAST_YEAR, sets=True)
@click.option("--school", "school_id", required=True, help="The school_id to explain.")
@reports_errors
def explain_command(formula: Path, data: Data, school_id: str) -> None:
    """Show one school's allocation line by line: count x rate = amount, with sources.

    \b
    Example:
      wsf explain formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv \\
        --prior fixtures/example-district/prior.csv --school EX104
    """
    result = data.allocate(formula)
    echo(render_text(explain(result, school_id), result))
    for line in override_lines(result.formula):
        echo(line)


@main.command()
@click.argument("formula_a", type=FILE)
@click.argument("formula_b", type=FILE, required=False)
@data_options(prior="Last year's allocations, for formulas with a [transition].", sets=True)
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.05, show_default=True, help="Count schools gaining or losing more than this share.")
@click.option("--sort", "sort_by", type=click.Choice(["change", "change_percent", "change_per_pupil", "school_id"]), default="change", show_default=True)
@click.option("-o", "--output", type=FILE, help="Write the per-school comparison: .csv, .parquet or .xlsx.")
@reports_errors
def compare(formula_a: Path, formula_b: Path | None, data: Data, threshold: float, sort_by: str, output: Path | None) -> None:
    """Two formulas side by side on the same schools: who gains, who loses, by how much.

    With one formula and --set, B is that formula with the values set (A as written); with two,
    --set changes both.

    \b
    Example:
      wsf compare formulas/hayward/unduplicated-2018-19.toml formulas/hayward/additive-2018-19.toml \\
        --schools fixtures/california/hayward-2018-19-schools.csv -o compare.csv

    \b
    One formula against itself changed:
      wsf compare formulas/example-district.toml --set weights.english_learner.weight=0.25 \\
        --schools fixtures/example-district/schools.csv --prior fixtures/example-district/prior.csv
    """
    if formula_b is None and not data.sets:
        raise click.UsageError("give two formulas (A B), or one formula and --set KEY=VALUE to compare it with itself changed")
    sides = [(formula_a, replace(data, sets=()) if formula_b is None else data), (formula_b or formula_a, data)]
    a, b = (d.allocate(f, with_prior=load_formula(f).model.transition is not None) for f, d in sides)
    table = scenarios.compare(a, b).sort(sort_by, descending=sort_by != "school_id", nulls_last=True)
    summary = scenarios.compare_summary(table, threshold)
    names = scenarios.side_names(a.formula, b.formula)
    echo(f"A  {names[0]}: {money(summary['total_a'] / 100)}")
    echo(f"B  {names[1]}: {money(summary['total_b'] / 100)}  (B - A {money((summary['total_b'] - summary['total_a']) / 100)})")
    if summary["changed"] == 0:
        echo(f"no school changes: B allocates every one of the {plural(table.height, 'school')} the same amount as A, to the cent")
    else:
        echo(f"{plural(summary['changed'], 'school')} of {table.height:,} change under B: {summary['gain']:,} gain "
             f"({summary['gaining']:,} by more than {threshold:.0%}), {summary['lose']:,} lose ({summary['losing']:,} by more than {threshold:.0%})")
        gains = table.filter(pl.col("change") > 0).sort(["change", "school_id"], descending=[True, False]).head(5)
        losses = table.filter(pl.col("change") < 0).sort(["change", "school_id"]).head(5)
        for title, rows, verb in (("largest gains", gains, "gains"), ("largest losses", losses, "loses")):
            echo(f"{title}:" if rows.height else f"{title}: none (no school {verb} money under B)")
            for row in rows.iter_rows(named=True):
                percent = "" if row["change_percent"] is None else f" ({row['change_percent']:+.1%})"
                echo(f"  {row['school_id']:<16} {row['name'][:34]:<34} {money(row['change'] / 100):>16}{percent}")
    if output:
        money_columns = ["total_a", "per_pupil_a", "total_b", "per_pupil_b", "change", "change_per_pupil"]
        written = write_table(table.with_columns(*[dollars(c) for c in money_columns]), output, {"a": provenance(a), "b": provenance(b)}, sheet="Compare")
        echo("wrote " + ", ".join(str(p) for p in written))


@main.command()
@click.argument("formula", type=FILE)
@data_options(prior="Last year's allocations: losses and hold-harmless cost are measured against them.", sets=True)
@click.option("--vary", "varies", multiple=True, required=True, metavar="KEY=START:STOP:STEPS", help="A rate to sweep; repeat for a grid.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.05, show_default=True, help="Count schools losing more than this share.")
@click.option("--per-school", is_flag=True, help="Each school at each point: amount, change from the formula as given, per pupil.")
@click.option("--school", "school_id", metavar="SCHOOL_ID", help="One school at every point (a --per-school table of one school).")
@click.option("-o", "--output", type=FILE, help="Write one row per point (with --per-school, per point and school): .csv, .parquet or .xlsx.")
@reports_errors
def sweep(formula: Path, data: Data, varies: tuple[str, ...], threshold: float, per_school: bool, school_id: str | None,
          output: Path | None) -> None:
    """Sweep rates over a range: cost (or the solved scale), losers, hold harmless, CV and Gini;
    with --per-school (or --school ID) every school's amount at every point.

    \b
    Example:
      wsf sweep formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv \\
        --prior fixtures/example-district/prior.csv --vary weights.english_learner.weight=0.1:0.5:41

    \b
    One school at every point:
      wsf sweep formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv \\
        --prior fixtures/example-district/prior.csv --vary weights.english_learner.weight=0.1:0.5:5 --school EX104
    """
    loaded, schools, prior = data.load(formula)
    if loaded.model.transition is not None or prior is not None:
        allocate_formula(loaded, schools, prior)  # the formula as written: every check `wsf allocate` makes on the prior
    axes = [parse_axis(v, loaded) for v in varies]
    both = [a.path for a in axes if a.path in loaded.overrides]
    if both:
        raise WsfError(f"{both[0]} is both --set and --vary", key="--set", fix=f"drop --set {both[0]}=...: the sweep takes every value of its range")
    swept = [a.path for a in axes]
    prior_frame = prior.frame if prior is not None else None
    if per_school or school_id is not None:
        _, result = sweep_per_school(loaded, schools, axes, prior_frame, threshold)
        if school_id is not None:
            result = scenarios.one_school(result, school_id)
        echo(render_table(result, swept, "rows", output))
        result = result.with_columns(*[dollars(c) for c in ("amount", "change", "per_pupil")])
    else:
        result = sweep_formula(loaded, schools, axes, prior_frame, threshold)
        echo(render_table(result, swept, "points", output))
        result = result.with_columns(pl.col(c).round(2).cast(pl.Decimal(None, 2)) for c in ("total", "hold_harmless", "floor_pays_them")
                                     if c in result.columns)  # dollars, formatted as money in a workbook
    if output:
        overrides = {"overrides": dict(loaded.overrides)} if loaded.overrides else {}
        written = write_table(result, output, overrides | {"formula": loaded.model.formula.id, "formula_sha256": loaded.sha256, "vary": list(varies),
                                               "inputs": [{"file": t.path.name, "sha256": t.sha256} for t in sources(schools, prior)]},
                              sheet="Sweep by school" if per_school or school_id is not None else "Sweep")
        echo("wrote " + ", ".join(str(p) for p in written))


@main.command()
@click.argument("formula", type=FILE)
@data_options(prior="Last year's allocations (school_id, prior).", required=True, sets=True)
@click.option("--years", type=click.IntRange(1, 50), default=10, show_default=True, help="The year by which every school is at 100% of formula.")
@click.option("--enrollment-growth", "growth", default=None, metavar="SHARE|FILE",
              help="Pupils grow by this share a year (0.02; -0.01 for decline), or by each school's own: a file of school_id and "
                   "growth, or growth_2, growth_3, ... (into each year); each year's formula amount at its enrollment.")
@click.option("--allow-faster", is_flag=True, help="Phase in by --years although it cuts schools by more than the loss floor (each is listed).")
@click.option("-o", "--output", type=FILE, help="Write the path, one row per school: .csv, .parquet or .xlsx.")
@reports_errors
def glide(formula: Path, data: Data, years: int, growth: str | None, allow_faster: bool, output: Path | None) -> None:
    """Each school's amount year by year under the transition until all reach 100% of formula.

    \b
    Example:
      wsf glide formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv \\
        --prior fixtures/example-district/prior.csv --years 8
    """
    loaded, schools, prior = data.load(formula)
    growth = enrollment_growth(growth, schools.frame["school_id"].to_list())
    if output and growth is not None and growth.source is not None:
        check_output(output, [("--enrollment-growth", growth.source)])
    table, reached = scenarios.glide(loaded, schools, prior, years, growth)
    breaks = scenarios.floor_breaks(loaded, table)
    if breaks.height:
        floor = loaded.model.transition.max_loss
        needed = scenarios.glide(loaded, schools, prior, 50, growth)[1]
        listed = "; ".join(f"year {r['year']} {r['school_id']} -{r['loss']:.1%}" for r in breaks.head(5).iter_rows(named=True))
        more = f" and {breaks.height - 5} more" if breaks.height > 5 else ""
        if not allow_faster:
            raise WsfError(f"reaching 100% of formula in year {years} cuts {plural(breaks['school_id'].n_unique(), 'school')} by more than "
                           f"the {floor:.0%} loss floor ({listed}{more})", key="--years",
                           fix=f"give --years {needed} (the floor reaches formula in year {needed}), or --allow-faster to cut faster on purpose")
    year_columns = [c for c in table.columns if c.startswith("year_")]
    formula_columns = [c for c in table.columns if c.startswith("formula_")]
    moved = table.filter(pl.col("prior").is_not_null() & (pl.col("prior") != pl.col("formula")))
    echo(f"{len(year_columns)} years; every school at 100% of formula in year {reached}"
         + ("" if reached < years or len(year_columns) < years else " (the phase-in's last year)")
         + (f"; {growth.describe()}" if growth else ""))
    for column in year_columns:
        year = column.removeprefix("year_")
        at = int((table[column] == table[f"formula_{year}" if growth else "formula"]).sum())
        pupils = f" ({number(round(table[f'enrollment_{year}'].sum(), 1))} pupils)" if growth else ""
        echo(f"  {column}: {money(table[column].sum() / 100)}{pupils}, {at} of {table.height} schools at formula")
    echo(f"{plural(moved.height, 'school')} start{'s' if moved.height == 1 else ''} away from {'its' if moved.height == 1 else 'their'} formula amount")
    for line in override_lines(loaded):
        echo(line)
    if breaks.height:
        echo(f"past the {floor:.0%} loss floor (--allow-faster; at the floor, formula in year {needed}):")
        for row in breaks.iter_rows(named=True):
            echo(f"  year {row['year']:<3} {row['school_id']:<16} {(row['name'] or '')[:34]:<34} {money(row['from'] / 100):>16} -> "
                 f"{money(row['to'] / 100):>16} (-{row['loss']:.1%})")
    if output:
        meta = ({"overrides": dict(loaded.overrides)} if loaded.overrides else {}) | {
                "formula": loaded.model.formula.id, "formula_sha256": loaded.sha256, "years": years,
                **({"enrollment_growth": growth.meta()} if growth else {}),
                "inputs": [{"file": t.path.name, "sha256": t.sha256} for t in sources(schools, prior)]}
        written = write_table(table.with_columns(*[dollars(c) for c in ["prior", "formula", *formula_columns, *year_columns]]), output, meta, sheet="Glide")
        echo("wrote " + ", ".join(str(p) for p in written))


def sources(schools, prior) -> tuple:
    return (*schools.sources, *([prior.table] if prior is not None and prior.table is not None else []))


# -- equity (issue 3) ----------------------------------------------------------------------


@main.command(name="equity")
@click.argument("formula", type=FILE)
@data_options(prior=LAST_YEAR, sets=True)
@click.option("--current", type=FILE, help="Current spending per school: school_id, current (optional restricted, unrestricted).")
@click.option("--staff", type=FILE, help="Or a staff roster: school_id, position, fte, salary, benefits (full-time rates).")
@click.option("--non-personnel", type=FILE, help="With --staff: non-personnel dollars per school (school_id, non_personnel).")
@click.option("--spending-mapping", type=FILE, help="Mapping file for the spending files' headers.")
@click.option("--poverty", help="Count column that measures poverty (its share of enrollment); default: the one the formula's roles name.")
@click.option("--bands", type=click.Choice(["10", "5"]), default="10", show_default=True, help="10 (deciles) or 5 (quintiles).")
@click.option("--allow-missing", is_flag=True, help="Report schools missing from either input in the output instead of stopping.")
@click.option(
    "--lang",
    default="en",
    show_default=True,
    help="Languages of the summary and charts, comma-separated (en,es): English as summary.html, another as summary.LANG.html.",
)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write.")
@reports_errors
def equity_command(
    formula: Path,
    data: Data,
    current: Path | None,
    staff: Path | None,
    non_personnel: Path | None,
    spending_mapping: Path | None,
    poverty: str,
    bands: str,
    allow_missing: bool,
    lang: str,
    output: Path,
) -> None:
    """Compare current spending with the formula: gaps per school, equity measures, charts.

    Writes OUTPUT/schools.csv, statistics.csv, bands.csv, vertical.csv, scatter.svg,
    bands.svg, summary.html and meta.json (and positions.csv from a staff roster). With
    --lang en,es also summary.es.html, scatter.es.svg and bands.es.svg, in Spanish.

    \b
    Example:
      wsf equity formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv \\
        --prior fixtures/example-district/prior.csv \\
        --current fixtures/example-district/current.csv --lang en,es -o out/equity
    """
    from wsf.data.spending import read_current, read_roster
    from wsf.data.tables import load_mapping
    from wsf.equity.analysis import analyse
    from wsf.equity.report import write_report

    if (current is None) == (staff is None):
        raise click.UsageError("give current spending as exactly one of --current FILE or --staff FILE")
    if non_personnel is not None and staff is None:
        raise click.UsageError("--non-personnel goes with --staff")
    result = data.allocate(formula)
    spending_map = load_mapping(spending_mapping)
    spending = read_current(current, spending_map) if current is not None else read_roster(staff, non_personnel, spending_map)
    equity = analyse(result, spending, poverty=poverty, bands=int(bands), allow_missing=allow_missing)
    written = write_report(equity, output, {"allow_missing": allow_missing}, langs=_split(lang))
    stat = equity.stat
    info = result.formula.model.formula
    echo(f"{info.title or info.id}: equity, {equity.analysed.height} schools")
    for line in override_lines(result.formula):
        echo(line)
    echo(f"  {'':<22} {'today':>12} {'formula':>12}")
    for name in ("mean", "cv", "mcloone", "gini", "correlation_poverty", "slope_poverty"):
        values = [stat(name, s) for s in ("current", "formula")]
        cells = ["n/a" if v is None else (money(v) if name in ("mean", "slope_poverty") else f"{v:.3f}") for v in values]
        echo(f"  {name:<22} {cells[0]:>12} {cells[1]:>12}")
    if equity.missing.height:
        echo(f"  {equity.missing.height} schools missing from one input: see schools.csv (column missing) and summary.html")
    echo(f"wrote {output}/ ({', '.join(p.name for p in written)})")


# -- budget packets and the finance workbook (issue 4) ----------------------------------------


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@main.command(name="packets")
@click.argument("formula", type=FILE)
@data_options(prior=LAST_YEAR, sets=True)
@click.option("--current", type=FILE, help="Current spending per school (school_id, current), to compare with.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write (replaced as a whole).")
@click.option("--lang", "langs", default="en,es", show_default=True, help="Languages, comma-separated; each is a file i18n/<lang>.toml.")
@click.option("--format", "formats", default="html,pdf", show_default=True, help="html, pdf, or both.")
@click.option("--kind", "kinds", default="principal,council,district", show_default=True, help="Which packets: principal, council, district, plan.")
@click.option("--templates", type=click.Path(file_okay=False, path_type=Path), help="A district's templates folder; its files (and i18n/*.toml) come first.")
@click.option("--school", "school_ids", multiple=True, help="Only this school's packets (repeatable); the district packet still covers all.")
@plan_options(packet=True)
@reports_errors
def packets_command(
    formula: Path,
    data: Data,
    current: Path | None,
    output: Path,
    langs: str,
    formats: str,
    kinds: str,
    templates: Path | None,
    school_ids: tuple[str, ...],
    plans: PlanFiles,
) -> None:
    """Budget packets: every school's principal packet and site council summary, and the board's.

    Writes OUTPUT/<lang>/<school_id>-<name>.principal.pdf (and .html), .council.pdf and
    district.district.pdf for each language, and OUTPUT/packets.json (what they were made from).
    With --kind plan and --plan, each school's site plan budget pages, .plan.pdf (docs/plans.md).

    \b
    Example:
      wsf packets formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv \\
        --prior fixtures/example-district/prior.csv \\
        --current fixtures/example-district/current.csv --school EX104 -o out/packets
    """
    from wsf.data.spending import read_current
    from wsf.render.packets.writer import KINDS, choose, count_files, write_packets

    chosen_kinds = choose(_split(kinds), KINDS, "--kind")
    if (plans.plan is not None) != ("plan" in chosen_kinds):
        raise WsfError("--kind plan and --plan go together: the plan packet shows the site plans", key="--plan" if plans.plan else "--kind",
                       fix="give both (--kind plan --plan FILE, or --kind principal,council,plan ...), or neither")
    if plans.approved is not None and plans.plan is None:
        raise WsfError("--approved is compared with the site plans of --plan", key="--approved", fix="pass --plan FILE too")
    result = data.allocate(formula)
    spending = read_current(current) if current is not None else None
    review = None if plans.plan is None else plans.review(result)
    languages = list(dict.fromkeys(_split(langs)))
    chosen_formats = choose(_split(formats), ("html", "pdf"), "--format")
    total = count_files(len(set(school_ids)) if school_ids else result.cents.height, len(languages), chosen_kinds, chosen_formats)
    with progress(total, "packets") as step:
        written = write_packets(
            result, output, spending=spending, langs=languages, kinds=chosen_kinds, formats=chosen_formats, templates=templates,
            schools=school_ids or None, progress=step, plans=review
        )
    for line in override_lines(result.formula):
        echo(line)
    echo(f"wrote {len(written)} files to {output}/ ({', '.join(languages)}; {', '.join(chosen_kinds)}; {', '.join(chosen_formats)})")


@main.command(name="workbook")
@click.argument("formula", type=FILE)
@data_options(prior=LAST_YEAR, sets=True)
@click.option("--current", type=FILE, help="Current spending per school (school_id, current): adds the Equity sheet.")
@click.option("-o", "--output", type=FILE, required=True, help="Workbook to write (.xlsx).")
@reports_errors
def workbook_command(formula: Path, data: Data, current: Path | None, output: Path) -> None:
    """The finance workbook: Allocations (with live totals), Formula, Equity and Inputs sheets.

    \b
    Example:
      wsf workbook formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv \\
        --prior fixtures/example-district/prior.csv \\
        --current fixtures/example-district/current.csv -o book.xlsx
    """
    from wsf.data.spending import read_current
    from wsf.equity.analysis import analyse
    from wsf.render.workbook import write_workbook

    if output.suffix.lower() != ".xlsx":
        raise WsfError("the workbook must be an .xlsx file", file=output, key="-o", fix="name the output e.g. book.xlsx")
    result = data.allocate(formula)
    spending = read_current(current) if current is not None else None
    equity = None
    if spending is not None and result.formula.model.column_for("poverty") is not None:
        equity = analyse(result, spending, allow_missing=True)
    written = write_workbook(result, output, spending, equity)
    for line in override_lines(result.formula):
        echo(line)
    echo("wrote " + ", ".join(str(p) for p in written))


# -- school site plans (issue 16) --------------------------------------------------------------


@main.group(name="plan")
def plan_group() -> None:
    """School site plans: each school's spending plan (SPSA) against its allocation."""


@plan_group.command(name="check")
@click.argument("formula", type=FILE)
@data_options(prior=LAST_YEAR)
@plan_options()
@click.option("-o", "--output", type=FILE, help="Write every school's funding lines (allocated, planned, remaining): .csv, .parquet or .xlsx.")
@reports_errors
def plan_check(formula: Path, data: Data, plans: PlanFiles, output: Path | None) -> None:
    """Check every school's plan: each funding line spent to the cent, locked positions kept,
    restricted money on what it may buy, positions costed as the formula costs them.

    Lists every problem (the school, the line, the amount) and exits 2, or prints a line per
    school; -o then writes the balances.

    \b
    Example:
      wsf plan check formulas/example-district.toml \\
        --schools fixtures/example-district/schools.csv \\
        --prior fixtures/example-district/prior.csv --plan fixtures/example-district/plan.csv
    """
    result = data.allocate(formula)
    check = plans.check(result)
    if not check.ok:
        raise check.error()
    summary = check.summary()
    total = int(summary["planned"].sum())
    echo(f"ok: {plans.plan.name} spends every funding line of {plural(summary.height, 'school')} to the cent: "
         f"{money(total / 100)} planned of {money(int(summary['allocated'].sum()) / 100)} allocated")
    for row in summary.iter_rows(named=True):
        echo(f"  {row['school_id']:<10} {(row['name'] or '')[:32]:<32} {money(row['planned'] / 100):>16}  {number(round(row['fte'], 2)):>6} FTE"
             f"  staff {money(row['positions'] / 100):>15}  other {money(row['items'] / 100):>14}  {plural(row['lines'], 'line')}")
    if output:
        balances = check.balances.with_columns(*[dollars(c) for c in ("allocated", "planned", "remaining")])
        meta = provenance(result) | {"plan": {"file": check.plan.path.name, "sha256": check.plan.table.sha256}}
        written = write_table(balances, output, meta)
        echo("wrote " + ", ".join(str(p) for p in written))


def enrollment_growth(value: str | None, school_ids: list[str]) -> Growth | None:
    """`--enrollment-growth`: a share (0.02, 2%) for every school, or a file of each school's."""
    if value is None:
        return None
    text = value.strip()
    try:
        share = float(text.removesuffix("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        share = None
    if share is not None and math.isfinite(share):  # not "nan" or "inf"
        return growth_share(share)
    if not Path(text).is_file():
        raise WsfError(f"{value!r} is neither a share nor a file", key="--enrollment-growth",
                       fix="give a share such as 0.02 (or 2%), or a CSV/XLSX file of school_id and growth")
    return read_growth(text, school_ids)


# -- Smarter School Spending: the budget, its savings and the tradeoffs (issue 17) ----------


@main.command(name="tradeoffs")
@click.argument("catalog", type=FILE)
@click.option("--ledger", "ledgers", type=FILE, multiple=True, required=True,
              help="A SACS general ledger (code tables beside it); repeat for more years: growth by area, the latest year sized.")
@click.option("--ledger-mapping", type=FILE, help="Mapping file for a ledger that is not CDE's SACS extract: [columns] fund, function, object, amount.")
@click.option("--drivers", type=FILE, help="The district's cost drivers (enrollment, ADA, square feet...), each with its source.")
@click.option("--plan", type=FILE, help="A design team's plan: savings and investments over 1-5 years against a target.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write (replaced as a whole).")
@reports_errors
def tradeoffs_command(catalog: Path, ledgers: tuple[Path, ...], ledger_mapping: Path | None, drivers: Path | None, plan: Path | None,
                      output: Path) -> None:
    """The budget tree, every cost-savings opportunity sized from the ledger, and the tradeoffs page.

    Writes OUTPUT/budget.csv (fund x function x major object; budget-resource.csv and
    budget-goal.csv beside it), growth.csv with two ledgers or more, opportunities.csv,
    plan.csv and formula.toml with --plan, tradeoffs.html and meta.json.

    \b
    Example:
      wsf tradeoffs formulas/tradeoffs/smarter-school-spending.toml \\
        --ledger fixtures/sfusd/sacs/ua-fy2020-21/sfusd_usergl_fy2020-21.csv \\
        --ledger fixtures/sfusd/sacs/ua-fy2021-22/sfusd_usergl_fy2021-22.csv \\
        --drivers fixtures/sfusd/sacs/drivers-2021-22.toml \\
        --plan formulas/tradeoffs/sfusd-plan-2021-22.toml -o out/tradeoffs
    """
    from wsf.tradeoffs.report import run, write_report
    from wsf.tradeoffs.sizing import money as cents_money

    result = run(catalog, list(ledgers), drivers, plan, ledger_mapping)
    sized = [s for s in result.sized if s.sized]
    echo(f"{result.catalog.model.catalog.title}")
    for ledger in result.ledgers:
        from wsf.tradeoffs.ledger import spend

        echo(f"  {ledger.fiscal_year or ledger.table.path.name}: {result.catalog.model.budget.label} "
             f"{cents_money(spend(ledger, [result.catalog.model.budget]))} ({ledger.frame.height:,} accounts)")
    echo(f"  {len(sized)} of {len(result.sized)} opportunities sized: {cents_money(sum(s.low for s in sized))} to "
         f"{cents_money(sum(s.high for s in sized))} a year; the other {len(result.sized) - len(sized)} say why in opportunities.csv")
    if result.plan is not None:
        years = range(1, result.plan.info.years + 1)
        echo(f"  plan {result.plan.info.id}: net " + ", ".join(f"year {y} {cents_money(result.plan.net(y))}" for y in years)
             + f" against a target of {cents_money(result.plan.target)} a year")
    if result.formula is not None:
        facts = result.formula[1]
        echo(f"  schools: {facts['formula']}'s pot raised by {cents_money(facts['added'])} to {cents_money(facts['pot_after'])} in formula.toml; "
             f"wsf compare the two to see each school's gain")
    written = write_report(result, output)
    echo(f"wrote {output}/ ({', '.join(p.name for p in written)})")


# -- LCAP: the percentage to increase or improve services, and the action tables (issue 18) -------


@main.group(name="lcap")
def lcap_group() -> None:
    """California LCAP: the percentage to increase or improve services, and the action tables.

    \b
    Example:
      wsf lcap percentages formulas/lcff/2018-19.toml \\
        --schools fixtures/california/lcff_snapshot_2018_19_sd_charter.csv \\
        --mapping fixtures/california/lcff-snapshot-mapping.toml -o out/lcap/percentages.csv
    """


@lcap_group.command(name="percentages")
@click.argument("formula", type=FILE)
@data_options()
@click.option("-o", "--output", type=FILE, required=True, help="Table to write (.csv, .parquet or .xlsx): one row per LEA.")
@reports_errors
def lcap_percentages(formula: Path, data: Data, output: Path) -> None:
    """Per LEA: the base, supplemental and concentration grants, and the percentage to increase or
    improve services, (supplemental + concentration) / base, from the formula's own lines.

    \b
    Example:
      wsf lcap percentages formulas/lcff/2018-19.toml \\
        --schools fixtures/california/lcff_snapshot_2018_19_sd_charter.csv \\
        --mapping fixtures/california/lcff-snapshot-mapping.toml -o out/lcap/percentages.csv
    """
    from wsf.lcap.grants import meta, percentages

    result = data.allocate(formula)
    table = percentages(result)
    written = write_table(table, output, {**provenance(result), **meta(result)})
    shown = table.filter(pl.col("percentage").is_not_null())["percentage"]
    info = result.formula.model.formula
    echo(f"{info.title or info.id}: {plural(table.height, 'LEA')}, percentage to increase or improve services "
         + (f"{shown.min()}% to {shown.max()}% (median {shown.cast(pl.Float64).median():.3f}%)" if shown.len() else "n/a"))
    if shown.len() < table.height:
        echo(f"  {plural(table.height - shown.len(), 'LEA')} without a base grant: no percentage (empty)")
    echo("wrote " + ", ".join(str(p) for p in written))


@lcap_group.command(name="tables")
@click.argument("actions", type=FILE)
@click.option("--lea", "lea", required=True, metavar="CODE", help="The LEA's code, as the percentages file's `lea` column writes it (a CDS code).")
@click.option("--percentages", type=FILE, required=True, help="The coming year's grants: the output of `wsf lcap percentages`.")
@click.option("--carryover", metavar="PERCENT", help="LCFF carryover percentage from the prior year (e.g. 0.25%); without --update. Default 0%.")
@click.option("--update", type=FILE, help="Last year's actions with their estimated actuals: adds the annual update and carryover tables.")
@click.option("--update-percentages", type=FILE, help="With --update: the current year's grants (estimated actuals), from `wsf lcap percentages`.")
@click.option("--prior-carryover", metavar="PERCENT", help="With --update: the carryover percentage that applied to last year. Default 0%.")
@click.option("--actions-mapping", type=FILE, help="Mapping file for the actions files' headers (e.g. the CDE template's).")
@click.option("--wsf", "formula", type=FILE, help="The district's school formula (with --schools): what its lcap-tagged lines send per action, and each school's unduplicated share.")
@data_options()
@click.option("--plan", type=FILE, help="With --wsf: the schools' site plans (docs/plans.md), checked, then totalled per action (a line's lcap column, else its funding line's tag).")
@click.option("--plan-mapping", type=FILE, help="Mapping file for the plan file's headers.")
@click.option("--lang", default="en,es", show_default=True, help="Languages of the budget overview for parents, comma-separated.")
@click.option("--format", "formats", default="html", show_default=True, help="The overview as html, or html,pdf.")
@click.option("--allow-shortfall", is_flag=True, help="Write the tables although the plan does not meet the required percentage (a draft).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write (replaced as a whole).")
@reports_errors
def lcap_tables_command(actions: Path, lea: str, percentages: Path, carryover: str | None, update: Path | None, update_percentages: Path | None,
                        prior_carryover: str | None, actions_mapping: Path | None, formula: Path | None, data: Data, plan: Path | None,
                        plan_mapping: Path | None, lang: str, formats: str,
                        allow_shortfall: bool, output: Path) -> None:
    """The LCAP action tables of one LEA, with the CDE template's numbered formulas: Total Planned
    Expenditures, Contributing Actions, and with --update the Annual Update, Contributing Actions
    Annual Update and LCFF Carryover tables; checks every action against the rules first.

    Writes OUTPUT/summary.csv (every numbered field), one CSV per table, tables.xlsx, tables.html,
    overview.html (and overview.LANG.html: the LCFF Budget Overview for Parents) and meta.json.

    \b
    Example:
      wsf lcap tables fixtures/california/lcap-actions-example.csv \\
        --lea 01611920000000 --percentages fixtures/california/lcff-percentages-2018-19.csv \\
        --update fixtures/california/lcap-update-example.csv \\
        --update-percentages fixtures/california/lcff-percentages-2018-19.csv \\
        --wsf formulas/hayward/unduplicated-2018-19.toml \\
        --schools fixtures/california/hayward-2018-19-schools.csv -o out/lcap/hayward
    """
    from wsf.lcap.pages import terminal
    from wsf.lcap.report import write_lcap
    from wsf.lcap.run import lcap_tables
    from wsf.render.packets.writer import choose

    if formula is None and (data.schools or data.students or data.mapping or plan):
        raise click.UsageError("--schools, --students, --mapping and --plan go with the school formula: give --wsf FORMULA with them")
    chosen = choose(_split(formats), ("html", "pdf"), "--format")
    if "html" not in chosen:
        raise click.UsageError("--format: the overview is always written as html; give html or html,pdf")
    allocation = data.allocate(formula) if formula is not None else None
    checked = PlanFiles(plan, plan_mapping).check(allocation) if plan is not None else None
    run = lcap_tables(actions, lea, percentages, carryover=carryover, update=update, update_percentages=update_percentages, prior_carryover=prior_carryover,
                      actions_mapping=actions_mapping, school_formula=allocation, plan=checked, allow_shortfall=allow_shortfall)
    written = write_lcap(run.tables, output, run.inputs, run.files, run.meta, langs=_split(lang), pdf="pdf" in chosen)
    echo(terminal(run.tables))
    echo(f"wrote {output}/ ({', '.join(p.name for p in written)})")

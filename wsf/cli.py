"""The `wsf` command: thin wiring from options to one library call and its output.

Every user-facing fault is a `WsfError`, printed in a line or two with exit status 2.
"""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path

import click

from wsf import __version__
from wsf.api import allocate_files, load_schools, provenance
from wsf.errors import WsfError
from wsf.explain import explain, money, render_text
from wsf.formula import load_formula
from wsf.outputs import write_table
from wsf.tables import DataWarning

FILE = click.Path(dir_okay=False, path_type=Path)


def reports_errors(command):
    """Print a WsfError (and data warnings) for people, not as a traceback; exit 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            try:
                result = command(*args, **kwargs)
            except WsfError as error:
                click.echo(f"error: {error}", err=True)
                sys.exit(2)
            finally:
                for warning in caught:
                    if issubclass(warning.category, DataWarning):
                        click.echo(f"warning: {warning.message}", err=True)
        return result

    return wrapper


def data_options(command):
    """--schools / --students / --mapping, shared by every command that reads school data."""
    command = click.option("--mapping", type=FILE, help="Mapping file: the data files' own headers -> wsf's column names.")(command)
    command = click.option("--students", type=FILE, help="Student roster (one row per pupil); aggregated to school counts.")(command)
    command = click.option("--schools", type=FILE, help="School table (one row per school), or with --students the school list.")(command)
    return command


@click.group()
@click.version_option(__version__, prog_name="wsf")
def main() -> None:
    """Weighted student funding: turn a formula file and enrollment into every school's budget."""


@main.command()
@click.argument("formula", type=FILE)
@data_options
@reports_errors
def validate(formula: Path, schools: Path | None, students: Path | None, mapping: Path | None) -> None:
    """Check a formula file, and optionally data against it (no output is written).

    Example: wsf validate formulas/example-district.toml --schools fixtures/example-district/schools.csv
    """
    if schools is None and students is None:
        loaded = load_formula(formula)
        click.echo(f"ok: {formula.name} ({loaded.model.formula.id}) is a valid formula")
        return
    loaded, data = load_schools(formula, schools, students, mapping)
    click.echo(f"ok: {formula.name} ({loaded.model.formula.id}) and {data.frame.height} schools, {data.frame['enrollment'].sum():,.0f} pupils are valid")


@main.command()
@click.argument("formula", type=FILE)
@data_options
@click.option("--prior", type=FILE, help="Last year's allocations (school_id, prior), for [transition].")
@click.option("-o", "--output", type=FILE, required=True, help="Allocation table to write: .csv, .parquet or .xlsx.")
@reports_errors
def allocate(formula: Path, schools: Path | None, students: Path | None, mapping: Path | None, prior: Path | None, output: Path) -> None:
    """Compute every school's allocation and write the allocation table.

    Example: wsf allocate formulas/example-district.toml --schools fixtures/example-district/schools.csv
    --prior fixtures/example-district/prior.csv -o allocations.csv
    """
    result = allocate_files(formula, schools, students, prior, mapping)
    written = write_table(result.table, output, provenance(result))
    summary = result.summary()
    info = result.formula.model.formula
    click.echo(f"{info.title or info.id}")
    click.echo(f"  schools    {summary['schools']:,}")
    click.echo(f"  pupils     {summary['pupils']:,.0f}")
    click.echo(f"  total      {money(summary['total_cents'] / 100)}")
    click.echo(f"  scale      {summary['scale']:.6f}" + ("  (base solved to the pot)" if result.formula.model.pot else ""))
    if summary["gain_cap"] is not None:
        click.echo(f"  gain cap   {summary['gain_cap']:+.2%}")
    if summary["per_pupil_min"] is not None:
        click.echo(
            "  per pupil  min {}  median {}  max {}".format(
                *(money(summary[k] / 100) for k in ("per_pupil_min", "per_pupil_median", "per_pupil_max"))
            )
        )
    click.echo("wrote " + ", ".join(str(p) for p in written))


@main.command(name="explain")
@click.argument("formula", type=FILE)
@data_options
@click.option("--prior", type=FILE, help="Last year's allocations, for [transition].")
@click.option("--school", "school_id", required=True, help="The school_id to explain.")
@reports_errors
def explain_command(formula: Path, schools: Path | None, students: Path | None, mapping: Path | None, prior: Path | None, school_id: str) -> None:
    """Show one school's allocation line by line: count x rate = amount, with sources.

    Example: wsf explain formulas/example-district.toml --schools fixtures/example-district/schools.csv
    --prior fixtures/example-district/prior.csv --school EX104
    """
    result = allocate_files(formula, schools, students, prior, mapping)
    click.echo(render_text(explain(result, school_id), result))

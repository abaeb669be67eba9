"""What every `wsf` command shares: its data options, its error and warning output, its
output guard and its progress line; `wsf.cli` only wires commands to them.

Every user-facing fault is a `WsfError`, printed in a line or two with exit status 2; every
line goes through `echo`, so no control character a school name holds reaches the terminal.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from wsf.api import allocate_files, load_prior, load_schools
from wsf.data.tables import DataWarning
from wsf.errors import WsfError
from wsf.formula.model import named_files
from wsf.write.files import check_output, printable

FILE = click.Path(dir_okay=False, path_type=Path)


def echo(text: str, err: bool = False) -> None:
    """Everything wsf prints goes through here: a school name's escape sequences never reach the terminal."""
    click.echo(printable(str(text)), err=err)


def reports_errors(command):
    """Print a WsfError (and data warnings) for people, not as a traceback; exit 2. Before the
    command runs, its output is checked against every input it names (`guard_output`); an
    OSError that no writer turned into a WsfError is still one line and exit 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            try:
                guard_output(click.get_current_context())
                result = command(*args, **kwargs)
            except WsfError as error:
                echo(f"error: {error}", err=True)
                sys.exit(2)
            except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as a Unix tool does
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(1)
            except OSError as error:
                echo(f"error: {describe(error)}", err=True)
                sys.exit(2)
            finally:
                for warning in caught:
                    if issubclass(warning.category, DataWarning):
                        echo(f"warning: {warning.message}", err=True)
        return result

    return wrapper


def guard_output(ctx: click.Context) -> None:
    """Refuse an `-o` that would replace an input: the `output` parameter against every other
    path parameter of the command, so a new command or option is covered without a line of its
    own. A folder output (a path that may not be a file) may not hold an input."""
    output = ctx.params.get("output")
    if output is None:
        return
    inputs = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if param.name == "output" or value is None or not isinstance(param.type, click.Path):
            continue
        label = max(param.opts, key=len) if isinstance(param, click.Option) else param.human_readable_name
        inputs += [(label, Path(v)) for v in (value if isinstance(value, (tuple, list)) else [value])]
        if param.name == "formula":  # and the files the formula names (its salary table)
            inputs += [("salary table", f) for f in named_files(Path(value))]
    output_type = next(p.type for p in ctx.command.params if p.name == "output")
    check_output(Path(output), inputs, folder=isinstance(output_type, click.Path) and not output_type.file_okay)


@contextmanager
def progress(total: int, what: str):
    """Progress of a long run on stderr: a bar on a terminal, else a line at each tenth done (a
    log, a CI job), none before the first files are done, so an error comes alone."""
    if sys.stderr.isatty():
        with ExitStack() as stack:
            bars = []

            def update(count: int) -> None:  # the bar appears with the first files, not before an error
                if not bars:
                    bars.append(stack.enter_context(click.progressbar(length=total, label=what, file=sys.stderr, show_pos=True)))
                bars[0].update(count)

            yield update
        return
    done, shown = 0, 0

    def step(count: int) -> None:
        nonlocal done, shown
        done += count
        if total and done * 10 // total > shown:
            shown = done * 10 // total
            click.echo(f"{what}: {done:,} of {total:,} files ({done / total:.0%})", err=True)

    yield step


def describe(error: OSError) -> str:
    """An OSError in one line: the file and the reason."""
    reason = error.strerror or str(error)
    return f"{error.filename}: {reason}" if error.filename else reason


@dataclass(frozen=True)
class Data:
    """The school data options of a command, as one value: what `allocate_files` reads."""

    schools: Path | None
    students: Path | None
    mapping: Path | None
    prior: Path | None = None
    new_schools: tuple[str, ...] = ()
    accept_prior: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()  # --set KEY=VALUE: the formula with these rates changed

    def allocate(self, formula: Path, with_prior: bool = True):
        prior = self.prior if with_prior else None
        return allocate_files(formula, self.schools, self.students, prior, self.mapping,
                              self.new_schools if with_prior else (), self.accept_prior if with_prior else (), self.sets)

    def load(self, formula: Path):
        """The formula (with --set), the school data and last year's allocations, each validated."""
        loaded, schools = load_schools(formula, self.schools, self.students, self.mapping, self.sets)
        return loaded, schools, load_prior(self.prior, schools, self.new_schools, self.accept_prior)


def data_options(prior: str | None = None, required: bool = False, sets: bool = False):
    """--schools / --students / --mapping, with `prior` (its help) --prior, --new-school and
    --accept-prior, and with `sets` --set KEY=VALUE: the options of every command that reads
    school data, passed as `data`."""

    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, schools, students, mapping, **kwargs):
            data = Data(schools, students, mapping, kwargs.pop("prior", None), kwargs.pop("new_school", ()), kwargs.pop("accept_prior", ()),
                        kwargs.pop("sets", ()))
            return command(*args, data=data, **kwargs)

        options = [
            click.option("--schools", type=FILE, help="School table (one row per school), or with --students the school list."),
            click.option("--students", type=FILE, help="Student roster (one row per pupil); aggregated to school counts."),
            click.option("--mapping", type=FILE, help="Mapping file: the data files' own headers -> wsf's column names."),
        ]
        if prior is not None:
            options += [
                click.option("--prior", type=FILE, required=required, help=prior),
                click.option("--new-school", multiple=True, metavar="SCHOOL_ID", help="This school is new this year: no prior, on purpose (repeatable)."),
                click.option("--accept-prior", multiple=True, metavar="SCHOOL_ID",
                             help="This school's prior is right although far from its formula amount (repeatable)."),
            ]
        if sets:
            options.append(click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                                        help="Run with this rate changed, as if written in the formula file (a key path as "
                                             "sweep --vary takes, e.g. weights.english_learner.weight=0.25); repeatable."))
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate


def override_lines(formula) -> list[str]:
    """What a summary prints of the values --set changed (none: nothing)."""
    from wsf.engine.overrides import described

    return [f"  {'set' if i == 0 else '':<11}{line}" for i, line in enumerate(described(formula))]


@dataclass(frozen=True)
class PlanFiles:
    """The school site plan options of a command: the plan, its mapping file and, for the plan
    packet, the plan the site council approved and what makes a change material."""

    plan: Path | None
    mapping: Path | None
    approved: Path | None = None
    material: str = "0.10"

    def check(self, allocation):
        """The plan read and checked against the allocation (`wsf.plans.check.PlanCheck`)."""
        from wsf.data.tables import load_mapping
        from wsf.plans.check import check_plan
        from wsf.plans.read import read_plan

        return check_plan(allocation, read_plan(self.plan, load_mapping(self.mapping)))

    def review(self, allocation):
        """For the plan packet: the plan checked (refused unless it passes) and compared with the approved one."""
        from wsf.data.tables import load_mapping
        from wsf.plans.compare import review
        from wsf.plans.read import read_plan

        approved = None if self.approved is None else read_plan(self.approved, load_mapping(self.mapping))
        return review(self.check(allocation), approved, self.material)


def plan_options(packet: bool = False):
    """--plan and --plan-mapping (with `packet`, optional, and --approved and --material too):
    the options of every command that reads school site plans, passed as `plans`."""

    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, plan, plan_mapping, **kwargs):
            extra = {"approved": kwargs.pop("approved"), "material": kwargs.pop("material")} if packet else {}
            return command(*args, plans=PlanFiles(plan, plan_mapping, **extra), **kwargs)

        options = [
            click.option("--plan", type=FILE, required=not packet,
                         help="School site plans: one CSV or XLSX for every school (docs/plans.md)" + (", for --kind plan." if packet else ".")),
            click.option("--plan-mapping", type=FILE, help="Mapping file for the plan files' headers."),
        ]
        if packet:
            options += [
                click.option("--approved", type=FILE, help="The plan the site council approved: the plan packet lists what changed since."),
                click.option("--material", default="0.10", show_default=True, metavar="SHARE|DOLLARS",
                             help="A change needs a new council vote when it moves more than this: a share of its funding line "
                                  "(0.10 or 10%) or dollars (25000 or $25,000)."),
            ]
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate

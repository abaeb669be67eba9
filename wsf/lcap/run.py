"""From files to one LEA's LCAP tables: what `wsf lcap tables` calls.

The grants come from `wsf lcap percentages` output (the LCFF formula's own lines), the actions from
the LEA's actions file, last year's from its annual update file, and, when the district's school
formula is given, what it sends to schools per action and each school's unduplicated pupil
percentage. Every rule is checked before anything is written.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from wsf.api import provenance
from wsf.data.tables import DataWarning, file_sha256, load_mapping
from wsf.engine.allocate import Allocation
from wsf.errors import WsfError
from wsf.lcap import rules
from wsf.lcap.actions import Actions, read_actions
from wsf.lcap.grants import read_lea
from wsf.lcap.links import by_action, by_plan, school_shares
from wsf.lcap.numbers import NumberError, money_text, parse_percent, percent_text, points
from wsf.lcap.pages import File
from wsf.lcap.tables import TEMPLATE, Tables, build


@dataclass(frozen=True)
class Run:
    """The tables, and what they were made from (for the output guard, the documents and meta.json)."""

    tables: Tables
    inputs: list[tuple[str, Path]]
    files: tuple[File, ...]
    meta: dict


def option_percent(text: str | None, option: str) -> Fraction | None:
    if text is None:
        return None
    try:
        return parse_percent(text, blank=None)
    except NumberError as error:
        raise WsfError(str(error), key=option, fix=f"give the percentage with its % sign, e.g. {option} 0.25%") from None


def lcap_tables(actions_path: Path, lea_code: str, percentages: Path, *, carryover: str | None = None, update: Path | None = None,
                update_percentages: Path | None = None, prior_carryover: str | None = None, actions_mapping: Path | None = None,
                school_formula: Allocation | None = None, plan=None, allow_shortfall: bool = False) -> Run:
    """`plan`: the schools' site plans checked against `school_formula` (`wsf.plans.check.PlanCheck`)."""
    if (update is None) != (update_percentages is None):
        raise WsfError("the annual update needs last year's actions and the current year's grants together", key="--update" if update is None else "--update-percentages",
                       fix="give --update LAST_YEAR_ACTIONS with --update-percentages PERCENTAGES (the current year's wsf lcap percentages)")
    if update is not None and carryover is not None:
        raise WsfError("with --update the carryover into the coming year is the LCFF Carryover Table's item 13, computed", key="--carryover",
                       fix="leave out --carryover; --prior-carryover is the carryover that applied to last year")
    if update is None and prior_carryover is not None:
        raise WsfError("--prior-carryover is the carryover that applied to the year the annual update reports on", key="--prior-carryover",
                       fix="give it with --update, or give --carryover for the coming year")
    carried, prior = option_percent(carryover, "--carryover") or Fraction(0), option_percent(prior_carryover, "--prior-carryover") or Fraction(0)
    mapping = load_mapping(actions_mapping)
    lea = read_lea(percentages, lea_code)
    actions = read_actions(actions_path, mapping)
    schools = school_shares(school_formula) if school_formula is not None else None
    rules.check(actions, rules.Context(lea.unduplicated, rules.lea_kind(lea.code), schools))
    last = estimated = None
    if update is not None:
        estimated = read_lea(update_percentages, lea_code, "--update-percentages")
        last = read_actions(update, mapping, update=True)
        rules.check(last, rules.Context(estimated.unduplicated, rules.lea_kind(lea.code)))
    links = by_action(school_formula, actions) if school_formula is not None else None
    plans = by_plan(plan, actions) if plan is not None else None
    tables = build(lea, actions, carried, last, estimated, prior, links, plans)
    tables = replace(tables, notes=_notes(tables, actions, allow_shortfall))
    inputs = [("actions", actions_path), ("--percentages", percentages)]
    files = [File("actions", actions.path.name, actions.table.sha256), File("percentages", lea.table.path.name, lea.table.sha256)]
    if last is not None and estimated is not None:
        inputs += [("--update", update), ("--update-percentages", update_percentages)]
        files += [File("update", last.path.name, last.table.sha256), File("update_percentages", estimated.table.path.name, estimated.table.sha256)]
        if estimated.fiscal_year == lea.fiscal_year:
            warnings.warn(f"{estimated.table.path.name}: the current year's grants (--update-percentages) are for {estimated.fiscal_year}, the same year as "
                          "the coming year's (--percentages); the annual update reports on the year before the LCAP year", DataWarning, stacklevel=2)
    if actions_mapping is not None:
        inputs.append(("--actions-mapping", actions_mapping))
        files.append(File("actions_mapping", actions_mapping.name, file_sha256(actions_mapping)))
    if school_formula is not None:
        inputs += [("formula", f) for f in school_formula.formula.files] + [("data", t.path) for t in school_formula.sources]
        files += [File("school_formula", school_formula.formula.path.name, school_formula.formula.sha256)]
        files += [File("school_data", t.path.name, t.sha256) for t in school_formula.sources]
    if plan is not None:
        inputs.append(("--plan", plan.plan.path))
        files.append(File("plan", plan.plan.path.name, plan.plan.table.sha256))
    meta = {
        "lea": {"code": lea.code, "name": lea.name, "fiscal_year": lea.fiscal_year},
        "inputs": [{"role": f.role, "file": f.name, "sha256": f.sha256} for f in files],
        "percentage_required": f"{points(tables.required)}", "percentage_planned": f"{points(tables.planned)}",
        "shortfall": f"{points(tables.shortfall)}", "allow_shortfall": allow_shortfall,
        "carryover": f"{points(tables.table('contributing_actions').item('carryover').value)}", "prior_carryover": f"{points(prior)}" if update else None,
        "template": TEMPLATE, **({"school_formula": provenance(school_formula)} if school_formula else {}),
    }
    return Run(tables, inputs, tuple(files), meta)


def _notes(tables: Tables, actions: Actions, allow_shortfall: bool) -> tuple[str, ...]:
    """What the tables page says beside the numbers; a shortfall is an error unless it is allowed."""
    if not tables.shortfall:
        return ()
    problem = (f"the contributing actions plan {percent_text(tables.planned)} against the required {percent_text(tables.required)}: "
               f"{percent_text(tables.shortfall)} short, {money_text(tables.shortfall_cents)} of the base grant")
    if not allow_shortfall:
        raise WsfError(f"rule required_percentage_met: {problem}", file=actions.path,
                       fix="add LCFF funds to contributing actions (or planned percentages to limited actions without funding); "
                           "to write draft tables anyway, pass --allow-shortfall (5 CCR 15496(a); CDE LCAP instructions, Contributing Actions Table)")
    warnings.warn(f"{actions.path.name}: {problem} (written because of --allow-shortfall)", DataWarning, stacklevel=2)
    return (f"Draft: {problem}.",)

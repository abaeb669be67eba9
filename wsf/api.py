"""The library's front door: from file paths to an allocation, as the CLI and users call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wsf import __version__
from wsf.data.roster import read_students
from wsf.data.schools import Prior, SchoolData, read_prior, read_schools
from wsf.data.tables import load_mapping
from wsf.engine.allocate import Allocation, allocate
from wsf.engine.overrides import with_overrides
from wsf.errors import WsfError
from wsf.formula.model import load_formula

PathLike = str | Path | None


def load_schools(formula_path: PathLike, schools: PathLike = None, students: PathLike = None, mapping: PathLike = None,
                 overrides: tuple[str, ...] = ()):
    """The formula (with `overrides`, `KEY=VALUE` as `--set` takes them) and its school data (a
    school table, a roster, or a roster with a school table)."""
    if schools is None and students is None:
        raise WsfError("no data given", fix="pass --schools FILE or --students FILE")
    formula = with_overrides(load_formula(formula_path), overrides)
    table_mapping = load_mapping(mapping)
    if students is None:
        return formula, read_schools(schools, formula.model, table_mapping)
    directory = read_schools(schools, formula.model, table_mapping, directory=True) if schools else None
    return formula, read_students(students, formula.model, table_mapping, directory)


def allocate_files(formula_path: PathLike, schools: PathLike = None, students: PathLike = None, prior: PathLike = None,
                   mapping: PathLike = None, new_schools: tuple[str, ...] = (), accept_prior: tuple[str, ...] = (),
                   overrides: tuple[str, ...] = ()) -> Allocation:
    formula, data = load_schools(formula_path, schools, students, mapping, overrides)
    return allocate(formula, data, load_prior(prior, data, new_schools, accept_prior))


def load_prior(prior: PathLike, data: SchoolData, new_schools: tuple[str, ...] = (), accept_prior: tuple[str, ...] = ()) -> Prior | None:
    """Last year's allocations, if given; schools said to be new, and priors accepted as they are."""
    if prior is None:
        if new_schools or accept_prior:
            raise WsfError("--new-school and --accept-prior describe the prior file", key="--prior", fix="pass --prior FILE")
        return None
    return read_prior(prior, data, new=new_schools, accepted=accept_prior)


def provenance(allocation: Allocation) -> dict[str, Any]:
    """What an output was made from, by content hash: enough to reproduce it exactly."""
    info = allocation.formula.model.formula
    summary = allocation.summary()
    overrides = {"overrides": dict(allocation.formula.overrides)} if allocation.formula.overrides else {}
    return overrides | {
        "wsf_version": __version__,
        "formula": {"id": info.id, "fiscal_year": info.fiscal_year, "file": allocation.formula.path.name, "sha256": allocation.formula.sha256,
                    **({"tables": [{"file": t.path.name, "sha256": t.sha256} for t in allocation.formula.tables]} if allocation.formula.tables else {})},
        "inputs": [{"file": t.path.name, "sha256": t.sha256} for t in allocation.sources],
        "schools": summary["schools"],
        "pupils": summary["pupils"],
        "total": f"{summary['total_cents'] / 100:.2f}",
        "scale": summary["scale"],
        "gain_cap": summary["gain_cap"],  # null: no cap, or (solved) none needed because the floor lifts no school
        "new_schools": list(allocation.new_schools),  # said to be new: funded at formula
        "schools_without_prior": list(allocation.no_prior_row),  # not in the prior file: funded at formula as new
        "schools_held_harmless": summary["schools_held_harmless"],
        "schools_capped": summary["schools_capped"],
    }


def input_files(allocation: Allocation, spending: Any = None) -> list[tuple[str, Path]]:
    """The files an output was made from, as (role, path): what no output may replace."""
    files = [*[("formula", f) for f in allocation.formula.files], *[("data", t.path) for t in allocation.sources]]
    return files + [("spending", t.path) for t in (spending.sources if spending is not None else ())]


__all__ = ["SchoolData", "allocate_files", "input_files", "load_schools", "provenance"]

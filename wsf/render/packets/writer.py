"""Budget packets: for every school a principal's packet and a site council's summary (and,
given the school site plans, the council's plan budget pages), and a board summary for the
district, in each language, as HTML and PDF.

Templates are `templates/packets/*.html` (Jinja, autoescaped, StrictUndefined); a district's
`--templates` folder is searched first, so any file there replaces the shipped one, and its
`i18n/<lang>.toml` adds or amends a language. Every template sees one object, `packet` (see
`wsf.render.packets.school` and `wsf.render.packets.district`). A district's folder is outside input: its
templates render in Jinja's sandbox (`Sandbox`), only its regular files are read
(`wsf.render.confine`), and a PDF loads only the template folders' files (`wsf.render.pdf`).

The output folder is written whole into a temporary sibling and renamed into place, so a
failed run leaves no half-written folder and an earlier one untouched. Files are named from
`safe_filename(school_id-name)`: `OUT/en/EX104-Sojourner-Truth-Elementary.principal.pdf`, and
`OUT/en/district.district.pdf` for the board. The same inputs give the same bytes.

Speed: what a packet looks up is indexed once per run (`wsf.render.packets.context.Run`), and
what is the same for every school is written once per run and language (`Run.once`; a phrase
by its value, `wsf.render.phrases`); numbers are formatted without babel's per-call work
(`wsf.render.i18n.Pattern`); templates are compiled once per process, and the shipped ones
alone render unsandboxed, compiled to print through `escape_text` and to yield pieces in a row
as one (`wsf.render.templates.shipped`); a big run is shared with a worker, and what it has
read is left out of full garbage collections (`wsf.render.packets.workers`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from pathlib import Path

from wsf.api import input_files, provenance
from wsf.data.spending import Spending
from wsf.data.tables import DataWarning
from wsf.engine.allocate import Allocation
from wsf.equity.analysis import analyse
from wsf.errors import WsfError
from wsf.plans.compare import Review
from wsf.render.i18n import load_language
from wsf.render.packets.context import prepare
from wsf.render.packets.pages import DISTRICT_FILE, environment, file_name, folders
from wsf.render.packets.workers import SCHOOL_PACKETS, warn_refused, write_all
from wsf.render.typeset import Root, engine
from wsf.write.atomic import folder_into_place
from wsf.write.files import check_output

KINDS = ("principal", "council", "district", "plan")
DEFAULT_KINDS = ("principal", "council", "district")  # and plan, when given the site plans
FORMATS = ("html", "pdf")
MANIFEST = "packets.json"


def choose(values: Iterable[str], allowed: tuple[str, ...], option: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    wrong = [v for v in chosen if v not in allowed]
    if wrong or not chosen:
        raise WsfError(
            f"{', '.join(wrong) or 'nothing'} is not one of {', '.join(allowed)}",
            key=option,
            fix=f"give a comma-separated list of {', '.join(allowed)}",
        )
    return chosen


def write_packets(
    allocation: Allocation,
    output: str | Path,
    *,
    spending: Spending | None = None,
    langs: Iterable[str] = ("en", "es"),
    kinds: Iterable[str] | None = None,
    formats: Iterable[str] = FORMATS,
    templates: Path | None = None,
    schools: Iterable[str] | None = None,
    progress: Callable[[int], None] | None = None,
    plans: Review | None = None,
) -> list[Path]:
    """Write every packet into `output` (replaced as a whole); returns the files written.

    `kinds` defaults to principal, council and district, and plan when `plans` is given.
    `schools` limits the school packets to those school_ids (the district packet still covers all).
    `plans` (`wsf.plans.compare.review`: a site plan that passes its check) is what the plan packets show.
    PDFs, and thousands of HTML packets, are shared with a worker process (spawned: a script that
    calls this runs it under `if __name__ == "__main__":`, as multiprocessing requires).
    """
    output = Path(output)
    if kinds is None:
        kinds = DEFAULT_KINDS + (("plan",) if plans is not None else ())
    kinds = choose(kinds, KINDS, "--kind")
    formats = choose(formats, FORMATS, "--format")
    if "plan" in kinds and plans is None:
        raise WsfError("the plan packet shows the school site plans, and none was given", key="--kind", fix="pass --plan FILE (docs/plans.md)")
    search = folders(templates)
    languages = [load_language(code, search) for code in dict.fromkeys(c.strip() for c in langs if c.strip())]
    if not languages:
        raise WsfError("no language given", key="--lang", fix="give language codes such as en,es")
    for lang in languages:
        missing = allocation.formula.model.untranslated(lang.code)
        if missing:
            warnings.warn(
                f"{allocation.formula.path.name}: no {lang.code} labels for {', '.join(missing)}: packets in {lang.code} print "
                f"them as the formula writes them (add labels = {{ {lang.code} = \"...\" }} to each, titles = {{ ... }} to [formula])",
                DataWarning,
                stacklevel=2,
            )
    env = environment(templates)
    equity = None
    if spending is not None and "district" in kinds and allocation.formula.model.column_for("poverty") is not None:
        equity = analyse(allocation, spending, allow_missing=True)
    run = prepare(allocation, spending, equity, plans=plans)
    plan_files = [] if plans is None else [("--plan", plans.check.plan.path), *([("--approved", plans.approved.path)] if plans.approved else [])]
    check_output(output, [*input_files(allocation, spending), ("--templates", templates), *plan_files], folder=True)
    _check_target(output)
    names = _school_files(run.table.select("school_id", "name").rows())
    chosen = _chosen_schools(run.table["school_id"].to_list(), schools)
    engines = {kind: engine(kind, templates) for kind in kinds} if "pdf" in formats else {}
    typst = [kind for kind, name in engines.items() if name == "typst" and kind in SCHOOL_PACKETS]
    root_of_typst = Root(templates) if typst else nullcontext()  # a temporary folder: made only when Typst draws
    with root_of_typst as root, folder_into_place(output) as temp:
        stems = {sid: names[sid] for sid in chosen}
        written, refused = write_all(
            run, languages, kinds, formats, env, stems, temp, templates, progress, engines=engines, root=root.path if root else None
        )
        meta = provenance(allocation)
        meta["current_spending"] = [{"file": t.path.name, "sha256": t.sha256} for t in spending.sources] if spending else []
        if plans is not None:
            tables = [plans.check.plan.table, *([plans.approved.table] if plans.approved else [])]
            meta["plans"] = {"files": [{"file": t.path.name, "sha256": t.sha256} for t in tables], "material": str(plans.threshold)}
        meta["packets"] = {
            "languages": [lang.code for lang in languages],
            "kinds": list(kinds),
            "formats": list(formats),
            "files": sorted(written),
        }
        (temp / MANIFEST).write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    warn_refused(refused)
    return [output / name for name in sorted(written)]


def count_files(schools: int, langs: int, kinds: Iterable[str], formats: Iterable[str]) -> int:
    kinds = tuple(kinds)
    per_language = sum(1 if k == "district" else schools for k in kinds)
    return per_language * langs * len(tuple(formats))


def _chosen_schools(known: list[str], wanted: Iterable[str] | None) -> list[str]:
    if wanted is None:
        return known
    wanted = list(dict.fromkeys(wanted))
    listed = set(known)
    unknown = [w for w in wanted if w not in listed]
    if unknown:
        raise WsfError(
            f"no school with school_id {', '.join(map(repr, unknown))}",
            key="--school",
            fix=f"school ids look like: {', '.join(known[:5])}",
        )
    chosen = set(wanted)
    return [k for k in known if k in chosen]


def _school_files(rows: list[tuple[str, str | None]]) -> dict[str, str]:
    """school_id -> file stem; two schools may not share one."""
    stems: dict[str, str] = {}
    seen: dict[str, str] = {}
    for school_id, name in rows:
        stem = file_name(school_id, name, "x", "y")[: -len(".x.y")]
        if stem in seen or stem == DISTRICT_FILE:
            raise WsfError(
                f"schools {seen.get(stem, DISTRICT_FILE)!r} and {school_id!r} would be written to the same file name {stem!r}",
                key="school_id",
                fix="give the schools distinct school_id values",
            )
        seen[stem] = school_id
        stems[school_id] = stem
    return stems


def _check_target(output: Path) -> None:
    """Replace only a folder that is empty or holds an earlier run's packets (it has packets.json)."""
    if output.exists() and not output.is_dir():
        raise WsfError("is a file, not a folder", file=output, key="-o", fix="give a folder name for the packets")
    if output.is_dir() and any(output.iterdir()) and not (output / MANIFEST).is_file():
        raise WsfError(
            "the folder exists and holds files this command did not write",
            file=output,
            key="-o",
            fix="choose a new folder, or empty this one",
        )

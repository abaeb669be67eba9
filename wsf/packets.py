"""Budget packets: for every school a principal's packet and a site council's summary, and a
board summary for the district, in each language, as HTML and PDF.

Templates are `templates/packets/*.html` (Jinja, autoescaped, StrictUndefined); a district's
`--templates` folder is searched first, so any file there replaces the shipped one, and its
`i18n/<lang>.toml` adds or amends a language. Every template sees one object, `packet` (see
`wsf.packet_school` and `wsf.packet_district`).

The output folder is written whole into a temporary sibling and renamed into place, so a
failed run leaves no half-written folder and an earlier one untouched. Files are named from
`safe_filename(school_id-name)`: `OUT/en/EX104-Sojourner-Truth-Elementary.principal.pdf`, and
`OUT/en/district.district.pdf` for the board. The same inputs give the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import jinja2

from wsf.allocate import Allocation
from wsf.api import provenance
from wsf.equity import analyse
from wsf.errors import WsfError
from wsf.explain import explain
from wsf.i18n import Language, load_language
from wsf.outputs import safe_filename
from wsf.packet_context import POVERTY, prepare
from wsf.packet_district import district
from wsf.packet_school import council, principal
from wsf.pdf import render_pdf, warm
from wsf.spending import Spending

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "packets"
KINDS = ("principal", "council", "district")
FORMATS = ("html", "pdf")
MANIFEST = "packets.json"
WORKERS = 2  # PDF rendering processes
DISTRICT_FILE = "district"


def folders(templates: Path | None) -> list[Path]:
    """Where templates and translations are looked up, the district's folder first."""
    if templates is None:
        return [SHIPPED]
    if not Path(templates).is_dir():
        raise WsfError(
            "is not a folder", file=templates, key="--templates", fix="give the folder that holds your packet templates"
        )
    return [Path(templates), SHIPPED]


def environment(templates: Path | None = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(f)) for f in folders(templates)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(env: jinja2.Environment, packet) -> str:
    """A packet object as HTML, by its template (`principal.html`, `council.html`, `district.html`)."""
    try:
        return env.get_template(f"{packet.doc.kind}.html").render(packet=packet)
    except jinja2.TemplateError as exc:
        name = getattr(exc, "filename", None) or f"{packet.doc.kind}.html"
        line = getattr(exc, "lineno", None)
        raise WsfError(
            f"template error: {exc.message or exc}",
            file=name,
            line=line,
            fix="check the template against the packet's documented fields",
        ) from None


def file_name(school_id: str, name: str | None, kind: str, fmt: str) -> str:
    stem = safe_filename(f"{school_id}-{name or ''}")
    return f"{stem}.{kind}.{fmt}"


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
    kinds: Iterable[str] = KINDS,
    formats: Iterable[str] = FORMATS,
    templates: Path | None = None,
    schools: Iterable[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write every packet into `output` (replaced as a whole); returns the files written.

    `schools` limits the school packets to those school_ids (the district packet still covers all).
    """
    output = Path(output)
    kinds = choose(kinds, KINDS, "--kind")
    formats = choose(formats, FORMATS, "--format")
    search = folders(templates)
    languages = [load_language(code, search) for code in dict.fromkeys(c.strip() for c in langs if c.strip())]
    if not languages:
        raise WsfError("no language given", key="--lang", fix="give language codes such as en,es")
    env = environment(templates)
    equity = None
    if spending is not None and "district" in kinds and POVERTY in allocation.inputs.columns:
        equity = analyse(allocation, spending, poverty=POVERTY, allow_missing=True)
    run = prepare(allocation, spending, equity)
    _check_target(output)
    names = _school_files(run.table.select("school_id", "name").rows())
    chosen = _chosen_schools(run.table["school_id"].to_list(), schools)
    output.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent))
    try:
        written = _write_all(run, languages, kinds, formats, env, {sid: names[sid] for sid in chosen}, temp, templates, progress)
        meta = provenance(allocation)
        meta["current_spending"] = [{"file": t.path.name, "sha256": t.sha256} for t in spending.sources] if spending else []
        meta["packets"] = {
            "languages": [lang.code for lang in languages],
            "kinds": list(kinds),
            "formats": list(formats),
            "files": sorted(written),
        }
        (temp / MANIFEST).write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        _permissions(temp)
        _swap_into_place(temp, output)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return [output / name for name in sorted(written)]


def count_files(schools: int, langs: int, kinds: Iterable[str], formats: Iterable[str]) -> int:
    kinds = tuple(kinds)
    per_language = sum(1 if k == "district" else schools for k in kinds)
    return per_language * langs * len(tuple(formats))


def _chosen_schools(known: list[str], wanted: Iterable[str] | None) -> list[str]:
    if wanted is None:
        return known
    wanted = list(dict.fromkeys(wanted))
    unknown = [w for w in wanted if w not in set(known)]
    if unknown:
        raise WsfError(
            f"no school with school_id {', '.join(map(repr, unknown))}",
            key="--school",
            fix=f"school ids look like: {', '.join(known[:5])}",
        )
    return [k for k in known if k in set(wanted)]


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


def _write_all(run, languages: list[Language], kinds, formats, env, names, folder: Path, templates, progress) -> list[str]:
    step = progress or (lambda n: None)
    written: list[str] = []
    pdf_jobs: list[tuple[str, str]] = []
    explanations: dict[str, object] = {}
    base_url = str((templates or SHIPPED).resolve()) + os.sep
    for lang in languages:
        (folder / lang.code).mkdir()
        documents = []
        for school_id in names:
            if school_id not in explanations and ({"principal", "council"} & set(kinds)):
                explanations[school_id] = explain(run.allocation, school_id)
            for kind, build in (("principal", principal), ("council", council)):
                if kind in kinds:
                    documents.append((f"{names[school_id]}.{kind}", build(run, lang, school_id, explanations[school_id])))
        if "district" in kinds:
            documents.append((f"{DISTRICT_FILE}.district", district(run, lang)))
        for stem, packet in documents:
            html = render(env, packet)
            for fmt in formats:
                relative = f"{lang.code}/{stem}.{fmt}"
                target = _inside(folder, relative)
                if fmt == "html":
                    target.write_text(html, encoding="utf-8", newline="\n")
                    step(1)
                else:
                    pdf_jobs.append((html, str(target)))
                written.append(relative)
    _render_pdfs(pdf_jobs, base_url, step)
    return written


def _inside(folder: Path, relative: str) -> Path:
    """A path in the output folder; anything that would resolve outside it is refused."""
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder.resolve()) or target.parent != (folder / relative).parent.resolve():
        raise WsfError(f"refusing to write {relative!r} outside the output folder", key="-o")
    return target


def _render_pdfs(jobs: list[tuple[str, str]], base_url: str, step: Callable[[int], None]) -> None:
    if len(jobs) <= 1:
        for html, target in jobs:
            render_pdf(html, target, base_url)
            step(1)
        return
    workers = min(WORKERS, len(jobs), os.cpu_count() or 1)
    # spawn, not fork: the parent has Polars' thread pool running, which fork would not copy safely
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=warm) as pool:
        futures = [pool.submit(render_pdf, html, target, base_url) for html, target in jobs]
        try:
            for future in as_completed(futures):
                future.result()
                step(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


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


def _permissions(folder: Path) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


def _swap_into_place(temp: Path, output: Path) -> None:
    if not output.exists():
        os.rename(temp, output)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent))
    os.rename(output, old)
    try:
        os.rename(temp, output)
    except OSError:
        os.rename(old, output)
        raise
    shutil.rmtree(old, ignore_errors=True)

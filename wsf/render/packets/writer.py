"""Budget packets: for every school a principal's packet and a site council's summary, and a
board summary for the district, in each language, as HTML and PDF.

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

Speed (issue 6): what a packet looks up is indexed once per run (`wsf.render.packets.context.Run`),
numbers are formatted without babel's per-call work (`wsf.render.i18n.Pattern`), templates are compiled
once per process, and a big run is shared between this process and a worker (`_write_all`).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from itertools import chain
from multiprocessing import get_context
from pathlib import Path
from traceback import walk_tb

import jinja2
from jinja2.sandbox import SecurityError

from wsf.api import input_files, provenance
from wsf.data.spending import Spending
from wsf.data.tables import DataWarning
from wsf.engine.allocate import Allocation
from wsf.engine.explain import explain
from wsf.equity.analysis import analyse
from wsf.errors import WsfError
from wsf.render import TEMPLATES
from wsf.render.i18n import Language, load_language
from wsf.render.packets.context import Run, prepare
from wsf.render.packets.district import district
from wsf.render.packets.lifetime import die_with_parent
from wsf.render.packets.school import council, principal
from wsf.render.templates import Sandbox, sandbox
from wsf.write.atomic import folder_into_place
from wsf.write.files import check_output, safe_filename

SHIPPED = TEMPLATES / "packets"
KINDS = ("principal", "council", "district")
FORMATS = ("html", "pdf")
MANIFEST = "packets.json"
WORKERS = 2  # processes rendering PDFs or many HTML packets, this one included
PARALLEL_HTML = 2_000  # HTML packets worth starting a worker process for (~1 s)
SLICE = 100  # schools per job when there are no PDFs
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


SANDBOX_FIX = "a template may lay out `packet` and its fields (docs/packets.md), not reach into Python"


def environment(templates: Path | None = None) -> Sandbox:
    """One run's templates. Files are read once (no check for changes while the run renders).

    Jinja's sandbox, because a district's template is outside input that must not run code
    (`cycler.__init__.__globals__.os`) or change what it is given (`list.append`). The shipped
    templates render in it too: one environment for every run (see `Sandbox` for its cost).
    """
    return sandbox(folders(templates))


def render(env: jinja2.Environment, packet) -> str:
    """A packet object as HTML, by its template (`principal.html`, `council.html`, `district.html`).

    A fault is a WsfError at the template line that raised it, a partial's own when it is there.
    """
    name = f"{packet.doc.kind}.html"
    try:
        return env.get_template(name).render(packet=packet)
    except SecurityError as exc:
        file, line = (_template_frames(exc, env) or [(name, None)])[-1]
        raise WsfError(f"refused by the template sandbox: {exc.message}", file=file, line=line, fix=SANDBOX_FIX) from None
    except jinja2.TemplateError as exc:
        file, line = (_template_frames(exc, env) or [(name, None)])[-1]
        raise WsfError(
            f"template error: {exc.message or exc}",
            file=getattr(exc, "filename", None) or file,
            line=getattr(exc, "lineno", None) or line,
            fix=getattr(exc, "fix", None) or "check the template against the packet's documented fields",
        ) from None
    except RecursionError as exc:
        cycle = _cycle(_template_frames(exc, env))
        if cycle is None:
            raise
        (file, line), files = cycle
        raise WsfError(
            f"includes or extends itself without end: {' → '.join(files)}",
            file=file,
            line=line,
            fix="remove the include or extends that leads back to a template already being rendered",
        ) from None


def _cycle(frames: list[tuple[str, int]]) -> tuple[tuple[str, int], list[str]] | None:
    """Templates that include one another without end, from the frames Python's recursion limit
    stopped: the shortest run of files the innermost frames repeat, written from the frame where
    it first starts (`a.html → b.html → a.html`), and that frame. None if they repeat nothing."""
    files = [file for file, _ in frames]
    for period in range(1, 21):
        tail = files[-3 * period :]
        if len(tail) == 3 * period and tail[:period] == tail[period : 2 * period] == tail[2 * period :]:
            start = next(i for i, file in enumerate(files) if file in tail)
            return frames[start], [Path(file).name for file in files[start : start + period + 1]]
    return None


def _template_frames(exc: BaseException, env: jinja2.Environment) -> list[tuple[str, int]]:
    """(file, line) of each template running when `exc` was raised, outermost first: Jinja rewrites a
    traceback's frames to point at the template lines that ran."""
    roots = tuple(str(loader.folder) + os.sep for loader in env.loader.loaders)
    frames = ((frame.f_code.co_filename, line) for frame, line in walk_tb(exc.__traceback__))
    return [(file, line) for file, line in frames if file.startswith(roots)]


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
    PDFs, and thousands of HTML packets, are shared with a worker process (spawned: a script that
    calls this runs it under `if __name__ == "__main__":`, as multiprocessing requires).
    """
    output = Path(output)
    kinds = choose(kinds, KINDS, "--kind")
    formats = choose(formats, FORMATS, "--format")
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
    run = prepare(allocation, spending, equity)
    check_output(output, [*input_files(allocation, spending), ("--templates", templates)], folder=True)
    _check_target(output)
    names = _school_files(run.table.select("school_id", "name").rows())
    chosen = _chosen_schools(run.table["school_id"].to_list(), schools)
    with folder_into_place(output) as temp:
        stems = {sid: names[sid] for sid in chosen}
        written, refused = _write_all(run, languages, kinds, formats, env, stems, temp, templates, progress)
        meta = provenance(allocation)
        meta["current_spending"] = [{"file": t.path.name, "sha256": t.sha256} for t in spending.sources] if spending else []
        meta["packets"] = {
            "languages": [lang.code for lang in languages],
            "kinds": list(kinds),
            "formats": list(formats),
            "files": sorted(written),
        }
        (temp / MANIFEST).write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    _warn_refused(refused)
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


@dataclass(frozen=True)
class Batch:
    """What writing schools' packets needs, as a worker process receives it (it rebuilds the rest)."""

    allocation: Allocation
    spending: Spending | None
    langs: tuple[str, ...]
    kinds: tuple[str, ...]  # the school packets: principal and/or council
    formats: tuple[str, ...]
    templates: Path | None
    stems: dict[str, str]  # school_id -> file stem
    folder: Path


@dataclass(frozen=True)
class Refused:
    """A resource PDFs did not load: why, the first PDF (by name) that asked for it, and how many did."""

    why: str
    first: str
    count: int


class Writer:
    """Renders packets and writes them in every format into the run's folder; one per process."""

    def __init__(self, batch: Batch, run: Run, languages: list[Language], env: jinja2.Environment) -> None:
        self.batch, self.run, self.env = batch, run, env
        self.languages = {lang.code: lang for lang in languages}
        self.base_url = str((batch.templates or SHIPPED).resolve()) + os.sep
        self.folders = tuple(folders(batch.templates))  # what a PDF may load files from
        self.refused: dict[str, Refused] = {}  # resources the PDFs did not load, by URL

    def schools(self, code: str, school_ids: list[str]) -> list[str]:
        """The packets of these schools in language `code`; returns the files written."""
        lang, run = self.languages[code], self.run
        written = []
        for school_id in school_ids:
            explanation = explain(run.allocation, school_id, run.allocation_rows)
            for kind in self.batch.kinds:
                packet = SCHOOL_PACKETS[kind](run, lang, school_id, explanation)
                written += self.write(code, f"{self.batch.stems[school_id]}.{kind}", render(self.env, packet))
        return written

    def write(self, code: str, stem: str, html: str) -> list[str]:
        """One packet in every format; returns the files written."""
        written = []
        for fmt in self.batch.formats:
            relative = f"{code}/{stem}.{fmt}"
            target = _inside(self.batch.folder, relative)
            if fmt == "html":
                target.write_text(html, encoding="utf-8", newline="\n")
            else:
                from wsf.render.pdf import render_pdf

                refused = render_pdf(html, str(target), self.base_url, self.folders)
                self.note({url: Refused(why, relative, 1) for url, why in refused.items()})
            written.append(relative)
        return written

    def note(self, refused: dict[str, Refused]) -> None:
        """Count resources refused here or by a worker: the first PDF by name, and how many."""
        for url, new in refused.items():
            old = self.refused.get(url, Refused(new.why, new.first, 0))
            self.refused[url] = Refused(new.why, min(old.first, new.first), old.count + new.count)


SCHOOL_PACKETS = {"principal": principal, "council": council}
_WRITER: Writer | None = None  # a worker process's own, made by _start_worker


def _start_worker(batch: Batch, parent: int) -> None:
    """A worker's first act: to end when `parent` does (`wsf.render.packets.lifetime`), then build its Writer."""
    global _WRITER
    die_with_parent(parent)
    search = folders(batch.templates)
    languages = [load_language(code, search) for code in batch.langs]
    _WRITER = Writer(batch, prepare(batch.allocation, batch.spending), languages, environment(batch.templates))
    if "pdf" in batch.formats:
        from wsf.render.pdf import warm

        warm(_WRITER.base_url)


def _schools_in_worker(code: str, school_ids: list[str]) -> tuple[list[str], dict[str, Refused]]:
    """A job's files, and the resources its PDFs did not load (for the parent to report)."""
    written = _WRITER.schools(code, school_ids)
    refused, _WRITER.refused = _WRITER.refused, {}
    return written, refused


def _write_all(
    run, languages: list[Language], kinds, formats, env, names, folder: Path, templates, progress
) -> tuple[list[str], dict[str, Refused]]:
    """Every packet, and the resources PDFs did not load; with `WORKERS` processes when there are
    PDFs to render or many HTML packets.

    A job is one language's packets of a slice of schools: one school when there are PDFs (each
    takes a good part of a second), `SLICE` schools for HTML alone. This process renders the
    board's packet, then takes school jobs from the back of the queue while the workers take
    them from the front.
    """
    step = progress or (lambda n: None)
    for lang in languages:
        (folder / lang.code).mkdir()
    school_kinds = tuple(k for k in kinds if k in SCHOOL_PACKETS)
    codes = tuple(lang.code for lang in languages)
    batch = Batch(run.allocation, run.spending, codes, school_kinds, formats, templates, names, folder)
    ids = list(names) if school_kinds else []
    size = 1 if "pdf" in formats else SLICE
    jobs = [(code, ids[i : i + size]) for code in codes for i in range(0, len(ids), size)]
    boards = [lang for lang in languages if "district" in kinds]  # one district packet per language
    writer = Writer(batch, run, languages, env)
    board = (writer.write(*page) for page in _district_pages(run, boards, env))
    documents = len(ids) * len(school_kinds) * len(languages) + len(boards)
    workers = min(WORKERS, os.cpu_count() or 1, len(jobs)) - 1
    if workers < 1 or not _worth_a_worker(documents, "pdf" in formats):
        return _collect(chain(board, (writer.schools(*job) for job in jobs)), step), writer.refused
    # spawn, not fork: the parent has Polars' thread pool running, which fork would not copy safely
    context = get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(batch, os.getpid()))
    with pool:
        futures = [pool.submit(_schools_in_worker, *job) for job in jobs]  # the worker starts while this one works
        try:
            written = _collect(chain(board, _from_the_back(futures, jobs, writer)), step)
            done = as_completed(f for f in futures if not f.cancelled())
            return written + _collect((_from_worker(f, writer) for f in done), step), writer.refused
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _from_worker(future: Future, writer: Writer) -> list[str]:
    """A worker's job: the files it wrote; what its PDFs did not load is noted with this process's."""
    written, refused = future.result()
    writer.note(refused)
    return written


def _warn_refused(refused: dict[str, Refused]) -> None:
    """One warning per resource the PDFs did not load: a district's IT wants to know why the logo
    is missing, not to find out from a principal."""
    for url, miss in sorted(refused.items()):
        others = miss.count - 1
        where = miss.first + (f" and {others} other PDF{'s' if others > 1 else ''}" if others else "")
        warnings.warn(
            f"{where}: did not load {url}: {miss.why}\n"
            "  fix: put the file in the --templates folder and refer to it by a relative name (logo.png)",
            DataWarning,
            stacklevel=3,
        )


def _worth_a_worker(documents: int, pdf: bool) -> bool:
    """More than one PDF to render, or enough HTML packets to repay a worker's start."""
    return (pdf and documents > 1) or documents >= PARALLEL_HTML


def _from_the_back(futures: list[Future], jobs: list[tuple[str, list[str]]], writer: Writer) -> Iterator[list[str]]:
    """The jobs no worker has started, from the last one back, done in this process (until one has started)."""
    for future, job in zip(reversed(futures), reversed(jobs)):
        if not future.cancel():
            return
        yield writer.schools(*job)


def _district_pages(run: Run, languages: list[Language], env: jinja2.Environment) -> Iterator[tuple[str, str, str]]:
    """The board's packet in each language: (language code, file stem, HTML)."""
    for lang in languages:
        yield lang.code, f"{DISTRICT_FILE}.district", render(env, district(run, lang))


def _collect(results: Iterable[list[str]], step: Callable[[int], None]) -> list[str]:
    """The files each job wrote, as the jobs complete; progress is counted in files."""
    written: list[str] = []
    for files in results:
        step(len(files))
        written += files
    return written


def _inside(folder: Path, relative: str) -> Path:
    """A path in the output folder; one that is absolute or steps up (`..`) is refused. Checked by
    name: the folder is this run's own new one, so no link inside it leads elsewhere."""
    path = Path(relative)
    if path.is_absolute() or ".." in path.parts or path.name in ("", "."):
        raise WsfError(f"refusing to write {relative!r} outside the output folder", key="-o")
    return folder / path


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

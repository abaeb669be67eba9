"""Writing many packets: this process and a worker share the jobs, and PDF workers end with it.

A job is one language's packets of a slice of schools: one school when WeasyPrint draws PDFs
(each takes a good part of a second), `TYPST_SLICE` when Typst does (`wsf.render.typeset`, a few
milliseconds each), `SLICE` schools for HTML alone. This process renders the board's packet,
then takes school jobs from the back of the queue while a worker takes them from the front; a
worker spawned for PDFs ends when this process does (`wsf.render.packets.lifetime`).
"""

from __future__ import annotations

import gc
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from multiprocessing import get_context
from pathlib import Path

import jinja2

from wsf.data.spending import Spending
from wsf.data.tables import DataWarning
from wsf.engine.allocate import Allocation
from wsf.engine.explain import explain
from wsf.errors import WsfError
from wsf.plans.compare import Review
from wsf.render.i18n import Language, load_language
from wsf.render.packets.context import Run, prepare
from wsf.render.packets.council import council
from wsf.render.packets.district import district
from wsf.render.packets.lifetime import die_with_parent
from wsf.render.packets.pages import DISTRICT_FILE, SHIPPED, environment, folders, render
from wsf.render.packets.plan import plan
from wsf.render.packets.school import principal

WORKERS = 2  # processes rendering PDFs or many HTML packets, this one included
PARALLEL_HTML = 2_000  # HTML packets worth starting a worker process for (~1 s)
PARALLEL_TYPST = 100  # Typst PDFs worth it (~20 ms each); one WeasyPrint PDF more than this one is
SLICE = 50  # schools per job when there are no PDFs: the last job a worker has queued is at most this late
TYPST_SLICE = 8  # schools per job when Typst draws their PDFs


@dataclass(frozen=True)
class Batch:
    """What writing schools' packets needs, as a worker process receives it (it rebuilds the rest)."""

    allocation: Allocation
    spending: Spending | None
    langs: tuple[str, ...]
    kinds: tuple[str, ...]  # the school packets: principal, council and/or plan
    formats: tuple[str, ...]
    templates: Path | None
    stems: dict[str, str]  # school_id -> file stem
    folder: Path
    plans: Review | None = None  # the checked site plans, for plan packets
    engines: dict[str, str] = field(default_factory=dict)  # kind -> its PDF engine (`wsf.render.typeset.engine`)
    root: Path | None = None  # the Typst project root (`wsf.render.typeset.Root`), when Typst draws a PDF


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
        self._typesetter = None

    def schools(self, code: str, school_ids: list[str]) -> list[str]:
        """The packets of these schools in language `code`; returns the files written."""
        lang, run = self.languages[code], self.run
        written = []
        for school_id in school_ids:
            explanation = explain(run.allocation, school_id, run.allocation_rows)
            for kind in self.batch.kinds:
                packet = SCHOOL_PACKETS[kind](run, lang, school_id, explanation)
                written += self.write(code, f"{self.batch.stems[school_id]}.{kind}", packet)
        return written

    def write(self, code: str, stem: str, packet) -> list[str]:
        """One packet in every format; returns the files written. Its HTML is rendered only for
        the HTML file or a WeasyPrint PDF; Typst draws its PDF from the packet itself."""
        written, html = [], None
        typst = self.batch.engines.get(packet.doc.kind) == "typst"
        for fmt in self.batch.formats:
            relative = f"{code}/{stem}.{fmt}"
            target = _inside(self.batch.folder, relative)
            if fmt == "pdf" and typst:
                self.typesetter().write(packet, str(target))
            else:
                html = html if html is not None else render(self.env, packet)
                if fmt == "html":
                    with open(target, "wb") as file:  # UTF-8, lines as written: the bytes, without a text layer's calls
                        file.write(html.encode("utf-8"))
                else:
                    from wsf.render.pdf import render_pdf

                    refused = render_pdf(html, str(target), self.base_url, self.folders)
                    self.note({url: Refused(why, relative, 1) for url, why in refused.items()})
            written.append(relative)
        return written

    def typesetter(self):
        """This process's Typst compilers (`wsf.render.typeset`), made on first use."""
        if self._typesetter is None:
            from wsf.render.typeset import Typesetter

            self._typesetter = Typesetter(self.batch.root, self.batch.templates)
        return self._typesetter

    def note(self, refused: dict[str, Refused]) -> None:
        """Count resources refused here or by a worker: the first PDF by name, and how many."""
        for url, new in refused.items():
            old = self.refused.get(url, Refused(new.why, new.first, 0))
            self.refused[url] = Refused(new.why, min(old.first, new.first), old.count + new.count)


SCHOOL_PACKETS = {"principal": principal, "council": council, "plan": plan}
_WRITER: Writer | None = None  # a worker process's own, made by _start_worker


def _start_worker(handed: str, parent: int) -> None:
    """A worker's first act: to end when `parent` does (`wsf.render.packets.lifetime`), then read
    its Batch from the file `handed` and build its Writer."""
    global _WRITER
    die_with_parent(parent)
    with open(handed, "rb") as file:
        batch = pickle.load(file)
    search = folders(batch.templates)
    languages = [load_language(code, search) for code in batch.langs]
    _WRITER = Writer(batch, prepare(batch.allocation, batch.spending, plans=batch.plans), languages, environment(batch.templates))
    if "pdf" in batch.formats and "weasyprint" in {batch.engines.get(kind, "weasyprint") for kind in batch.kinds}:
        from wsf.render.pdf import warm

        warm(_WRITER.base_url)
    _WRITER.run.index(list(batch.stems))
    gc.freeze()  # a worker lives for one run: what it has read is left out of the collector's passes (`long_lived`)


def _schools_in_worker(code: str, school_ids: list[str]) -> tuple[list[str], dict[str, Refused]]:
    """A job's files, and the resources its PDFs did not load (for the parent to report)."""
    written = _WRITER.schools(code, school_ids)
    refused, _WRITER.refused = _WRITER.refused, {}
    return written, refused


def write_all(
    run, languages: list[Language], kinds, formats, env, names, folder: Path, templates, progress, engines=None, root=None
) -> tuple[list[str], dict[str, Refused]]:
    """Every packet, and the resources PDFs did not load; with `WORKERS` processes when there are
    PDFs to render or many HTML packets. `engines`: each kind's PDF engine (WeasyPrint for a kind
    not given); `root`: the Typst project root.

    A job is one language's packets of a slice of schools: one school when WeasyPrint draws PDFs
    (each takes a good part of a second), `TYPST_SLICE` when Typst does, `SLICE` schools for HTML
    alone. This process renders the board's packet, then takes school jobs from the back of the
    queue while the workers take them from the front.
    """
    step = progress or (lambda n: None)
    for lang in languages:
        (folder / lang.code).mkdir()
    school_kinds = tuple(k for k in kinds if k in SCHOOL_PACKETS)
    codes = tuple(lang.code for lang in languages)
    engines = dict(engines or {})
    batch = Batch(
        run.allocation, run.spending, codes, school_kinds, formats, templates, names, folder, run.plans, engines, root
    )
    ids = list(names) if school_kinds else []
    weasyprint = "pdf" in formats and any(engines.get(kind, "weasyprint") == "weasyprint" for kind in school_kinds)
    size = 1 if weasyprint else (TYPST_SLICE if "pdf" in formats else SLICE)
    jobs = [(code, ids[i : i + size]) for code in codes for i in range(0, len(ids), size)]
    boards = [lang for lang in languages if "district" in kinds]  # one district packet per language
    writer = Writer(batch, run, languages, env)
    if ids:
        run.index(ids)  # before `long_lived`, which leaves what is read by then out of the collector's passes
    board = (writer.write(*page) for page in _district_pages(run, boards))
    documents = len(ids) * len(school_kinds) * len(languages) + len(boards)
    workers = min(WORKERS, os.cpu_count() or 1, len(jobs)) - 1
    if workers < 1 or not _worth_a_worker(documents, "pdf" in formats, weasyprint):
        with long_lived():
            return _collect(chain(board, (writer.schools(*job) for job in jobs)), step), writer.refused
    # spawn, not fork: the parent has Polars' thread pool running, which fork would not copy safely
    context = get_context("spawn")
    with _handed(batch) as handed:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(handed, os.getpid()))
        with pool:
            futures = [pool.submit(_schools_in_worker, *job) for job in jobs]  # the worker starts while this one works
            try:
                with long_lived():
                    written = _collect(chain(board, _from_the_back(futures, jobs, writer)), step)
                done = as_completed(f for f in futures if not f.cancelled())
                return written + _collect((_from_worker(f, writer) for f in done), step), writer.refused
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


@contextmanager
def long_lived() -> Iterator[None]:
    """What exists now (the run's tables, rows by school, compiled templates: some 100,000 objects
    that live as long as the run) left out of the garbage collector's full passes while packets
    are written, then given back (`gc.freeze`). Those passes found nothing in them to free, and
    each one walked them all: some 5% of writing thousands of packets. Left alone when something
    else has frozen objects already, as unfreezing would give back theirs too."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def _handed(batch: Batch) -> Iterator[str]:
    """The batch pickled into a temporary file (removed after the run), for the worker to read.

    Not through the pipe that starts the worker: multiprocessing writes a process's start-up data
    into it whole, holding the pipe's other end itself, so a worker that ends before reading it (a
    script without `if __name__ == "__main__":` is run again by the worker, which then refuses to
    start) left a run with a big district waiting for ever. Through a file, that worker's end is an
    error (`_from_worker`)."""
    with tempfile.NamedTemporaryFile(prefix="wsf-packets-", suffix=".pickle", delete=False) as file:
        pickle.dump(batch, file, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        yield file.name
    finally:
        os.unlink(file.name)


def _from_worker(future: Future, writer: Writer) -> list[str]:
    """A worker's job: the files it wrote; what its PDFs did not load is noted with this process's."""
    try:
        written, refused = future.result()
    except BrokenProcessPool as error:
        raise WsfError(
            "the worker process that shares the packets ended before its work was done (its error, if any, is printed above)",
            fix="a Python script that calls write_packets must call it under `if __name__ == \"__main__\":` (multiprocessing "
            "runs the script again in the worker); otherwise check the machine's free memory",
        ) from error
    writer.note(refused)
    return written


def warn_refused(refused: dict[str, Refused]) -> None:
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


def _worth_a_worker(documents: int, pdf: bool, weasyprint: bool = True) -> bool:
    """More than one PDF for WeasyPrint, `PARALLEL_TYPST` when Typst draws them all, or enough HTML
    packets to repay a worker's start."""
    if pdf and weasyprint:
        return documents > 1
    return documents >= (PARALLEL_TYPST if pdf else PARALLEL_HTML)


def _from_the_back(futures: list[Future], jobs: list[tuple[str, list[str]]], writer: Writer) -> Iterator[list[str]]:
    """The jobs no worker has started, from the last one back, done in this process (until one has started)."""
    for future, job in zip(reversed(futures), reversed(jobs)):
        if not future.cancel():
            return
        yield writer.schools(*job)


def _district_pages(run: Run, languages: list[Language]) -> Iterator[tuple[str, str, object]]:
    """The board's packet in each language: (language code, file stem, packet)."""
    for lang in languages:
        yield lang.code, f"{DISTRICT_FILE}.district", district(run, lang)


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

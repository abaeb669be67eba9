"""Where a packet's time goes: the measured parts `make bench` gives as the why of a target it
does not meet (benchmarks/report.py), beside the target's own figure.

Each part is CPU time per packet in this process alone, for a sample of schools, after one
packet has read the fonts and compiled the templates, with this process's other objects left out
of the garbage collector's passes, as a run writing packets leaves its own (`long_lived`):

- `typst_parts`: wsf's work (the packet object, its JSON) and Typst's (layout and PDF export) for
  one kind of PDF, and the anchor: Typst laying out the same words (the packet PDF's own text, by
  `pdftotext`) as plain lines in the same font, with no tables, charts or boxes (`plain.typ`).
- `html_parts`: building the packet objects (`explain` included), Jinja rendering them, and
  writing the files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from wsf.engine.explain import explain
from wsf.render.i18n import load_language
from wsf.render.packets.context import Run
from wsf.render.packets.pages import SHIPPED, environment, render
from wsf.render.packets.workers import SCHOOL_PACKETS, long_lived
from wsf.render.typeset import FONTS, Root, Typesetter, packet_json

PLAIN = Path(__file__).resolve().parent / "plain.typ"


def typst_parts(run: Run, schools: list[str], kind: str, langs: tuple[str, ...] = ("en",)) -> dict[str, float]:
    """ms of CPU per PDF: `wsf` (objects and JSON), `typst` (its compile, PDF export included) and
    `plain` (Typst laying out the PDF's words as plain lines); `pages` per PDF on average."""
    import typst

    typeset_root = Root(None)
    typesetter = Typesetter(typeset_root.path, None)
    root = Path(tempfile.mkdtemp(prefix="wsf-bench-plain-"))  # the words go in a file, as a packet's JSON does
    shutil.copyfile(PLAIN, root / PLAIN.name)
    plain = typst.Compiler(str(root / PLAIN.name), root=str(root), font_paths=[str(FONTS)], ignore_system_fonts=True)

    def lay_out_plain(pdf: bytes) -> float:
        (root / "lines.json").write_text(json.dumps(_lines(pdf)), encoding="utf-8")
        start = time.process_time()
        plain.compile()
        return time.process_time() - start

    wsf_s = typst_s = plain_s = 0.0
    pages = count = 0
    run.index(schools)  # what a run reads before its packets, as `write_all` does
    try:
        for code in langs:
            lang = load_language(code, [SHIPPED])
            lay_out_plain(typesetter.typeset(kind, packet_json(SCHOOL_PACKETS[kind](run, lang, schools[0]))))  # fonts read once
            with long_lived():  # as `write_all` and a worker write packets
                for school in schools:
                    start = time.process_time()
                    text = packet_json(SCHOOL_PACKETS[kind](run, lang, school))
                    built = time.process_time()
                    pdf = typesetter.typeset(kind, text)
                    wsf_s, typst_s = wsf_s + built - start, typst_s + time.process_time() - built
                    plain_s += lay_out_plain(pdf)
                    pages += _pages(pdf)
                    count += 1
    finally:
        shutil.rmtree(root)
        typeset_root.close()
    return {"wsf": 1000 * wsf_s / count, "typst": 1000 * typst_s / count, "plain": 1000 * plain_s / count, "pages": pages / count}


def _lines(pdf: bytes) -> list[str]:
    """The PDF's text, line by line, as poppler reads it."""
    done = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return [line for line in done.stdout.decode("utf-8").splitlines() if line.strip()]


def _pages(pdf: bytes) -> int:
    """The PDF's number of pages, as poppler reads it."""
    done = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    return next(int(line.split()[1]) for line in done.stdout.decode().splitlines() if line.startswith("Pages:"))


def html_parts(run: Run, schools: list[str], kinds: tuple[str, ...] = ("principal", "council")) -> dict[str, float]:
    """ms of CPU per HTML packet: `objects` (explain and the packet object), `render` (Jinja) and
    `file` (writing it), in English."""
    lang = load_language("en", [SHIPPED])
    env = environment()
    for kind in kinds:  # compile the templates
        render(env, SCHOOL_PACKETS[kind](run, lang, schools[0]))
    objects = rendering = writing = 0.0
    run.index(schools)
    with tempfile.TemporaryDirectory(prefix="wsf-bench-html-") as folder, long_lived():
        for i, school in enumerate(schools):
            start = time.process_time()
            explanation = explain(run.allocation, school, run.allocation_rows)
            packets = [SCHOOL_PACKETS[kind](run, lang, school, explanation) for kind in kinds]
            built = time.process_time()
            pages = [render(env, packet) for packet in packets]
            rendered = time.process_time()
            for kind, page in zip(kinds, pages):
                with open(f"{folder}/{i}.{kind}.html", "wb") as file:  # as `Writer.write` writes them
                    file.write(page.encode("utf-8"))
            objects, rendering, writing = objects + built - start, rendering + rendered - built, writing + time.process_time() - rendered
    count = len(schools) * len(kinds)
    return {"objects": 1000 * objects / count, "render": 1000 * rendering / count, "file": 1000 * writing / count}

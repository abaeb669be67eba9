"""Packet objects -> JSON -> Typst -> PDF: the principal's and council's PDFs, in milliseconds.

The object a packet's HTML template sees (`packet`) is also what its Typst template sees: `data`
turns it into JSON (every number already formatted, every sentence already written: the strings
the HTML shows), written for each packet to this process's file in the project root, and the
template reads it with `json(sys.inputs.packet_file)`. A file and not the JSON itself in
`sys.inputs`: Typst keys every cached layout on `sys.inputs`, so a packet passed there is laid
out from nothing, while one read from a file reuses what the last packets laid out the same (the
headings, the rules' sentences, the provenance): a third to two fifths less CPU a packet. A
district's template that reads `sys.inputs.packet` (an older `_packet.typ`) still gets it, at the
old cost. A school's name is data in a string, never Typst markup, so nothing it holds (`#`, `$`,
`]`, `#import`) can run. A markup field (a sentence with its numbers in bold) becomes a list of
strings, plain and bold in turn: `["Sojourner Truth receives ", "$4,283,007.72", " for "]`.

Which engine draws a kind's PDF is `engine`: Typst where a `<kind>.typ` exists, unless a
district's `--templates` folder changes that kind's HTML and holds no `.typ` of its own (its HTML
then goes to WeasyPrint, `wsf.render.pdf`, as before Typst). A district's `.typ` files are copied,
by the rule of `wsf.render.confine`, into one temporary folder with the shipped ones (`Root`; the
shipped ones alone without a district), which is the Typst project root: a template reads nothing
outside it (`#read("/etc/passwd")` is a wsf error) and runs nothing. Fonts are the shipped `fonts/` (Liberation Sans and Mono) and the district's
own, never the machine's, and the document's date is none: the same packet gives the same bytes
on any machine with the same `typst` package.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from markupsafe import Markup

from wsf.errors import WsfError
from wsf.render.confine import why_not
from wsf.render.i18n import Text

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "packets"
FONTS = SHIPPED / "fonts"
SHIPPED_PREFIX = "default"  # in a district's root, `default/NAME` is always the shipped NAME
HTML_SUFFIXES = (".html", ".css", ".svg")  # what changes a packet's HTML (and a WeasyPrint PDF)
HTML_ONLY = ("page_css", "footer_css")  # Document fields that are CSS, left out of the JSON
TAG = re.compile(r"<(/?)strong>")


def _files(folder: Path) -> list[Path]:
    """Every file under `folder`, sorted, without following a link to a folder (one to `/` would
    walk the whole machine)."""
    out = []
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        out += [Path(top) / name for name in sorted(names)]
    return out


def typst_kinds(templates: Path | None) -> set[str]:
    """The packet kinds with a Typst template, shipped or the district's."""
    found = {p.stem for p in SHIPPED.glob("*.typ") if not p.name.startswith("_")}
    if templates is not None:
        found |= {p.stem for p in Path(templates).glob("*.typ") if not p.name.startswith("_")}
    return found


def engine(kind: str, templates: Path | None) -> str:
    """`typst` or `weasyprint`: the PDF engine of a packet kind.

    Typst for a kind with a `<kind>.typ`, unless the district's folder holds HTML templates that
    change the kind's HTML (any `.html`, `.css` or `.svg` but another kind's `<kind>.html`) and no
    `.typ` file at all: then its PDF is WeasyPrint's, from the district's HTML, as it always was."""
    if kind not in typst_kinds(templates):
        return "weasyprint"
    files = [] if templates is None else _files(Path(templates))
    if templates is None or any(p.suffix == ".typ" for p in files):
        return "typst"
    others = {f"{k}.html" for k in ("principal", "council", "district", "plan") if k != kind}
    changed = [p for p in files if p.suffix in HTML_SUFFIXES and p.name not in others and "i18n" not in p.parts]
    return "weasyprint" if changed else "typst"


# -- the packet as JSON ---------------------------------------------------------------------------------


PLAIN = (str, int, float, bool, type(None))  # JSON as they are (exactly these types: Markup is a str)
_FIELDS: dict[type, tuple[str, ...]] = {}  # a dataclass's fields the JSON holds, found once per class


def data(value, kind: str | None = None):
    """A packet object as JSON values: dataclasses as objects, tuples as lists, markup as runs."""
    if type(value) in PLAIN:
        return value
    if isinstance(value, Markup):
        return runs(value)
    if isinstance(value, Text):
        return _sentences(value, kind)
    names = _FIELDS.get(type(value))
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value) if f.name not in HTML_ONLY)
    if names is not None:
        kind = getattr(value, "kind", kind)
        return {name: data(getattr(value, name), kind) for name in names}
    if isinstance(value, (tuple, list)):
        return [data(v, kind) for v in value]
    return value


_SENTENCES: dict[tuple[int, str | None], tuple[Text, dict]] = {}  # a language's parts as JSON, made once


def _sentences(text: Text, kind: str | None) -> dict:
    """The parts `common` and `kind` of a language's sentences (all parts without a kind)."""
    key = (id(text), kind)
    if key not in _SENTENCES:
        parts = text._data
        keep = ("common", kind) if kind else tuple(parts)
        _SENTENCES[key] = (text, {k: _text(parts[k]) for k in keep if k in parts})  # holds `text`, so its id stays its
    return _SENTENCES[key][1]


def _text(value):
    return {k: _text(v) for k, v in value._data.items()} if isinstance(value, Text) else value


def runs(markup: Markup) -> list[str]:
    """A sentence's markup as strings, plain and bold in turn (the first plain, perhaps "")."""
    pieces, bold, at = [""], False, 0
    for tag in TAG.finditer(markup):
        pieces[-1] += markup[at : tag.start()]
        if (tag.group(1) == "/") != bold:
            raise ValueError(f"unbalanced <strong> in {markup!r}")
        bold = not bold
        pieces.append("")
        at = tag.end()
    pieces[-1] += markup[at:]
    if any("<" in piece for piece in pieces):  # escaped text holds no "<": a tag but <strong>
        raise ValueError(f"markup other than <strong> in {markup!r}")
    return [Markup(piece).unescape() for piece in pieces]


def packet_json(packet) -> str:
    """The packet's JSON, as its Typst template reads it (the file `sys.inputs.packet_file`)."""
    return json.dumps(data(packet), ensure_ascii=False, separators=(",", ":"))


# -- the project root, the compilers --------------------------------------------------------------------


class Root:
    """The Typst project root of one run, a temporary folder: a district's regular files (those
    `why_not` allows, so no link leads out), the shipped `.typ` files it does not replace, every
    shipped `.typ` under `default/`, and each process's packet file (`Typesetter.packet_file`)."""

    def __init__(self, templates: Path | None) -> None:
        self.templates = templates
        self._temp = tempfile.TemporaryDirectory(prefix="wsf-typst-")
        self.path = Path(self._temp.name)
        self._merge(None if templates is None else Path(templates))

    def _merge(self, templates: Path | None) -> None:
        root = self.path
        for path in [] if templates is None else _files(templates):
            relative = path.relative_to(templates)
            if relative.parts[0] in (SHIPPED_PREFIX, "i18n") or why_not([templates], path) is not None:
                continue  # a folder, a link out, a device: not lent; i18n is read by wsf itself
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, root / relative)
        (root / SHIPPED_PREFIX).mkdir(exist_ok=True)
        for path in SHIPPED.glob("*.typ"):
            shutil.copyfile(path, root / SHIPPED_PREFIX / path.name)
            if not (root / path.name).exists():
                shutil.copyfile(path, root / path.name)

    def close(self) -> None:
        self._temp.cleanup()

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Typesetter:
    """One process's Typst compilers, one per packet kind, for the templates of one root. The
    fonts are read once per compiler; templates are parsed once and cached between documents, and
    so is what Typst laid out for the last packets (see the module's docstring).

    Each packet's JSON goes to `packet_file`, one per process, since a run's processes share its
    root (a `Root`: the shipped folder itself is never written to)."""

    def __init__(self, root: Path, templates: Path | None) -> None:
        import typst

        self.typst = typst
        self.root, self.templates = Path(root), templates
        fonts = [str(FONTS)] + ([str(self.root)] if templates is not None else [])
        self.fonts = fonts
        self.packet_file = f"/{SHIPPED_PREFIX}/packet-{os.getpid()}.json"
        self.reads_inputs = templates is not None and any(
            "sys.inputs" in p.read_text(encoding="utf-8", errors="replace").replace("sys.inputs.packet_file", "")
            for p in _files(self.root)
            if p.suffix == ".typ" and p.relative_to(self.root).parts[0] != SHIPPED_PREFIX
        )  # a district's template reading `sys.inputs` but for the file (`sys.inputs.packet`, as older copies of `_packet.typ` did)
        self.compilers: dict[str, object] = {}

    def compiler(self, kind: str):
        if kind not in self.compilers:
            self.compilers[kind] = self.typst.Compiler(
                str(self.root / f"{kind}.typ"),
                root=str(self.root),
                font_paths=self.fonts,
                ignore_system_fonts=True,
                sys_inputs={"packet_file": self.packet_file},
            )
        return self.compilers[kind]

    def typeset(self, kind: str, text: str) -> bytes:
        """The PDF of a packet of `kind` whose JSON is `text` (`packet_json`)."""
        compiler = self.compiler(kind)
        (self.root / self.packet_file.lstrip("/")).write_text(text, encoding="utf-8")
        if self.reads_inputs:
            return compiler.compile(sys_inputs={"packet_file": self.packet_file, "packet": text}, pdf_tags=False)
        return compiler.compile(pdf_tags=False)

    def pdf(self, packet) -> bytes:
        """The packet's PDF, as bytes."""
        kind = packet.doc.kind
        try:
            return self.typeset(kind, packet_json(packet))
        except self.typst.TypstError as exc:
            raise typst_error(exc, kind, self.templates) from None

    def write(self, packet, target: str) -> None:
        """The packet's PDF written to `target`, through a temporary name: never half a file."""
        pdf = self.pdf(packet)
        partial = Path(target).with_name(Path(target).name + ".part")
        partial.write_bytes(pdf)
        os.replace(partial, target)


LOCATION = re.compile(r"┌─ (?P<file>[^\s:]+):(?P<line>\d+):(?P<column>\d+)")


def typst_error(exc, kind: str, templates: Path | None) -> WsfError:
    """A Typst error as a wsf error at the template line that raised it."""
    message = getattr(exc, "message", None) or str(exc)
    where = LOCATION.search(getattr(exc, "diagnostic", "") or "")
    file = where["file"].lstrip("/") if where else f"{kind}.typ"
    hints = "; ".join(getattr(exc, "hints", None) or [])
    fix = "a Typst template reads only files in the --templates folder, and `packet`'s documented fields (docs/packets.md)"
    if "escape the project root" in message or "file not found" in message:
        fix = "a Typst template reads only files in the --templates folder, by a relative name (logo.png)"
    elif hints:
        fix = hints
    return WsfError(f"Typst template error: {message}", file=file, line=int(where["line"]) if where else None, fix=fix)

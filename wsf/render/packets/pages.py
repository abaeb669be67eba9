"""One packet object to HTML: the packet templates, looked up in a district's folder first, and
what a template error says.

A district's folder is outside input: a run that reads it renders every template in Jinja's
sandbox (`Sandbox`), only its regular files are read, and `default:NAME` reaches the shipped
NAME (`wsf.render.loaders`). A run of the shipped templates alone renders them unsandboxed.
"""

from __future__ import annotations

import os
from pathlib import Path
from traceback import walk_tb

import jinja2
from jinja2.sandbox import SecurityError

from wsf.errors import WsfError
from wsf.render import TEMPLATES
from wsf.render.templates import sandbox, shipped
from wsf.write.files import safe_filename

SHIPPED = TEMPLATES / "packets"
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


def environment(templates: Path | None = None) -> jinja2.Environment:
    """One run's templates. Files are read once (no check for changes while the run renders).

    With a district's folder, Jinja's sandbox, for every template of the run: a district's
    template is outside input that must not run code (`cycler.__init__.__globals__.os`) or change
    what it is given (`list.append`), and it may include ours and ours it. Without one, the
    shipped templates alone, unsandboxed (`wsf.render.templates.shipped`).
    """
    return shipped(folders(None)) if templates is None else sandbox(folders(templates))


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

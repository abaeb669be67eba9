"""What a template folder may lend: regular files whose real path is inside the folder's real path.

A district's `--templates` folder is input from outside the project, and its packets go to the
public. A link in it (`principal.html -> /etc/passwd`, `i18n -> ../../secrets`), a device or a
pipe must not make wsf read, print or embed anything from elsewhere on the machine, or hang.
Templates (`TemplateFolder`), translation files (`wsf.render.i18n`) and whatever a PDF loads
(`wsf.render.pdf.refusal`) all go through `why_not`; the shipped folder follows the same rule.
Links that stay inside the folder are fine: the rule is about where a path really leads.

`loader` puts the folders in the order they are searched, and lends the shipped templates under
a prefix as well (`default:principal.html`, as datasette does), so a district's `principal.html`
can extend the shipped `principal.html` it replaces instead of copying it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

import jinja2
from jinja2.loaders import split_template_path

from wsf.errors import WsfError

OUTSIDE = "outside the templates folder"
SHIPPED_PREFIX = "default"  # `default:NAME` is always the shipped template NAME


def why_not(folders: Iterable[Path], path: Path) -> str | None:
    """Why `path` may not be read (`"is not a regular file"`), or None when it is a regular file
    whose real path is inside the real path of one of `folders`. Checked before anything opens it,
    so a pipe or a device is never opened."""
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(os.path.realpath(folder)) for folder in folders):
        return f"leads to {real}, {OUTSIDE}" if real != Path(os.path.abspath(path)) else f"is {OUTSIDE}"
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return "does not exist" if real == Path(os.path.abspath(path)) else f"is a link to {real}, which does not exist"
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    return None if stat.S_ISREG(mode) else "is not a regular file"


def inside(folder: Path, path: Path) -> Path:
    """The real path of `path`, a file of `folder`; a WsfError naming it when `why_not` refuses it."""
    problem = why_not([folder], path)
    if problem is not None:
        raise WsfError(
            problem,
            file=path,
            fix=f"put the file itself in {folder}: not a link to elsewhere, a folder or a device",
        )
    return Path(os.path.realpath(path))


class TemplateFolder(jinja2.BaseLoader):
    """Jinja templates of one folder, each read only if `inside` allows it. A name the folder does
    not hold is not found (the next folder is asked); one it holds but may not lend is an error,
    not a quiet fall back to the shipped template."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, None]:
        path = self.folder.joinpath(*split_template_path(template))  # `..` in a name is not found
        if not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        try:
            source = inside(self.folder, path).read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WsfError(f"is not UTF-8 text ({exc.reason} at byte {exc.start})", file=path, fix="save it as UTF-8") from None
        return source, str(path), None  # no up-to-date check: a run reads its templates once (auto_reload off)


class NotFound(jinja2.TemplateNotFound):
    """A template no folder holds, with what would fix the name (`wsf.render.packets.pages.render`
    prints `fix`)."""

    def __init__(self, name: str, message: str, fix: str) -> None:
        super().__init__(name, message)
        self.fix = fix


def shipped_names(folder: Path) -> str:
    return ", ".join(sorted(p.name for p in Path(folder).iterdir() if p.is_file()))


class Shipped(jinja2.PrefixLoader):
    """The shipped templates under `default:`. A district's folder may hold its own `principal.html`
    and still say `{% extends "default:principal.html" %}` (or include `"default:_style.css"`)
    to build on the shipped one; a bare name keeps meaning the district's file when it has one.
    The shipped folder is read by the same rule as any other (`TemplateFolder`)."""

    def __init__(self, folder: Path) -> None:
        super().__init__({SHIPPED_PREFIX: TemplateFolder(folder)}, delimiter=":")
        self.folder = Path(folder)  # where its files are (error messages find template frames by it)

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, None]:
        prefix, colon, name = template.partition(self.delimiter)
        if not colon or prefix != SHIPPED_PREFIX:
            raise jinja2.TemplateNotFound(template)
        try:
            return self.mapping[prefix].get_source(environment, name)
        except jinja2.TemplateNotFound:
            raise NotFound(
                template,
                f"there is no shipped template {name!r} (asked for as {template!r})",
                f"`{SHIPPED_PREFIX}:` names a template shipped in wsf/templates/packets: {shipped_names(self.folder)}",
            ) from None


class TemplateFolders(jinja2.BaseLoader):
    """The templates of `folders`, the district's first and the shipped one last, each read by
    `TemplateFolder`'s rule; `default:NAME` is the shipped NAME (`Shipped`). A name no folder
    holds is a `NotFound` saying where it was looked for. `loaders` are what is searched, each
    with its `folder` (a template error is placed by the frame of a file in one of them)."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = [Path(f) for f in folders]
        self.shipped = Shipped(self.folders[-1])
        self.loaders = [self.shipped, *(TemplateFolder(f) for f in self.folders)]

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, None]:
        if template.startswith(SHIPPED_PREFIX + self.shipped.delimiter):
            return self.shipped.get_source(environment, template)
        for folder in self.loaders[1:]:
            try:
                return folder.get_source(environment, template)
            except jinja2.TemplateNotFound:
                continue
        where = "in the templates folder or the shipped templates" if len(self.folders) > 1 else "among the shipped templates"
        raise NotFound(
            template,
            f"there is no template {template!r} {where}",
            f"name a file of the templates folder, or a shipped one: {shipped_names(self.folders[-1])}",
        )

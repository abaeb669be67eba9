"""Jinja loaders that read templates only as `wsf.render.confine` allows: the folders in the order
they are searched, the district's first, and the shipped templates lent under a prefix as well
(`default:principal.html`, as datasette does), so a district's `principal.html` can extend the
shipped `principal.html` it replaces instead of copying it.
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
from jinja2.loaders import split_template_path

from wsf.errors import WsfError
from wsf.render.confine import inside

SHIPPED_PREFIX = "default"  # `default:NAME` is always the shipped template NAME


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

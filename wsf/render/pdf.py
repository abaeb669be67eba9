"""HTML -> PDF with WeasyPrint, reproducibly: the same HTML gives the same bytes.

The document's dates come from its `dcterms.created` / `dcterms.modified` meta tags (fixed in
the packets' base template) and its identifier from the HTML's SHA-256, so nothing depends on
the clock. Each process keeps a font configuration per template folder: Fontconfig and Pango
load the system's fonts once, not for every document (a quarter of a document's time; the bytes
are the same), and a district's @font-face fonts stay with its own templates.

What a PDF may load (an image, a style sheet, a font, an attachment) is what the packets' own
template folders hold: `data:` URLs and regular files whose real path is inside the district's
folder or the shipped one (`refusal`, by the rule of `wsf.render.confine`). Anything else, another
file on the machine, a link in the folder that leads out of it, http(s), ftp, is refused:
WeasyPrint leaves it out (an image not drawn, a file not attached) and `render_pdf` says what
it refused, so the run can tell the user. This module imports WeasyPrint, which takes half a
second: `wsf.render.packets.workers` imports it only when there are PDFs to render.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from wsf.render.confine import why_not


def render_pdf(html: str, target: str, base_url: str, folders: tuple[Path, ...]) -> dict[str, str]:
    """Write `html` as a PDF to `target` (a temporary name, moved into place by the caller), loading
    only what `folders` hold; returns the resources it refused, URL -> why."""
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    fetcher = Fetcher(folders)
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(font_config=fonts(base_url))
    partial = Path(target).with_name(Path(target).name + ".part")
    document.write_pdf(str(partial), pdf_identifier=identifier)
    os.replace(partial, target)
    return fetcher.refused


def refusal(url: str, folders: tuple[Path, ...]) -> str | None:
    """Why a PDF may not load `url`, as a clause for the user; None for a `data:` URL or a regular
    file inside one of `folders` (by real path, so a link out of a folder is refused)."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "data":
        return None
    if parts.scheme.lower() != "file":
        return "a PDF loads nothing from the network, only files in the templates folder"
    if parts.netloc not in ("", "localhost"):
        return f"it is on another computer ({parts.netloc})"
    problem = why_not(folders, Path(url2pathname(parts.path)))
    return None if problem is None else f"it {problem}"


class Fetcher(URLFetcher):
    """WeasyPrint's fetcher for `file:` and `data:` URLs, asking `refusal` first. A refused URL
    raises, which WeasyPrint takes as a resource that could not be loaded (not a failed PDF)."""

    def __init__(self, folders: tuple[Path, ...]) -> None:
        super().__init__(allowed_protocols=("file", "data"))
        self.folders = folders
        self.refused: dict[str, str] = {}

    def fetch(self, url: str, headers=None):
        why = refusal(url, self.folders)
        if why is not None:
            self.refused[url] = why
            raise ValueError(f"refused {url}: {why}")
        return super().fetch(url, headers)


@cache
def fonts(base_url: str) -> FontConfiguration:
    """The process's font configuration for documents of one template folder."""
    return FontConfiguration()


def warm(base_url: str) -> None:
    """Load the fonts once in a worker, before its first job."""
    fonts(base_url)

"""HTML -> PDF with WeasyPrint, reproducibly: the same HTML gives the same bytes.

The document's dates come from its `dcterms.created` / `dcterms.modified` meta tags (fixed in
the packets' base template) and its identifier from the HTML's SHA-256, so nothing depends on
the clock. Only `file:` and `data:` URLs are fetched (a district template's logo), never the
network. This module imports nothing heavy but WeasyPrint, so worker processes start fast.
Each process keeps a font configuration per template folder: Fontconfig and Pango load the
system's fonts once, not for every document (a quarter of a document's time; the bytes are the
same), and a district's @font-face fonts stay with its own templates.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path


def render_pdf(html: str, target: str, base_url: str) -> str:
    """Write `html` as a PDF to `target` (a temporary name, moved into place by the caller)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    fetcher = URLFetcher(allowed_protocols=("file", "data"))
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(font_config=fonts(base_url))
    partial = Path(target).with_name(Path(target).name + ".part")
    document.write_pdf(str(partial), pdf_identifier=identifier)
    os.replace(partial, target)
    return target


@cache
def fonts(base_url: str):
    """The process's `weasyprint.text.fonts.FontConfiguration` for documents of one template folder."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def warm(base_url: str) -> None:
    """Import WeasyPrint and load the fonts once in a worker, before its first job."""
    fonts(base_url)

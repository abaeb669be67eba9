"""Rendering: the engine's structured lines as text, HTML, PDF and workbooks, in the reader's language."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # shipped with the package

"""markupsafe's escaping, as text: for output that is joined into one string anyway (a template's
pieces, a sentence's values), where a `Markup` made for every value is only thrown away."""

from __future__ import annotations

from markupsafe import Markup, escape

try:
    from markupsafe import _escape_inner  # markupsafe's own escaping of a str, before it is made Markup
except ImportError:  # a markupsafe without it

    def _escape_inner(text: str) -> str:
        return str(escape(text))


def escape_text(value) -> str:
    """`markupsafe.escape(value)` as text: the same characters, for a template's output, which
    Jinja joins into one str anyway. A `str` is escaped and a `Markup` passed as it is, as
    `escape` does, without wrapping either in a new `Markup` (half of a packet's escaping cost);
    an int or float is its `str` (digits, signs, `.`, `e`, `inf`, `nan`: nothing to escape);
    anything else (an `__html__` object, a bool, an undefined value) goes to `escape` itself."""
    kind = type(value)  # not __class__: a proxy may say it is a str
    if kind is str:
        return _escape_inner(value)
    if kind is Markup:
        return value  # what Markup.__html__ returns, and so escape
    if kind is int or kind is float:  # a chart's coordinates
        return str(value)
    return escape(value)

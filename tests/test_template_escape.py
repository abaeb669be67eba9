"""The shipped templates print each `{{ }}` through `escape_text` (wsf.render.templates), not
markupsafe's `escape`: the same characters for every value, so the same HTML; a district's
templates, in the sandbox, keep Jinja's own code."""

from __future__ import annotations

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.compiler import CodeGenerator
from markupsafe import Markup, escape

from wsf.render.escaping import escape_text
from wsf.render.packets.pages import environment
from wsf.render.templates import OPTIONS, ShippedEnvironment, TextEscape, sandbox, shipped


class Html:
    """An object that says how it is written in HTML."""

    def __init__(self, html: str) -> None:
        self.html = html

    def __html__(self) -> str:
        return self.html


class Text(str):
    """A str subclass: escape converts it as any other object."""


class Proxy:
    """An object that says it is a str: escape goes by its type, not its `__class__`."""

    __class__ = str  # type: ignore[assignment]

    def __str__(self) -> str:
        return "<proxy & 'quoted'>"


MARKUP_TEXT = st.text(alphabet=st.sampled_from("<>&'\"ab \u00e9\u2212{}%#\n"), max_size=30) | st.text(max_size=30)
VALUES = st.one_of(
    MARKUP_TEXT,
    MARKUP_TEXT.map(Markup),
    MARKUP_TEXT.map(escape),
    MARKUP_TEXT.map(Html),
    MARKUP_TEXT.map(Text),
    st.integers(),
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
    st.lists(MARKUP_TEXT, max_size=3),
)


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_escape_text_writes_what_escape_writes(value) -> None:
    assert escape_text(value) == str(escape(value))


def test_escape_text_of_a_proxy_and_an_undefined_value_is_escapes() -> None:
    assert escape_text(Proxy()) == str(escape(Proxy())) == "&lt;proxy &amp; &#39;quoted&#39;&gt;"
    undefined = jinja2.StrictUndefined(name="missing")
    for fn in (escape, escape_text):
        with pytest.raises(jinja2.UndefinedError, match="'missing' is undefined"):
            fn(undefined)


TEMPLATE = """{% macro cell(v) %}<b>{{ v }}</b>{% endmacro %}
{{ value }}|{{ cell(value) }}|{{ value ~ '&' }}|{{ value|e }}|{{ value|safe }}|{{ value|string|upper }}
{% set block %}<i>{{ value }}</i>{% endset %}{{ block }}|{{ block|length }}
{% filter upper %}{{ value }}{% endfilter %}|{% autoescape false %}{{ value }}{% endautoescape %}
{% for item in [value, value] %}{{ loop.index }}{{ item }}{% endfor %}
{% set ns = namespace(seen=value) %}{% for i in range(2) %}{{ i }}{{ ns.seen }}{% endfor %}{{ cycler(value, 1).next() }}
"""


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_a_template_prints_the_same_html_as_with_jinjas_own_escape(value) -> None:
    """Printing, macros, `~`, filters, `{% set %}` and `{% autoescape false %}` blocks, the
    environment's globals (`range`, `namespace`, `cycler`): the same text as Jinja's own code
    generator writes (markupsafe's escape)."""
    ours = ShippedEnvironment(**{**OPTIONS, "bytecode_cache": None})
    jinjas = jinja2.Environment(**{**OPTIONS, "bytecode_cache": None})
    assert ours.from_string(TEMPLATE).render(value=value) == jinjas.from_string(TEMPLATE).render(value=value)


def test_only_the_shipped_environment_compiles_to_escape_text(tmp_path) -> None:
    """The shipped templates' code calls escape_text for every `{{ }}` and never escape; a
    district's run (the sandbox) compiles with Jinja's own generator. A Jinja whose generator no
    longer asks `_output_child_pre` fails here rather than quietly escaping twice as slowly."""
    plain, boxed = shipped([tmp_path]), sandbox([tmp_path])
    assert plain.code_generator_class is TextEscape and boxed.code_generator_class is CodeGenerator
    source = "<p>{{ a }}{{ b.c }}</p>{% for x in d %}{{ x }}{% endfor %}"
    ours, theirs = plain.compile(source, raw=True), boxed.compile(source, raw=True)
    assert ours.count("escape_text(") == 3 and " escape(" not in ours and "(escape(" not in ours
    assert "escape_text" not in theirs and theirs.count("escape(") == 3
    packets = environment(None)
    principal = packets.compile(packets.loader.get_source(packets, "principal.html")[0], raw=True)
    assert "escape_text(" in principal and "yield escape(" not in principal


def test_text_and_expressions_in_a_row_are_one_piece_and_errors_keep_their_line(tmp_path) -> None:
    """Pieces that follow one another are yielded joined (fewer pieces to pass up through the
    templates), and a fault is still placed at the template line that raised it."""
    page = "<p>{{ a }}, {{ b }}</p>\n{% for x in c %}<i>{{ x }}</i>{% endfor %}\n<b>{{ a }}\n{{ d.missing }}</b>\n"
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    env = shipped([tmp_path])
    pieces = list(env.get_template("page.html").generate(a="<1>", b=2, c=[1, 2], d={"missing": 5}))
    assert pieces == ["<p>&lt;1&gt;, 2</p>\n", "<i>1</i>", "<i>2</i>", "<b>&lt;1&gt;\n5</b>\n"]  # Jinja's own: 16 pieces
    with pytest.raises(jinja2.UndefinedError, match="'dict object' has no attribute 'missing'") as caught:
        env.get_template("page.html").render(a=1, b=2, c=[], d={})
    lines = [tb.tb_lineno for tb in _walk(caught.value.__traceback__) if tb.tb_frame.f_code.co_filename.endswith("page.html")]
    assert lines[-1] == 4, lines


def _walk(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def test_a_language_text_reads_its_sentences_as_attributes() -> None:
    """Every sentence an attribute of its part; a missing one still an error naming it."""
    from wsf.render.i18n import Text as Sentences

    text = Sentences("en", {"common": {"total": "Total", "_hidden": "x"}, "title": "T"})
    assert text.title == "T" and text.common.total == "Total" and text["common"]["total"] == "Total"
    assert "_hidden" in text.common and not hasattr(text.common, "_hidden")
    with pytest.raises(AttributeError, match="no sentence en.common.nope in the language file"):
        text.common.nope


@settings(max_examples=300, deadline=None)
@given(VALUES, VALUES)
def test_a_sentences_values_and_bold_are_escaped_as_escape_does(first, second) -> None:
    """`Language.say` fills a sentence with escape_text's values and `bold` wraps escape_text's:
    the markup markupsafe's escape gave them (a Markup value as it is, and never re-escaped)."""
    from wsf.render.i18n import bold, load_language
    from wsf.render.packets.pages import SHIPPED

    lang = load_language("en", [SHIPPED])
    assert bold(first) == Markup(f"<strong>{escape(first)}</strong>")
    template = lang._template("principal.similar_label")[0]  # "{name} ({share})"
    assert lang.say("principal.similar_label", name=first, share=second) == Markup(
        str.format_map(template, {"name": escape(first), "share": escape(second)})
    )

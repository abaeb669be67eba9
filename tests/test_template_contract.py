"""The template context is a documented contract: docs/packets.md ("What templates see") lists
every field a template may use, and this test holds the document, the classes and the shipped
templates to one another.

- Each class reachable from `Principal`, `Council`, `District` and `Plan` has a section (`#### `Name``)
  whose table lists exactly its fields, each with what it is (`text`, `markup`, `list of
  Figure`, `Bars or none`, ...) as its annotation says, and the module it is defined in.
- Every attribute path the shipped templates use (`packet.similar.chart.reference.x`, through
  `{% set %}`, `{% with %}`, loops and includes; `packet.doc.text.<part>.<key>` against
  `i18n/en.toml`) exists in the documented contract.

The document is read as data, so it cannot drift: a field added to a class fails here with the
row to paste into docs/packets.md.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from dataclasses import dataclass

import pytest
from conftest import ROOT
from jinja2 import nodes
from markupsafe import Markup

from wsf.render.i18n import Text
from wsf.render.packets.context import Document
from wsf.render.packets.council import Council
from wsf.render.packets.district import District
from wsf.render.packets.pages import SHIPPED, environment
from wsf.render.packets.plan import Plan
from wsf.render.packets.school import Principal
from wsf.render.typeset import HTML_ONLY, runs

DOC = ROOT / "docs" / "packets.md"
ROOTS = (Principal, Council, District, Plan)
LEAVES = {str: "text", Markup: "markup", int: "number", float: "number", bool: "yes/no", Text: "sentences"}
HEADING = re.compile(r"^#### `(\w+)`\s*$")
FIELD_ROW = re.compile(r"^\| `(\w+)` \| ([^|]+?) \| (.+) \|$")
ROOT_ROW = re.compile(r"^\| `(\w+\.html)` \| \[?`?(\w+)`?\]?(?:\(#[\w-]+\))? \|$")
MODULE = re.compile(r"`(wsf/[\w/]+\.py)`")


# -- the document as data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    name: str
    line: int  # of its heading
    module: str | None  # the first `wsf/....py` named between the heading and the table
    fields: dict[str, tuple[str, int]]  # field -> (what it is, line)


def read_doc(text: str) -> tuple[dict[str, Section], dict[str, str]]:
    """The class sections and the table of which template sees which class."""
    sections: dict[str, Section] = {}
    roots: dict[str, str] = {}
    current: Section | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if (match := ROOT_ROW.match(line)) and current is None:
            roots[match[1]] = match[2]
        if line.startswith("#"):
            current = None
        if match := HEADING.match(line):
            current = sections[match[1]] = Section(match[1], number, None, {})
            continue
        if current is None:
            continue
        if (match := FIELD_ROW.match(line)) and match[1] != "field":
            current.fields[match[1]] = (re.sub(r"\[(\w+)\]\(#[\w-]+\)", r"\1", match[2]).strip(), number)
        elif current.module is None and not current.fields and (module := MODULE.search(line)):
            sections[current.name] = current = dataclasses.replace(current, module=module[1])
    return sections, roots


def notation(annotation) -> str:
    """What a field is, in the document's words: `list of Figure`, `Bars or none`, `text`."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        (rest,) = [a for a in args if a is not type(None)]
        return f"{notation(rest)} or none"
    if typing.get_origin(annotation) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return f"list of {notation(args[0])}"
    if dataclasses.is_dataclass(annotation):
        return annotation.__name__
    if annotation in LEAVES:
        return LEAVES[annotation]
    raise AssertionError(f"no word for {annotation!r} in docs/packets.md's table of what fields are: add one to it and LEAVES")


def contract_classes() -> dict[str, type]:
    """Every class a template can reach from `packet`, by name."""
    found: dict[str, type] = {}

    def visit(cls: type) -> None:
        if cls.__name__ in found:
            assert found[cls.__name__] is cls, f"two classes named {cls.__name__} in the context"
            return
        found[cls.__name__] = cls
        for annotation in typing.get_type_hints(cls).values():
            for inner in _inner(annotation):
                if dataclasses.is_dataclass(inner):
                    visit(inner)

    for root in ROOTS:
        visit(root)
    return found


def _inner(annotation) -> list:
    args = typing.get_args(annotation)
    return [leaf for arg in args for leaf in _inner(arg)] if args else [annotation]


def module_path(cls: type) -> str:
    return cls.__module__.replace(".", "/") + ".py"


def contract_problems(sections: dict[str, Section], classes: dict[str, type]) -> list[str]:
    """What docs/packets.md says that the classes do not, and the reverse, each with its fix."""
    problems = []
    for name, cls in classes.items():
        hints = typing.get_type_hints(cls)
        fields = [f.name for f in dataclasses.fields(cls)]
        section = sections.get(name)
        if section is None:
            rows = "\n".join(f"| `{f}` | {notation(hints[f])} | ... |" for f in fields)
            problems.append(
                f"docs/packets.md does not document {name} ({module_path(cls)}), which templates can reach: add a section\n"
                f"#### `{name}`\n\n<what it is> (`{module_path(cls)}`).\n\n| field | is | holds |\n|---|---|---|\n{rows}"
            )
            continue
        if section.module != module_path(cls):
            problems.append(
                f"docs/packets.md line {section.line}: {name} is defined in `{module_path(cls)}`, "
                f"but its section names {section.module and f'`{section.module}`'}: name `{module_path(cls)}` above its table"
            )
        for field in fields:
            is_ = notation(hints[field])
            if field not in section.fields:
                problems.append(
                    f"docs/packets.md does not document {name}.{field}: add the row "
                    f"`| `{field}` | {is_} | <what it holds> |` to the table of `{name}` (line {section.line})"
                )
            elif section.fields[field][0] != is_:
                said, line = section.fields[field]
                problems.append(
                    f"docs/packets.md line {line}: {name}.{field} is documented as {said!r} but is {is_!r}: write {is_}"
                )
        for field, (_, line) in section.fields.items():
            if field not in fields:
                problems.append(
                    f"docs/packets.md line {line} documents {name}.{field}, which {name} does not have: remove the row"
                )
    for name, section in sections.items():
        if name not in classes:
            problems.append(
                f"docs/packets.md line {section.line} documents {name}, which no template can reach from `packet`: remove its section"
            )
    return problems


# -- the paths templates use ------------------------------------------------------------------------


@dataclass(frozen=True)
class Seq:
    of: object  # what an item is


@dataclass(frozen=True)
class Sentences:
    parts: tuple[dict, ...]  # the tables of the language file it may be (several: `text[doc.kind]`)


LEAF = "leaf"  # a value with no documented fields (text, a number); None: not known here


class Checker:
    """Walks templates as Jinja parses them, knowing what each name is (`packet`, and what `set`,
    `with` and `for` bind from it), and notes each attribute the contract does not have."""

    def __init__(self, sections: dict[str, Section], sentences: dict, kinds: list[str], source) -> None:
        self.sections, self.sentences, self.kinds, self.source = sections, sentences, kinds, source
        self.env = environment()
        self.problems: list[str] = []
        self.seen: set[str] = set()

    def kind(self, words: str):
        if words.endswith(" or none"):
            return self.kind(words[: -len(" or none")])
        if words.startswith("list of "):
            return Seq(self.kind(words[len("list of ") :]))
        if words == "sentences":
            return Sentences((self.sentences,))
        return words if words in self.sections else LEAF

    def template(self, name: str, scope: dict, depth: int = 0) -> None:
        assert depth < 20, f"templates include each other without end at {name}"
        shipped = name.partition("default:")[2] or name
        self.seen.add(shipped)
        tree = self.env.parse(self.source(shipped), shipped)
        self.body(tree.body, dict(scope), shipped, depth)

    def body(self, statements: list[nodes.Node], scope: dict, name: str, depth: int) -> None:
        for node in statements:
            self.statement(node, scope, name, depth)

    def statement(self, node: nodes.Node, scope: dict, name: str, depth: int) -> None:
        if isinstance(node, nodes.For):
            items = self.expr(node.iter, scope, name)
            inner = dict(scope) | {"loop": None}
            self.bind(node.target, node.iter, items, inner, scope, name)
            if node.test is not None:
                self.expr(node.test, inner, name)
            self.body(node.body, inner, name, depth)
            self.body(node.else_, dict(scope), name, depth)
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for target, value in zip(node.targets, node.values):
                inner[target.name] = self.expr(value, scope, name)
            self.body(node.body, inner, name, depth)
        elif isinstance(node, nodes.Assign):
            value = self.expr(node.node, scope, name)
            if isinstance(node.target, nodes.Name):
                scope[node.target.name] = value
        elif isinstance(node, (nodes.Include, nodes.Extends)):
            assert isinstance(node.template, nodes.Const), f"{name} line {node.lineno}: a template named by an expression"
            self.template(
                node.template.value, scope if isinstance(node, nodes.Include) else {"packet": scope["packet"]}, depth + 1
            )
        elif isinstance(node, (nodes.Block, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.If, nodes.Scope)):
            inner = dict(scope)
            for arg in getattr(node, "args", []):
                inner[arg.name] = None
            for child in node.iter_child_nodes():
                self.child(child, inner, name, depth)
        else:
            for child in node.iter_child_nodes():
                self.child(child, scope, name, depth)

    def child(self, node: nodes.Node, scope: dict, name: str, depth: int) -> None:
        if isinstance(node, nodes.Expr):
            self.expr(node, scope, name)
        else:
            self.statement(node, scope, name, depth)

    def bind(self, target: nodes.Node, source: nodes.Node, items, inner: dict, scope: dict, name: str) -> None:
        """A loop's names: an item of a list; for `a, b in ((x, y), (z, w))`, each position's kind."""
        if isinstance(target, nodes.Name):
            inner[target.name] = items.of if isinstance(items, Seq) else None
            return
        names = [t.name for t in target.items]
        rows = source.items if isinstance(source, (nodes.Tuple, nodes.List)) else []
        for i, n in enumerate(names):
            kinds = {repr(self.expr(row.items[i], scope, name)) for row in rows if isinstance(row, nodes.Tuple)}
            inner[n] = self.expr(rows[0].items[i], scope, name) if len(kinds) == 1 and rows else None

    def expr(self, node: nodes.Node, scope: dict, name: str):
        if isinstance(node, nodes.Name):
            return scope.get(node.name)
        if isinstance(node, nodes.Getattr):
            return self.member(self.expr(node.node, scope, name), node.attr, node, name)
        if isinstance(node, nodes.Getitem):
            base = self.expr(node.node, scope, name)
            if isinstance(node.arg, nodes.Slice):
                self.expr(node.arg, scope, name)
                return base if isinstance(base, Seq) else None
            if isinstance(base, Seq):
                self.expr(node.arg, scope, name)
                return base.of
            if isinstance(base, Sentences) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self.member(base, node.arg.value, node, name)
            if isinstance(base, Sentences) and self.path(node.arg) == "packet.doc.kind":
                self.expr(node.arg, scope, name)
                parts = tuple(p[kind] for p in base.parts for kind in self.kinds if isinstance(p.get(kind), dict))
                return Sentences(parts)
            self.expr(node.arg, scope, name)
            return None
        for child in node.iter_child_nodes():
            self.expr(child, scope, name)
        return None

    def member(self, base, attr: str, node: nodes.Node, name: str):
        where = f"{name} line {node.lineno}: {self.path(node)}"
        if isinstance(base, str) and base in self.sections:
            fields = self.sections[base].fields
            if attr not in fields:
                self.note(f"{where}: {base} has no field {attr!r} in docs/packets.md")
                return None
            return self.kind(fields[attr][0])
        if isinstance(base, Sentences):
            found = [part[attr] for part in base.parts if attr in part]
            if len(found) < len(base.parts) or not found:
                self.note(f"{where}: no sentence {attr!r} there in i18n/en.toml")
                return None
            return Sentences(tuple(found)) if all(isinstance(f, dict) for f in found) else LEAF
        return None

    def note(self, problem: str) -> None:
        if problem not in self.problems:  # a loop's literal rows are read twice: for themselves and to bind names
            self.problems.append(problem)

    def path(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Name):
            return node.name
        if isinstance(node, nodes.Getattr):
            return f"{self.path(node.node)}.{node.attr}"
        if isinstance(node, nodes.Getitem):
            arg = repr(node.arg.value) if isinstance(node.arg, nodes.Const) else self.path(node.arg)
            return f"{self.path(node.node)}[{arg}]"
        return "…"


def check_templates(sections: dict[str, Section], roots: dict[str, str], source) -> Checker:
    sentences = tomllib.loads((SHIPPED / "i18n" / "en.toml").read_text(encoding="utf-8"))
    kinds = [template.removesuffix(".html") for template in roots]
    checker = Checker(sections, sentences, kinds, source)
    for template, cls in roots.items():
        checker.template(template, {"packet": cls})
    return checker


def shipped_source(name: str) -> str:
    return (SHIPPED / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def doc() -> tuple[dict[str, Section], dict[str, str]]:
    return read_doc(DOC.read_text(encoding="utf-8"))


# -- the tests ---------------------------------------------------------------------------------------


def test_the_document_lists_every_field_of_every_class_templates_see(doc) -> None:
    sections, roots = doc
    assert roots == {f"{cls.__name__.lower()}.html": cls.__name__ for cls in ROOTS}, (
        "docs/packets.md's table of templates and what `packet` is there is not principal/council/district/plan"
    )
    problems = contract_problems(sections, contract_classes())
    assert not problems, "\n".join(problems)


def test_every_path_the_shipped_templates_use_is_in_the_contract(doc) -> None:
    sections, roots = doc
    checker = check_templates(sections, roots, shipped_source)
    assert not checker.problems, "\n".join(checker.problems)
    templates = {p.name for p in SHIPPED.iterdir() if p.is_file() and p.suffix != ".typ"}  # Typst's: below
    assert checker.seen == templates, f"templates no packet reaches, so unchecked: {sorted(templates - checker.seen)}"


def test_a_field_added_or_removed_is_named_with_its_fix(doc) -> None:
    """The comparison can fail, both ways, and says which row to add or remove."""
    sections, _ = doc

    @dataclass(frozen=True)
    class School:  # the context's School with a field more (`motto`) and one fewer (`level`)
        id: str
        name: str
        enrollment: str
        motto: Markup

    problems = contract_problems(sections, {"School": School})
    assert any(
        "School.motto: add the row `| `motto` | markup | <what it holds> |` to the table of `School`" in p for p in problems
    )
    assert any("documents School.level, which School does not have: remove the row" in p for p in problems)
    assert any("documents Principal, which no template can reach" in p for p in problems)

    wrong = dict(sections)
    wrong["Principal"] = dataclasses.replace(
        sections["Principal"], fields={**sections["Principal"].fields, "current": ("Current", 1)}
    )
    problems = [p for p in contract_problems(wrong, contract_classes()) if "Principal.current" in p]
    assert problems == [
        "docs/packets.md line 1: Principal.current is documented as 'Current' but is 'Current or none': write Current or none"
    ]


def test_a_path_outside_the_contract_is_found_through_aliases_loops_and_includes(doc) -> None:
    sections, roots = doc
    templates = {
        "principal.html": (
            "{% set t = packet.doc.text.principal %}{{ t.lines_heading }}{{ t.no_such_sentence }}\n"
            "{% for line in packet.lines %}{{ line.label }}{{ line.colour }}{% endfor %}\n"
            "{% with chart = packet.similar.chart %}{% include '_bars.svg' %}{% endwith %}\n"
            "{{ packet.doc.text[packet.doc.kind].kind }}{{ packet.doc.text[packet.doc.kind].lines_heading }}"
        ),
        "_bars.svg": "{% for bar in chart.bars %}{{ bar.label }}{% endfor %}{{ chart.reference.y }}",
        "council.html": "{{ packet.school.motto }}",
        "district.html": "{% for title, rows in ((1, packet.movers.gainers),) %}{{ rows[0].cells[0] }}{{ rows[0].cell }}{% endfor %}",
        "plan.html": "{% for goal in packet.goals %}{% for line in goal.lines %}{{ line.what }}{{ line.colour }}{% endfor %}{% endfor %}",
    }
    problems = check_templates(sections, roots, templates.__getitem__).problems
    assert problems == [
        "principal.html line 1: t.no_such_sentence: no sentence 'no_such_sentence' there in i18n/en.toml",
        "principal.html line 2: line.colour: LineRow has no field 'colour' in docs/packets.md",
        "_bars.svg line 1: chart.reference.y: Reference has no field 'y' in docs/packets.md",
        "principal.html line 4: packet.doc.text[packet.doc.kind].lines_heading: no sentence 'lines_heading' there in i18n/en.toml",
        "council.html line 1: packet.school.motto: School has no field 'motto' in docs/packets.md",
        "district.html line 1: rows[0].cell: Row has no field 'cell' in docs/packets.md",
        "plan.html line 1: line.colour: PlanLine has no field 'colour' in docs/packets.md",
    ]


# -- the Typst templates -----------------------------------------------------------------------------

TYPST_PATH = re.compile(r"\bpacket((?:\.[a-z_]+)+)")


def typst_path_problems(sections: dict[str, Section], root: str, source: str, name: str) -> list[str]:
    """Every `packet.a.b` a Typst template spells out, against the documented fields (`doc.text`'s
    sentences are checked by rendering)."""
    problems = []
    for number, line in enumerate(source.splitlines(), 1):
        for match in TYPST_PATH.finditer(line):
            here = root
            for part in match.group(1).strip(".").split("."):
                if here == "sentences" or here is None:
                    break
                section = sections.get(here)
                if section is None or part not in section.fields or part in HTML_ONLY:
                    problems.append(f"{name} line {number}: packet{match.group(1)}: {here} has no field {part!r} a Typst template sees")
                    break
                shown = section.fields[part][0]
                kind = shown.removeprefix("list of ").removesuffix(" or none")
                # a list's `.len()` or `.map(...)` is Typst's; a leaf has no fields
                listed = shown.startswith("list of ")
                here = "sentences" if kind == "sentences" else (kind if kind in sections and not listed else None)
    return problems


def test_every_packet_path_the_typst_templates_spell_is_in_the_contract(doc) -> None:
    sections, _ = doc
    problems = []
    for path in sorted(SHIPPED.glob("*.typ")):
        for root in ("Principal", "Council") if path.name == "_packet.typ" else (path.stem.capitalize(),):
            problems += typst_path_problems(sections, root, path.read_text(encoding="utf-8"), path.name)
    assert not problems, "\n".join(problems)
    assert typst_path_problems(sections, "Principal", "#packet.school.motto\n#packet.doc.page_css", "x.typ") == [
        "x.typ line 1: packet.school.motto: School has no field 'motto' a Typst template sees",
        "x.typ line 2: packet.doc.page_css: Document has no field 'page_css' a Typst template sees",
    ]


def test_the_json_a_typst_template_reads_is_the_documented_object(doc) -> None:
    """Every documented field but the CSS ones, markup as strings plain and bold in turn."""
    sections, _ = doc
    for cls in (Principal, Council):
        names = {f.name for f in dataclasses.fields(cls)}
        assert names == set(sections[cls.__name__].fields)
    documented = set(sections["Document"].fields) - set(HTML_ONLY)
    assert {f.name for f in dataclasses.fields(Document)} - set(HTML_ONLY) == documented
    assert runs(Markup("A <strong>$1 &amp; 2</strong> b <strong>c</strong>")) == ["A ", "$1 & 2", " b ", "c", ""]
    assert runs(Markup("no bold")) == ["no bold"]

"""The Jinja environments documents render in: packets, the equity summary, charts.

One set of options (`OPTIONS`): autoescape on, `StrictUndefined` (a missing field fails loudly
instead of printing blank), and compiled templates kept for the life of the process. Two
environments share them. `sandbox(folders)` is Jinja's immutable sandbox, for any run that
reads a district's `--templates` folder: outside input that must not run code or change what it
is given, and whose files may include ours and ours theirs, so every template of such a run is
sandboxed. `shipped(folders)` is a plain environment for runs of our own templates alone: the
sandbox's checks of each attribute read and call make packets render 1.7 times as long, and
guard against nothing we wrote; its templates are also compiled to print each `{{ }}` through
`escape_text` (`TextEscape`), markupsafe's escaping without a `Markup` made for every value.
Both look templates up in `folders` in order, each read only inside its folder, and
`default:NAME` the shipped NAME (`wsf.render.loaders.TemplateFolders`).
"""

from __future__ import annotations

from pathlib import Path
from types import CodeType

import jinja2
from jinja2.bccache import Bucket
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment

from wsf.render.escaping import escape_text
from wsf.render.loaders import TemplateFolders


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process, by file and source checksum: a second
    run does not parse and compile them again, and an edited template is compiled anew. Code
    compiled for the sandbox differs (its calls are checked), and so does code that escapes by
    `escape_text`, so each is kept apart."""

    def __init__(self) -> None:
        self.code: dict[tuple, CodeType] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        bucket.code = self.code.get(self._key(bucket))

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[self._key(bucket)] = bucket.code

    @staticmethod
    def _key(bucket: Bucket) -> tuple:
        env = bucket.environment
        return (env.sandboxed, env.code_generator_class, bucket.key, bucket.checksum)


COMPILED = CompiledTemplates()


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, its answer to "may a template read this attribute?" kept per
    type and name.

    That check is most of the sandbox's cost: a packet reads some 300 attributes, each check is a
    dozen isinstance tests, three of them against ABCs, and together they made HTML packets take
    1.8 times as long. Jinja's answer depends only on the object's type and the attribute's name
    (not on the value), so it is asked once per pair; for an object whose `__class__` is not its
    type (a proxy), every time. With it, HTML packets take 1.2 times as long as unsandboxed.
    """

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.safe: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj, attr: str, value) -> bool:
        kind = type(obj)
        if obj.__class__ is not kind:
            return super().is_safe_attribute(obj, attr, value)
        safe = self.safe.get((kind, attr))
        if safe is None:
            safe = self.safe[(kind, attr)] = super().is_safe_attribute(obj, attr, value)
        return safe


class TextEscape(CodeGenerator):
    """Jinja's code generator, but a `{{ }}` in an autoescaped template is printed through
    `escape_text` instead of `markupsafe.escape`. What a template computes is unchanged (`~`,
    filters, macros and `{% set %}` blocks still make Markup); only what is printed skips it."""

    def visit_Template(self, node, frame=None) -> None:
        self.writeline(f"from {escape_text.__module__} import escape_text")
        super().visit_Template(node, frame)

    def _output_child_pre(self, node, frame, finalize) -> None:  # Jinja's own, with escape_text for escape
        if frame.eval_ctx.volatile:
            self.write("(escape_text if context.eval_ctx.autoescape else str)(")
        elif frame.eval_ctx.autoescape:
            self.write("escape_text(")
        else:
            self.write("str(")
        if finalize.src is not None:
            self.write(finalize.src)

    def visit_Output(self, node, frame) -> None:
        """Text and `{{ }}`s that follow one another, yielded as one string instead of one each.

        Jinja yields every piece, and each piece is passed up through every template it is in
        (principal.html, base.html, the block, the include: some 700 pieces a packet). Outside a
        block that a `{% extends %}` may suppress, the pieces are collected as Jinja collects them
        inside a macro (its own buffered code, line numbers and all), then joined and yielded."""
        if frame.buffer is not None or frame.require_output_check or len(node.nodes) < 2:
            return super().visit_Output(node, frame)
        frame.buffer = self.temporary_identifier()
        try:
            self.writeline(f"{frame.buffer} = []")
            super().visit_Output(node, frame)
            self.writeline(f"yield concat({frame.buffer})")
        finally:
            frame.buffer = None


class ShippedEnvironment(jinja2.Environment):
    """The environment of our own templates alone: not sandboxed, printing through `escape_text`."""

    code_generator_class = TextEscape

    def make_globals(self, d=None) -> dict:
        """A template's globals as one dict. Jinja's is a ChainMap over the environment's globals,
        which every context (a packet's and each of its includes') reads key by key in Python;
        nothing changes the globals of this environment once it is made, so a copy reads the same."""
        return {**self.globals, **(d or {})}


OPTIONS = dict(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,  # files are read once: no check for changes while a run renders
    bytecode_cache=COMPILED,
)


def sandbox(folders: list[Path]) -> Sandbox:
    """Templates of `folders`, the first that holds a name wins, sandboxed: for a district's."""
    return Sandbox(loader=TemplateFolders(folders), **OPTIONS)  # and `default:NAME` for the shipped NAME


def shipped(folders: list[Path]) -> jinja2.Environment:
    """Templates of `folders` (ours alone: no district's folder among them), not sandboxed."""
    return ShippedEnvironment(loader=TemplateFolders(folders), **OPTIONS)

"""The Jinja environments documents render in: packets, the equity summary, charts.

One set of options (`OPTIONS`): autoescape on, `StrictUndefined` (a missing field fails loudly
instead of printing blank), and compiled templates kept for the life of the process. Two
environments share them. `sandbox(folders)` is Jinja's immutable sandbox, for any run that
reads a district's `--templates` folder: outside input that must not run code or change what it
is given, and whose files may include ours and ours theirs, so every template of such a run is
sandboxed. `shipped(folders)` is a plain environment for runs of our own templates alone: the
sandbox's checks of each attribute read and call make packets render 1.7 times as long, and
guard against nothing we wrote. Both look templates up in `folders` in order, each read only
inside its folder, and `default:NAME` the shipped NAME (`wsf.render.loaders.TemplateFolders`).
"""

from __future__ import annotations

from pathlib import Path
from types import CodeType

import jinja2
from jinja2.bccache import Bucket
from jinja2.sandbox import ImmutableSandboxedEnvironment

from wsf.render.loaders import TemplateFolders


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process, by file and source checksum: a second
    run does not parse and compile them again, and an edited template is compiled anew. Code
    compiled for the sandbox differs (its calls are checked), so it is kept apart."""

    def __init__(self) -> None:
        self.code: dict[tuple[bool, str, str], CodeType] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        bucket.code = self.code.get((bucket.environment.sandboxed, bucket.key, bucket.checksum))

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[(bucket.environment.sandboxed, bucket.key, bucket.checksum)] = bucket.code


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
    return jinja2.Environment(loader=TemplateFolders(folders), **OPTIONS)

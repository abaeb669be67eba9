"""The one Jinja environment every document renders in: packets, the equity summary, charts.

Jinja's immutable sandbox, autoescape on, `StrictUndefined` (a missing field fails loudly
instead of printing blank), and compiled templates kept for the life of the process. The
packets' templates may come from a district's `--templates` folder, outside input that must
not run code or change what it is given; the shipped templates render in the same sandbox so
that there is one set of rules, not two. `sandbox(folders)` looks templates up in `folders` in
order, each read only inside its folder, and `default:NAME` the shipped NAME
(`wsf.render.confine.TemplateFolders`).
"""

from __future__ import annotations

from pathlib import Path
from types import CodeType

import jinja2
from jinja2.bccache import Bucket
from jinja2.sandbox import ImmutableSandboxedEnvironment

from wsf.render.confine import TemplateFolders


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


def sandbox(folders: list[Path]) -> Sandbox:
    """Templates of `folders`, the first that holds a name wins. Files are read once (no check for
    changes while a run renders)."""
    return Sandbox(
        loader=TemplateFolders(folders),  # and `default:NAME` for the shipped NAME
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        bytecode_cache=COMPILED,
    )

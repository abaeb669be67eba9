"""The README's development map (the code block under `## Development`) lists every module of
the package, each with what it is for, grouped by subpackage in the order the data flows, and
names nothing the tree lacks. A module added later fails here with the line to add and where.

An `__init__.py` that is empty only marks a package and needs no line; one that holds code does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT

README = ROOT / "README.md"
INDENT = 2  # spaces per level of the map
PURPOSE = 24  # the column the purposes start at, at the top level
FLOW = ["formula/", "data/", "engine/", "equity/", "render/", "write/"]  # then api.py, cli.py


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the repository, "wsf/engine/allocate.py"; folders end with "/"
    purpose: str
    line: int  # in README.md


def read_map(text: str) -> list[Entry]:
    """The map's entries, each with its path worked out from the indentation."""
    match = re.search(r"^## Development\n.*?^```\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no code block under `## Development`"
    first = text[: match.start(1)].count("\n") + 1
    entries, parents = [], []
    for number, line in enumerate(match[1].splitlines(), first):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        assert indent % INDENT == 0, f"README.md line {number}: indent by {INDENT} spaces a level: {line!r}"
        depth = indent // INDENT
        assert depth <= len(parents), f"README.md line {number}: indented under no folder: {line!r}"
        name, _, purpose = line.strip().partition(" ")
        parents = parents[:depth]
        path = "".join(parents) + name
        entries.append(Entry(path, purpose.strip(), number))
        if name.endswith("/"):
            parents.append(name)
    return entries


def modules(root: Path) -> list[str]:
    """Every module of the package, but empty `__init__.py` files, as repository paths."""
    found = []
    for path in sorted((root / "wsf").rglob("*.py")):
        if path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip():
            continue
        found.append(path.relative_to(root).as_posix())
    return found


def line_for(path: str, purpose: str = "<what it is for>") -> str:
    """The map's line for `path`: its name at its depth, its purpose at the column of the others."""
    parts = path.rstrip("/").split("/")
    depth = len(parts) - 1
    name = parts[-1] + ("/" if path.endswith("/") else "")
    return " " * (INDENT * depth) + name.ljust(PURPOSE - 1) + " " + purpose


def map_problems(entries: list[Entry], root: Path) -> list[str]:
    """What the map lacks or names wrongly, each with the fix."""
    problems = []
    listed = {entry.path for entry in entries}
    for module in modules(root):
        if module in listed:
            continue
        folders = [p + "/" for p in _prefixes(module)]
        missing = [f for f in folders if f not in listed]
        under = next((f for f in reversed(folders) if f in listed), None)
        lines = [f"`{line_for(f, '<what it holds>')}`" for f in missing] + [f"`{line_for(module)}`"]
        problems.append(
            f"README.md's development map does not list {module}: add "
            + " and then ".join(lines)
            + (f" under `{under}`" if under else "")
            + " in the code block under ## Development"
        )
    for entry in entries:
        if not (root / entry.path).exists():
            problems.append(
                f"README.md line {entry.line}: the map names {entry.path}, which does not exist: remove or rename the line"
            )
        elif entry.path.endswith("/") != (root / entry.path).is_dir():
            problems.append(f"README.md line {entry.line}: {entry.path} is {'not ' if entry.path.endswith('/') else ''}a folder")
        if not entry.purpose:
            problems.append(f"README.md line {entry.line}: {entry.path} needs what it is for, after its name")
    return problems


def _prefixes(module: str) -> list[str]:
    parts = module.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return read_map(README.read_text(encoding="utf-8"))


def test_the_map_lists_every_module_and_nothing_else(entries: list[Entry]) -> None:
    problems = map_problems(entries, ROOT)
    assert not problems, "\n".join(problems)


def test_the_map_follows_the_data(entries: list[Entry]) -> None:
    """formula -> data -> engine -> equity -> render -> write, then api.py and cli.py."""
    children = [e.path.removeprefix("wsf/") for e in entries if re.fullmatch(r"wsf/[^/]+/?", e.path)]
    stages = [name for name in children if name in FLOW or name in ("api.py", "cli.py")]
    assert stages == [*FLOW, "api.py", "cli.py"], (
        f"README.md's map should list the stages as {FLOW} then api.py, cli.py: {stages}"
    )


def test_a_module_the_map_lacks_is_named_with_its_line(tmp_path: Path) -> None:
    """The check can fail: a new module, in a new folder, and a line for a module that is gone."""
    for module in (
        "wsf/__init__.py",
        "wsf/engine/allocate.py",
        "wsf/engine/components/base.py",
        "wsf/engine/components/__init__.py",
    ):
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text("" if module.endswith("components/__init__.py") else "x = 1\n", encoding="utf-8")
    text = (
        "## Development\n\n```\nwsf/  the package\n  __init__.py  v\n  engine/  money\n    allocate.py  a\n    gone.py  b\n```\n"
    )
    problems = map_problems(read_map(text), tmp_path)
    assert problems == [
        (
            "README.md's development map does not list wsf/engine/components/base.py: add "
            "`    components/             <what it holds>` and then `      base.py                 <what it is for>` "
            "under `wsf/engine/` in the code block under ## Development"
        ),
        "README.md line 8: the map names wsf/engine/gone.py, which does not exist: remove or rename the line",
    ]

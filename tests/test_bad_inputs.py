"""The bad-input corpus: every one-fault file is refused, by `wsf validate` and by `wsf allocate`
alike, with a message that names the file, the place and the fault, exit 2, and nothing written."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "bad_inputs"
CASES = tomllib.loads((HERE / "cases.toml").read_text())
FILES = ("formula", "schools", "students", "prior", "mapping")


def test_every_fault_file_has_a_case() -> None:
    named = {Path(v).name for case in CASES.values() for k, v in case.items() if k in FILES and v}
    on_disk = {p.name for p in (HERE / "reject").iterdir()}
    assert on_disk <= named, f"fault files without an expected outcome: {sorted(on_disk - named)}"


def arguments(case: dict) -> list:
    args = [HERE / case.get("formula", "formula.toml")]
    if case.get("students"):
        args += ["--students", HERE / case["students"], "--schools", HERE / "schools.csv"]
    else:
        args += ["--schools", HERE / case.get("schools", "schools.csv")]
    prior = case.get("prior", "prior.csv" if "prior" in case.get("formula", "") else "")
    if prior:
        args += ["--prior", HERE / prior]
    if case.get("mapping"):
        args += ["--mapping", HERE / case["mapping"]]
    for option in ("new_school", "accept_prior"):
        for value in case.get(option, []):
            args += [f"--{option.replace('_', '-')}", value]
    return args


@pytest.mark.parametrize("command", ["validate", "allocate"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_rejected_with_a_clear_message_and_no_output(name: str, command: str, run, tmp_path: Path) -> None:
    case = CASES[name]
    out = tmp_path / "out" / "allocations.csv"
    result = run(command, *arguments(case), *(["-o", out] if command == "allocate" else []))

    assert result.exit_code == 2, result.output
    message = result.stderr
    assert "Traceback" not in message and "ok:" not in result.output
    for fragment in case["expect"]:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert not out.parent.exists() or not any(out.parent.iterdir())

"""The bad-input corpus: every one-fault file is refused with a message that names the file,
the place and the fault, exits 2, and writes nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "bad_inputs"
CASES = tomllib.loads((HERE / "cases.toml").read_text())


def test_every_fault_file_has_a_case() -> None:
    named = {Path(v).name for case in CASES.values() for k, v in case.items() if k != "expect" and v}
    on_disk = {p.name for p in (HERE / "reject").iterdir()}
    assert on_disk <= named, f"fault files without an expected outcome: {sorted(on_disk - named)}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_rejected_with_a_clear_message_and_no_output(name: str, run, tmp_path: Path) -> None:
    case = CASES[name]
    args = [HERE / case.get("formula", "formula.toml")]
    if case.get("students"):
        args += ["--students", HERE / case["students"], "--schools", HERE / "schools.csv"]
    else:
        args += ["--schools", HERE / case.get("schools", "schools.csv")]
    prior = case.get("prior", "prior.csv" if "prior" in case.get("formula", "") else "")
    if prior:
        args += ["--prior", HERE / prior]
    out = tmp_path / "out" / "allocations.csv"

    result = run("allocate", *args, "-o", out)

    assert result.exit_code == 2, result.output
    message = result.stderr
    assert "Traceback" not in message
    for fragment in case["expect"]:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert not out.parent.exists() or not any(out.parent.iterdir())

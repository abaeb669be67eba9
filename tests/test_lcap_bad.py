"""The LCAP one-fault corpus: every file in tests/lcap/bad/reject (and every bad option) is refused
by `wsf lcap tables` with a message naming the file, the row, the action and the rule or column,
exit 2, and nothing written; the clean files it varies pass."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "lcap" / "bad"
CASES = tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"))


def arguments(case: dict, out: Path) -> list:
    args = ["lcap", "tables", HERE / case["actions"], "--lea", "99999990000000", "--percentages", HERE / "percentages.csv"]
    if case.get("wsf"):
        args += ["--wsf", HERE / (case["wsf"] if isinstance(case["wsf"], str) else "school.toml"), "--schools", HERE / "schools.csv"]
    if case.get("update"):
        args += ["--update", HERE / case["update"], "--update-percentages", HERE / "current.csv"]
    if case.get("plan"):
        args += ["--plan", HERE / case["plan"]]
    return [*args, *[HERE / a if a.endswith((".csv", ".toml")) else a for a in case.get("args", [])], "--lang", "en", "-o", out]


def test_every_fault_file_has_a_case() -> None:
    named = {Path(case[k]).name for case in CASES.values() for k in ("actions", "update", "plan") if k in case}
    on_disk = {p.name for p in (HERE / "reject").iterdir()}
    assert on_disk <= named, f"fault files without an expected outcome: {sorted(on_disk - named)}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_with_the_action_and_the_rule_and_nothing_written(name: str, run, tmp_path: Path) -> None:
    case = CASES[name]
    out = tmp_path / "out" / "lcap"
    result = run(*arguments(case, out))
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert message.startswith("error: ") and "Traceback" not in message
    for fragment in case["expect"]:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_the_clean_files_pass(run, tmp_path: Path) -> None:
    case = {"actions": "clean.csv", "wsf": True, "update": "clean_update.csv", "plan": "plan.csv"}
    result = run(*arguments(case, tmp_path / "lcap"))
    assert result.exit_code == 0, result.output
    assert "planned 21.250%: meets the required 20.000%" in result.output
    # the site plans per action: S1's ELD materials by its own lcap cell (1.3); both schools' supplemental lines by the formula's tag (2.1)
    assert "action 1.3: 1 schools' site plans spend $100,000.00 on it in 1 lines" in result.output
    assert "action 2.1: 2 schools' site plans spend $470,000.00 on it in 2 lines" in result.output
    table = (tmp_path / "lcap" / "plans_by_action.csv").read_text(encoding="utf-8")
    assert table.splitlines()[1:] == ["1.3,Designated English language development,1,1,100000.00,500000.00,500000.00",
                                      "2.1,Site allocations for unduplicated pupils,2,2,470000.00,200000.00,200000.00"]

"""Bad catalogs, ledgers, drivers files and plans: every one-fault case in faults.toml is
refused by `wsf tradeoffs` with a message naming the file, the place and the fault, exit 2,
and nothing written."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

HERE = Path(__file__).parent
CASES = tomllib.loads((HERE / "faults.toml").read_text(encoding="utf-8"))


def test_every_fault_ledger_has_a_case() -> None:
    named = {case["ledger"] for case in CASES.values() if "ledger" in case}
    on_disk = {p.name for p in (HERE / "ledgers").glob("*.csv") if not p.name.startswith("ref_")} - {"clean.csv", "mapped.csv"}
    assert on_disk <= named | {"no-tables/ledger.csv"}, sorted(on_disk - named)


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_with_a_clear_message_and_nothing_written(name: str, run, tmp_path: Path) -> None:
    case = CASES[name]
    catalog = (HERE / "catalog.toml").read_text(encoding="utf-8")
    if "catalog_edit" in case:
        old, new = case["catalog_edit"]
        assert catalog.count(old) >= 1, f"{name}: {old!r} is not in catalog.toml"
        catalog = catalog.replace(old, new, 1)
    (tmp_path / "catalog.toml").write_text(catalog, encoding="utf-8")
    args = [tmp_path / "catalog.toml", "--ledger", HERE / "ledgers" / case.get("ledger", "clean.csv")]
    for option in ("drivers", "plan"):
        if option in case:
            (tmp_path / f"{option}.toml").write_text(case[option].replace("FORMULAS", str(ROOT / "formulas")), encoding="utf-8")
            args += [f"--{option}", tmp_path / f"{option}.toml"]
    out = tmp_path / "out"
    result = run("tradeoffs", *args, "-o", out)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stderr.startswith("error: ")
    for fragment in case["expect"]:
        assert fragment in result.stderr, f"{fragment!r} not in:\n{result.stderr}"
    assert not out.exists()


def test_the_clean_files_are_accepted(run, tmp_path: Path) -> None:
    """The cases above fail for their one fault: the same files without it run."""
    result = run("tradeoffs", HERE / "catalog.toml", "--ledger", HERE / "ledgers" / "clean.csv", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "2 of 3 opportunities sized" in result.output

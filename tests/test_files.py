"""Nothing lost: no command writes over one of its inputs or replaces a folder that holds one;
a table and its meta.json are a verifiable pair; an XLSX too big for Excel is refused; and a
write that fails is one line, exit 2, with nothing written.

(Runs that are killed or run at once: tests/test_interrupted.py.)
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import click
import polars as pl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT

from wsf.cli import main
from wsf.errors import WsfError
from wsf.write import files as outputs

HAYWARD = ROOT / "formulas" / "hayward" / "unduplicated-2018-19.toml"
HAYWARD_SCHOOLS = ROOT / "fixtures" / "california" / "hayward-2018-19-schools.csv"


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under a folder (hidden ones too) and its bytes: what a failed run must not change."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """The example district's files, copied where a test may point -o at them."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("schools.csv", "prior.csv", "current.csv", "staff.csv", "non_personnel.csv"):
        shutil.copy(EXAMPLE / name, folder / name)
    shutil.copy(EXAMPLE_FORMULA, folder / "formula.toml")
    return folder


def data(folder: Path) -> list:
    return [folder / "formula.toml", "--schools", folder / "schools.csv", "--prior", folder / "prior.csv"]


def refused(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


# -- 1. never an input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "output", "option"),
    [
        ("allocate", "prior.csv", "--prior"),
        ("allocate", "schools.csv", "--schools"),
        ("allocate", "schools.xlsx", "--schools"),
        ("compare", "schools.csv", "--schools"),
        ("sweep", "prior.csv", "--prior"),
        ("glide", "prior.csv", "--prior"),
        ("workbook", "schools.xlsx", "--schools"),
    ],
)
def test_no_command_writes_over_an_input(run, inputs: Path, command: str, output: str, option: str) -> None:
    pl.read_csv(inputs / "schools.csv").write_excel(inputs / "schools.xlsx")  # a district's own spreadsheet
    schools = ["--schools", inputs / output] if output == "schools.xlsx" else ["--schools", inputs / "schools.csv"]
    args = [inputs / "formula.toml", *schools, "--prior", inputs / "prior.csv"]
    args = {
        "compare": [inputs / "formula.toml", *args],
        "sweep": [*args, "--vary", "weights.english_learner.weight=0.1:0.5:3"],
    }.get(command, args)
    before = snapshot(inputs)
    result = run(command, *args, "-o", inputs / output)
    refused(result, "-o", option, "would overwrite the input")
    assert snapshot(inputs) == before


def test_a_link_to_an_input_is_the_input(run, inputs: Path, tmp_path: Path) -> None:
    (tmp_path / "soft.csv").symlink_to(inputs / "prior.csv")
    os.link(inputs / "prior.csv", tmp_path / "hard.csv")
    before = snapshot(inputs)
    for link in ("soft.csv", "hard.csv"):
        refused(run("allocate", *data(inputs), "-o", tmp_path / link), "--prior", "would overwrite the input")
    assert (tmp_path / "soft.csv").is_symlink() and snapshot(inputs) == before


def test_an_outputs_meta_json_may_not_be_an_input(run, inputs: Path) -> None:
    formula = inputs / "allocations.csv.meta.json"  # a formula file may have any name
    shutil.copy(inputs / "formula.toml", formula)
    args = [formula, "--schools", inputs / "schools.csv", "--prior", inputs / "prior.csv"]
    refused(run("allocate", *args, "-o", inputs / "allocations.csv"), "the output's .meta.json", "FORMULA")
    assert formula.read_bytes() == (inputs / "formula.toml").read_bytes() and not (inputs / "allocations.csv").exists()


def test_a_folder_output_holding_an_input_is_not_replaced(run, inputs: Path, tmp_path: Path) -> None:
    """`--schools DIR/schools.csv -o DIR`: the report's own schools.csv would replace the input."""
    folder = tmp_path / "district"
    folder.mkdir()
    shutil.copy(inputs / "schools.csv", folder / "schools.csv")
    equity = [inputs / "formula.toml", "--schools", folder / "schools.csv", "--prior", inputs / "prior.csv", "--current", inputs / "current.csv"]
    before = snapshot(folder)
    refused(run("equity", *equity, "-o", folder), "holds the --schools input", "would delete it")
    assert snapshot(folder) == before
    report = tmp_path / "report"
    assert run("equity", *data(inputs), "--current", inputs / "current.csv", "-o", report).exit_code == 0
    for option in (["--current", report / "schools.csv"], ["--spending-mapping", report / "m.toml"]):
        refused(run("equity", *data(inputs), *option, "-o", report), option[0], "would delete it")


def test_packets_are_not_written_over_their_templates(run, inputs: Path, tmp_path: Path) -> None:
    """A district keeps its templates in the packets folder of an earlier run."""
    out = tmp_path / "out"
    assert run("packets", *data(inputs), "--format", "html", "--kind", "council", "--lang", "en", "-o", out).exit_code == 0
    templates = out / "templates"
    templates.mkdir()
    (templates / "council.html").write_text("{{ packet.school.name }}", encoding="utf-8")
    for output in (out, templates):
        result = run("packets", *data(inputs), "--templates", templates, "--format", "html", "--lang", "en", "-o", output)
        refused(result, "--templates", "would delete it")
    assert (templates / "council.html").read_text(encoding="utf-8") == "{{ packet.school.name }}"


def test_every_path_option_of_every_command_is_guarded(tmp_path: Path) -> None:
    """The rule lives in the CLI's wrapper and reads each command's own parameters, so a new
    command or option is covered without a line of its own."""
    from wsf.options import guard_output

    guarded = set()
    for command in main.commands.values():
        kinds = {p.name: p.type for p in command.params if isinstance(p.type, click.Path)}
        if "output" not in kinds:
            continue
        folder_output = not kinds["output"].file_okay
        for name in kinds.keys() - {"output"}:
            path = tmp_path / "x" / "input.csv"
            ctx = click.Context(command)
            ctx.params = {"output": path.parent if folder_output else path, name: path}
            with pytest.raises(WsfError, match="-o"):
                guard_output(ctx)
            guarded.add((command.name, name))
    assert {c for c, _ in guarded} == {"allocate", "compare", "sweep", "glide", "equity", "packets", "workbook", "tradeoffs"}
    assert {n for c, n in guarded if c == "equity"} >= {"formula", "schools", "students", "mapping", "prior", "current", "staff", "non_personnel", "spending_mapping"}
    assert ("packets", "templates") in guarded


@pytest.mark.parametrize("where", [".", "..", "cwd", "ancestor", "home", "root"])
@pytest.mark.parametrize("command", ["equity", "packets"])
def test_a_folder_output_is_never_the_current_home_or_root_folder(run, inputs, tmp_path, monkeypatch, where, command) -> None:
    work, home = tmp_path / "work" / "here", tmp_path / "home"
    work.mkdir(parents=True)
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    output = {"cwd": work, "ancestor": tmp_path, "home": home, "root": Path("/")}.get(where, where)
    before = snapshot(tmp_path)
    extra = ["--current", inputs / "current.csv"] + (["--format", "html"] if command == "packets" else [])
    refused(run(command, *data(inputs), *extra, "-o", output), "-o", "replaced whole")
    assert snapshot(tmp_path) == before


def test_the_library_refuses_too(inputs: Path, tmp_path: Path) -> None:
    from wsf.api import allocate_files
    from wsf.data.spending import read_current
    from wsf.equity.analysis import analyse
    from wsf.equity.report import write_report
    from wsf.render.workbook import write_workbook

    district = tmp_path / "district"
    district.mkdir()
    shutil.copy(inputs / "schools.csv", district / "schools.csv")
    allocation = allocate_files(inputs / "formula.toml", district / "schools.csv", prior=inputs / "prior.csv")
    spending = read_current(inputs / "current.csv")
    before = snapshot(tmp_path)
    with pytest.raises(WsfError, match="would delete it"):
        write_report(analyse(allocation, spending), district)
    with pytest.raises(WsfError, match="would overwrite the input"):
        write_workbook(allocation, inputs / "formula.toml", spending)
    with pytest.raises(WsfError, match="would overwrite the input"):
        outputs.check_output(inputs / "x.csv", [("--prior", inputs / "x.csv.meta.json")])
    outputs.check_output(tmp_path / "new.csv", [("--prior", inputs / "prior.csv")])  # anywhere else is fine
    assert snapshot(tmp_path) == before


# -- 2. a table and its meta.json ---------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("command", "name", "extra"),
    [
        ("allocate", "a.parquet", []),
        ("compare", "c.csv", []),
        ("sweep", "s.xlsx", ["--vary", "weights.english_learner.weight=0.1:0.5:3"]),
        ("glide", "g.csv", []),
        ("workbook", "book.xlsx", ["--current", EXAMPLE / "current.csv"]),
    ],
)
def test_meta_json_records_its_tables_sha256(run, inputs, tmp_path, command, name, extra) -> None:
    args = [inputs / "formula.toml", *data(inputs)] if command == "compare" else data(inputs)
    out = tmp_path / "out" / name
    result = run(command, *args, *extra, "-o", out)
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_name(name + ".meta.json").read_text(encoding="utf-8"))
    assert meta["output"] == {"file": name, "sha256": sha256(out)}
    assert sorted(p.name for p in out.parent.iterdir()) == [name, name + ".meta.json"]


def test_a_blocked_meta_json_leaves_the_previous_table(run, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "allocations.csv"
    out.write_text("last year's table\n", encoding="utf-8")
    (tmp_path / "allocations.csv.meta.json").mkdir()
    before = snapshot(tmp_path)
    refused(run("allocate", *data(inputs), "-o", out), "cannot write", "allocations.csv.meta.json", "folder")
    assert snapshot(tmp_path) == before


def test_disk_full_writing_the_meta_json_leaves_the_previous_pair(run, inputs, tmp_path, monkeypatch) -> None:
    out = tmp_path / "allocations.csv"
    assert run("allocate", *data(inputs), "-o", out).exit_code == 0
    before = snapshot(tmp_path)
    real = Path.write_text

    def full(self, *args, **kwargs):
        if "meta.json" in self.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    other = [HAYWARD, "--schools", HAYWARD_SCHOOLS]
    refused(run("allocate", *other, "-o", out), "cannot write", "No space left on device", "fix: free some disk space")
    assert snapshot(tmp_path) == before


def test_a_failed_second_rename_puts_the_first_back(run, inputs, tmp_path, monkeypatch) -> None:
    """The pair's renames are undone if the second fails: the previous table and meta.json stay
    a pair (without the exchange, the first rename could not be taken back)."""
    out = tmp_path / "allocations.csv"
    assert run("allocate", *data(inputs), "-o", out).exit_code == 0
    before = snapshot(tmp_path)
    calls = []

    def failing_second(real):
        def rename(*args):
            calls.append(args)
            if len(calls) == 2:
                raise OSError(errno.EIO, os.strerror(errno.EIO), str(args[1]))
            return real(*args)

        return rename

    monkeypatch.setattr(os, "replace", failing_second(os.replace))
    try:
        from wsf.write import atomic
    except ImportError:  # before wsf.write.atomic, every rename was os.replace
        atomic = None
    if atomic is not None:
        monkeypatch.setattr(atomic, "_exchange", failing_second(atomic._exchange))
    refused(run("allocate", HAYWARD, "--schools", HAYWARD_SCHOOLS, "-o", out), "cannot write", "Input/output error")
    assert snapshot(tmp_path) == before


# -- 4. what Excel can hold ---------------------------------------------------------------------


def test_an_xlsx_over_excels_rows_is_refused_before_writing(tmp_path: Path) -> None:
    frame = pl.DataFrame({"school_id": pl.zeros(1_048_576, dtype=pl.Int32, eager=True)})  # + header: one row too many
    with pytest.raises(WsfError, match=r"1,048,577 rows.*at most 1,048,576 rows") as caught:
        outputs.write_table(frame, tmp_path / "big.xlsx", {"formula": "f"})
    assert "big.csv or big.parquet" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_an_xlsx_over_excels_columns_is_refused_before_writing(tmp_path: Path) -> None:
    frame = pl.DataFrame({f"point_{i}": [0] for i in range(16_385)})
    with pytest.raises(WsfError, match=r"16,385 columns.*16,384 columns"):
        outputs.write_table(frame, tmp_path / "wide.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_the_largest_sheet_excel_holds_is_written(run, inputs, tmp_path, monkeypatch) -> None:
    """At the limit exactly (48 schools and the header), with Excel's limit made small."""
    monkeypatch.setattr(outputs, "XLSX_ROWS", 49)
    assert run("allocate", *data(inputs), "-o", tmp_path / "a.xlsx").exit_code == 0
    monkeypatch.setattr(outputs, "XLSX_ROWS", 48)
    refused(run("allocate", *data(inputs), "-o", tmp_path / "b.xlsx"), "49 rows", "fix: write b.csv or b.parquet")
    assert not (tmp_path / "b.xlsx").exists()


def test_a_workbook_too_big_for_excel_is_refused_before_writing(run, inputs, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(outputs, "XLSX_ROWS", 50)  # 48 schools, two header rows, totals, the pot's two rows, a blank and 3 notes: 57
    refused(run("workbook", *data(inputs), "-o", tmp_path / "book.xlsx"), "Allocations sheet", "57 rows", "book.csv")
    assert list(tmp_path.iterdir()) == [inputs]


# -- 5. write errors ----------------------------------------------------------------------------


@contextmanager
def read_only(folder: Path):
    """A folder nobody may write to; for root, whom permissions do not stop, an immutable one."""
    folder.chmod(0o555)
    immutable = False
    try:
        if os.access(folder, os.W_OK):
            if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
                pytest.skip("cannot make a folder read-only for this user")
            immutable = True
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def one_line_error(result, *fragments: str) -> None:
    refused(result, *fragments)
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2 and lines[0].startswith("error: ") and all(not l.startswith("  File") for l in lines), lines


@pytest.mark.parametrize("command", ["allocate", "equity"])
def test_a_read_only_folder_is_one_line_and_nothing_written(run, inputs, tmp_path, command) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    args = [*data(inputs), "--current", inputs / "current.csv"] if command == "equity" else data(inputs)
    target = folder / ("report" if command == "equity" else "a.csv")
    with read_only(folder):
        result = run(command, *args, "-o", target)
    one_line_error(result, f"cannot write {target}", "fix: choose a folder you can write to")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_disk_full_is_one_line_and_the_previous_table_stays(run, inputs, tmp_path, monkeypatch, suffix) -> None:
    """The real writers, writing to /dev/full: each reports running out of space in its own way."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    out = tmp_path / f"allocations{suffix}"
    assert run("allocate", *data(inputs), "-o", out).exit_code == 0
    before = snapshot(tmp_path)
    name = {".csv": "_write_csv", ".parquet": "_write_parquet", ".xlsx": "_write_xlsx"}[suffix]
    real = getattr(outputs, name)
    monkeypatch.setattr(outputs, name, lambda frame, path, *rest: real(frame, Path("/dev/full"), *rest))
    result = run("allocate", HAYWARD, "--schools", HAYWARD_SCHOOLS, "-o", out)
    one_line_error(result, f"cannot write {out}: No space left on device", "fix: free some disk space")
    assert snapshot(tmp_path) == before


def test_disk_full_in_a_report_folder_names_the_file_and_keeps_the_old_folder(run, inputs, tmp_path, monkeypatch) -> None:
    report = tmp_path / "report"
    equity = [*data(inputs), "--current", inputs / "current.csv"]
    assert run("equity", *equity, "-o", report).exit_code == 0
    before = snapshot(tmp_path)
    real = outputs._write_csv
    monkeypatch.setattr(outputs, "_write_csv", lambda frame, path: real(frame, Path("/dev/full")))
    one_line_error(run("equity", *equity, "--bands", "5", "-o", report), f"cannot write {report / 'schools.csv'}: No space left")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        ("a" * 252 + ".csv", "File name too long"),  # 256 bytes
        ("a" * 243 + ".csv", "File name too long"),  # the table fits; its meta.json (257 bytes) does not
        ("in/schools.csv/a.csv", "in/schools.csv is a file, not a folder"),
        ("in/schools.csv/deeper/a.csv", "in/schools.csv is a file, not a folder"),
    ],
    ids=["name-too-long", "meta-name-too-long", "parent-is-a-file", "ancestor-is-a-file"],
)
def test_impossible_output_paths_are_one_line_and_nothing_written(run, inputs, tmp_path, monkeypatch, output, fragment) -> None:
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    one_line_error(run("allocate", *data(inputs), "-o", output), fragment)
    assert snapshot(tmp_path) == before


def test_a_file_output_that_is_a_folder_is_refused(run, inputs, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").mkdir()
    for output in (".", "a.csv"):
        result = run("allocate", *data(inputs), "-o", output)
        assert result.exit_code == 2 and "is a directory" in result.output
    with pytest.raises(WsfError, match="a.csv: it is a folder"):
        outputs.write_table(pl.DataFrame({"a": [1]}), tmp_path / "a.csv", {"formula": "f"})
    assert list((tmp_path / "a.csv").iterdir()) == []


def test_an_os_error_no_writer_caught_is_still_one_line(run, inputs, monkeypatch) -> None:
    import wsf.options

    def unreadable(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "schools.csv")

    monkeypatch.setattr(wsf.options, "allocate_files", unreadable)
    one_line_error(run("allocate", *data(inputs), "-o", inputs / "x.csv"), "error: schools.csv: Permission denied")


# -- 6. the README's promises -------------------------------------------------------------------


def test_every_promise_in_the_readme_names_tests_that_exist() -> None:
    """The table under "Nothing lost": each claim names tests, `file.py::name` or a bare name
    from the file named before it, and each is a test function in that file."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Nothing lost", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) >= 6
    for row in rows:
        file = None
        for name in re.findall(r"`([^`]+)`", row.split("|")[2]):
            file, test = name.split("::") if "::" in name else (file, name)
            source = (ROOT / "tests" / file).read_text(encoding="utf-8")
            assert re.search(rf"^def {re.escape(test)}\(", source, re.M), f"README names {file}::{test}, which is not a test"

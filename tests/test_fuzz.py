"""Random formula files and random data: wsf either succeeds or raises WsfError, the error a
user sees as one or two lines. Anything else (a traceback) is a bug."""

from __future__ import annotations

import tempfile
from pathlib import Path

from click.testing import CliRunner
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsf.api import allocate_files
from wsf.cli import main
from wsf.errors import WsfError
from wsf.formula.model import load_formula

FORMULA_LINES = (ROOT / "formulas" / "example-district.toml").read_text(encoding="utf-8").splitlines()
SCHOOLS = (ROOT / "fixtures" / "example-district" / "schools.csv").read_text(encoding="utf-8").splitlines()[:8]
PRIOR = (ROOT / "fixtures" / "example-district" / "prior.csv").read_text(encoding="utf-8")
CURRENT = (ROOT / "fixtures" / "example-district" / "current.csv").read_text(encoding="utf-8")
DISTRICT = (ROOT / "fixtures" / "example-district" / "schools.csv").read_text(encoding="utf-8").splitlines()  # every school: the priors fit
VALUES = st.sampled_from(['-1', '0', '1e400', '-0.0', 'nan', 'inf', '"x"', '""', '[1, 2]', '{}', 'true', '1_000_000_000_000_000',
                          '"K-3"', '"all"', '"13"', '"TK-12"', '0.55', '{ enrollment_below = -5 }', '"frl"', '"nope"', '[]'])
CELLS = st.sampled_from(["", "-1", "0", "1.5", "abc", "1e30", "NaN", "=1+1", "<b>", "1,000", '"', "ß", "999999999", "12", "K"])


@st.composite
def formula_texts(draw) -> str:
    lines = list(FORMULA_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["value", "drop", "duplicate", "junk"]))
        if action == "value" and "=" in lines[i]:
            lines[i] = lines[i].split("=", 1)[0] + "= " + draw(VALUES)
        elif action == "drop":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        else:
            lines.insert(i, draw(st.sampled_from(["[weights.x]", "[[base_adjustment]]", "zzz = 1", "[pot]", "=", "[base]", '"K" = 1'])))
    return "\n".join(lines) + "\n"


@st.composite
def school_texts(draw, lines: list[str] = SCHOOLS, faults: int = 5) -> str:
    rows = [line.split(",") for line in lines]
    for _ in range(draw(st.integers(1, faults))):
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(rows[0]) - 1))
        rows[r][c] = draw(CELLS)
    if draw(st.booleans()):
        rows.append(list(draw(st.sampled_from(rows[1:]))))
    return "\n".join(",".join(row) for row in rows) + "\n"


def outcome(formula: str, schools: str, raw: bytes = b"") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f, s, p = Path(tmp) / "f.toml", Path(tmp) / "s.csv", Path(tmp) / "p.csv"
        f.write_text(formula, encoding="utf-8")
        s.write_bytes(schools.encode("utf-8") + raw)
        p.write_text(PRIOR, encoding="utf-8")
        try:
            load_formula(f)
            allocate_files(f, schools=s, prior=p)
        except WsfError as error:
            assert str(error).strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formula_texts())
def test_random_formula_files_succeed_or_say_why(text: str) -> None:
    outcome(text, "\n".join(SCHOOLS) + "\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(school_texts(), st.binary(max_size=8))
def test_random_school_data_succeeds_or_says_why(text: str, raw: bytes) -> None:
    outcome("\n".join(FORMULA_LINES) + "\n", text, raw)


COMMANDS = {
    "allocate": ["-o", "{tmp}/out/a.csv"],
    "validate": [],
    "equity": ["--current", "{tmp}/c.csv", "--allow-missing", "-o", "{tmp}/out/equity"],
    "packets": ["--current", "{tmp}/c.csv", "--format", "html", "--lang", "en,es", "-o", "{tmp}/out/packets"],
    "sweep": ["--vary", "weights.poverty.weight=0.1:0.3:3", "-o", "{tmp}/out/s.csv"],
    "workbook": ["-o", "{tmp}/out/book.xlsx"],
}


def command_outcome(command: str, formula: str, schools: str) -> None:
    """A command run as a user runs it: exit 0, or exit 2 with a message and nothing written.
    Anything else, a traceback above all, fails (catch_exceptions=False)."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "f.toml").write_text(formula, encoding="utf-8")
        (Path(tmp) / "s.csv").write_text(schools, encoding="utf-8")
        (Path(tmp) / "p.csv").write_text(PRIOR, encoding="utf-8")
        (Path(tmp) / "c.csv").write_text(CURRENT, encoding="utf-8")
        args = [command, f"{tmp}/f.toml", "--schools", f"{tmp}/s.csv", "--prior", f"{tmp}/p.csv", *(a.format(tmp=tmp) for a in COMMANDS[command])]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
            assert not (Path(tmp) / "out").exists() or not any((Path(tmp) / "out").rglob("*"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(COMMANDS)), formula_texts())
def test_every_command_on_random_formula_files_succeeds_or_says_why(command: str, text: str) -> None:
    command_outcome(command, text, "\n".join(DISTRICT) + "\n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(COMMANDS)), school_texts(DISTRICT, faults=2))
def test_every_command_on_random_school_data_succeeds_or_says_why(command: str, text: str) -> None:
    command_outcome(command, "\n".join(FORMULA_LINES) + "\n", text)

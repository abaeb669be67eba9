"""Progress of long runs: a line per tenth on stderr when it is not a terminal (a log, CI), a bar on
a terminal, and nothing at all before the first files, so an error is not preceded by a bare word."""

import sys

import pytest

from wsf.options import progress


def test_a_log_gets_a_line_per_tenth(capsys):
    with progress(200, "packets") as step:
        for _ in range(200):
            step(1)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10
    assert lines[0] == "packets: 20 of 200 files (10%)" and lines[-1] == "packets: 200 of 200 files (100%)"


@pytest.mark.parametrize("terminal", [False, True])
def test_an_error_before_the_first_file_comes_alone(capsys, monkeypatch, terminal):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    with pytest.raises(RuntimeError):
        with progress(100, "packets"):
            raise RuntimeError("bad template")
    assert capsys.readouterr().err == ""


def test_a_terminal_gets_a_bar_once_files_are_done(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with progress(4, "packets") as step:
        for _ in range(4):
            step(1)
    assert "packets" in capsys.readouterr().err

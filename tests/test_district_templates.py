"""A district's `--templates` folder is trusted with nothing: its templates render in Jinja's
sandbox, only regular files inside the folder are read (templates and translations), and a
template that includes itself is an error. Each failure is a WsfError naming the file, exit 2
from the command, nothing written.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from pathlib import Path

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup
from test_packets import _french, tiny

from wsf.errors import WsfError
from wsf.i18n import load_language
from wsf.packets import SHIPPED, Sandbox, write_packets

ESCAPES = [
    # (template text, what the sandbox names as refused)
    ("{{ cycler.__init__.__globals__.os.popen('touch RAN').read() }}", "__init__"),
    ("{{ lipsum.__globals__['os'].popen('touch RAN').read() }}", "__globals__"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__class__"),
    ("{{ packet.doc.__class__ }}", "__class__"),
    ("{% set rows = [] %}{{ rows.append(1) }}", "append"),
]


def district(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "district-templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def refused(tmp_path: Path, templates: Path, match: str, kinds=("principal",)) -> WsfError:
    """write_packets fails with a WsfError matching `match`, and nothing is written."""
    allocation = tiny(tmp_path, ["One", "Two"])
    with pytest.raises(WsfError, match=match) as caught:
        write_packets(allocation, tmp_path / "out", langs=["en"], kinds=kinds, formats=["html"], templates=templates)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*")), "the temporary folder was left behind"
    return caught.value


def error_lines(result) -> list[str]:
    """The command's error as printed, from its `error:` line (the progress bar's label comes first)."""
    lines = result.output.splitlines()
    return lines[next((i for i, line in enumerate(lines) if line.startswith("error:")), len(lines)) :]


# -- the sandbox ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, attribute", ESCAPES)
def test_a_district_template_cannot_reach_python(tmp_path: Path, monkeypatch, text: str, attribute: str) -> None:
    monkeypatch.chdir(tmp_path)
    templates = district(tmp_path, {"_masthead.html": f'<header class="masthead">\n{text}\n</header>\n'})
    error = refused(tmp_path, templates, "sandbox")
    assert error.file == "_masthead.html" and error.line == 2, str(error)
    assert attribute in error.problem and "packet" in error.fix
    assert not (tmp_path / "RAN").exists(), "the template ran a shell command"


def test_a_sandbox_refusal_is_exit_2_from_the_command(run, example_args, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    templates = district(tmp_path, {"council.html": "{{ cycler.__init__.__globals__.os.popen('touch RAN').read() }}"})
    result = run("packets", *example_args, "-o", tmp_path / "out", "--format", "html", "--templates", templates)
    lines = error_lines(result)
    assert result.exit_code == 2 and len(lines) == 2 and lines[1].startswith("  fix: "), result.output
    assert lines[0].startswith("error: council.html: line 1: refused by the template sandbox: access to attribute '__init__'")
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "RAN").exists()


def test_what_shipped_templates_use_still_works_in_the_sandbox(tmp_path: Path) -> None:
    """Loops, filters, macros, format and a district's block: the sandbox refuses internals only."""
    templates = district(
        tmp_path,
        {
            "_masthead.html": (
                "{% macro cell(v) %}<b>{{ v }}</b>{% endmacro %}"
                '<header class="masthead">{{ "%s of %d"|format(packet.school.name, 2) }}'
                "{% for word in ['a', 'b']|map('upper') %}{{ cell(word) }}{% endfor %}"
                "{{ '{}!'.format(packet.school.name) }}</header>\n"
            ),
        },
    )
    allocation = tiny(tmp_path, ["One", "Two"])
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=["principal"], formats=["html"], templates=templates)
    html = (tmp_path / "out" / "en" / "T1-One.principal.html").read_text(encoding="utf-8")
    assert '<header class="masthead">One of 2<b>A</b><b>B</b>One!</header>' in html


def test_an_error_in_a_partial_names_the_partial_and_its_line(tmp_path: Path) -> None:
    templates = district(tmp_path, {"_masthead.html": "<header>\n{{ packet.school.no_such_field }}\n</header>\n"})
    error = refused(tmp_path, templates, "no_such_field")
    assert error.file == "_masthead.html" and error.line == 2, str(error)


def test_the_sandbox_remembers_jinjas_own_answers() -> None:
    """`Sandbox` keeps Jinja's answer per type and attribute name: the same answers, asked twice."""

    def generator():
        yield 1

    class Proxy:  # says it is a list: Jinja asks isinstance, which believes __class__
        __class__ = property(lambda self: list)

        def append(self, value) -> None: ...

    frame = sys._getframe()
    objects = [[], {}, set(), deque(), (1,), "text", Markup("<b>"), str, len, generator, generator(), frame, frame.f_code]
    objects += [Proxy(), WsfError("x"), SHIPPED]
    names = ["append", "update", "add", "pop", "clear", "mro", "gi_frame", "gi_code", "f_globals", "co_code", "upper"]
    names += ["format", "items", "name", "problem", "_private", "__class__", "__globals__", "__init__"]
    ours, jinjas = Sandbox(), ImmutableSandboxedEnvironment()
    for _ in range(2):
        for obj in objects:
            for name in names:
                assert ours.is_safe_attribute(obj, name, None) == jinjas.is_safe_attribute(obj, name, None), (obj, name)
    assert not ours.is_safe_attribute(Proxy(), "append", None) and ours.is_safe_attribute(object(), "append", None)


# -- only regular files inside the folder -----------------------------------------------------------


def test_a_template_linked_to_a_file_elsewhere_is_not_read(tmp_path: Path) -> None:
    templates = district(tmp_path, {})
    (templates / "principal.html").symlink_to("/etc/passwd")
    error = refused(tmp_path, templates, "outside the templates folder")
    assert error.file == "principal.html" and "/etc/passwd" in error.problem


def test_a_template_linked_up_and_out_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.html").write_text("SECRET {{ packet.school.name }}", encoding="utf-8")
    templates = district(tmp_path, {})
    (templates / "_masthead.html").symlink_to(Path("..") / "secret.html")
    error = refused(tmp_path, templates, "outside the templates folder")
    assert error.file == "_masthead.html"


def test_a_linked_subfolder_pointing_out_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "logo.html").write_text("SECRET", encoding="utf-8")
    templates = district(tmp_path, {"_masthead.html": '{% include "shared/logo.html" %}\n'})
    (templates / "shared").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    error = refused(tmp_path, templates, "outside the templates folder")
    assert error.file == "logo.html"


def test_a_folder_named_as_a_template_is_refused(tmp_path: Path) -> None:
    templates = district(tmp_path, {})
    (templates / "principal.html").mkdir()
    error = refused(tmp_path, templates, "not a regular file")
    assert error.file == "principal.html"


def test_a_link_to_another_file_inside_the_folder_is_read(tmp_path: Path) -> None:
    templates = district(tmp_path, {"mastheads/2025.html": '<header class="masthead">Tiny 2025</header>\n'})
    (templates / "_masthead.html").symlink_to(Path("mastheads") / "2025.html")
    allocation = tiny(tmp_path, ["One", "Two"])
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=["principal"], formats=["html"], templates=templates)
    assert "Tiny 2025" in (tmp_path / "out" / "en" / "T1-One.principal.html").read_text(encoding="utf-8")


def test_a_translation_linked_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    french = _french(tmp_path / "elsewhere")
    templates = district(tmp_path, {})
    (templates / "i18n").mkdir()
    (templates / "i18n" / "fr.toml").symlink_to(french / "i18n" / "fr.toml")
    with pytest.raises(WsfError, match="fr.toml: .*outside the templates folder"):
        load_language("fr", [templates, SHIPPED])


def test_a_linked_translation_folder_pointing_out_is_not_read(tmp_path: Path) -> None:
    french = _french(tmp_path / "elsewhere")
    templates = district(tmp_path, {})
    (templates / "i18n").symlink_to(french / "i18n", target_is_directory=True)
    with pytest.raises(WsfError, match="fr.toml: .*outside the templates folder"):
        load_language("fr", [templates, SHIPPED])


def test_a_refused_translation_is_exit_2_from_the_command(run, example_args, tmp_path: Path) -> None:
    templates = district(tmp_path, {})
    (templates / "i18n").mkdir()
    (templates / "i18n" / "es.toml").symlink_to("/etc/passwd")
    result = run("packets", *example_args, "-o", tmp_path / "out", "--format", "html", "--templates", templates)
    lines = error_lines(result)
    assert result.exit_code == 2 and len(lines) == 2 and lines[0].startswith("error: es.toml: leads to /etc/passwd"), result.output
    assert not (tmp_path / "out").exists()


def test_the_rule_refuses_devices_pipes_and_missing_files(tmp_path: Path) -> None:
    from wsf.confine import inside

    folder = district(tmp_path, {"ok.html": "ok"})
    os.mkfifo(folder / "pipe.html")
    (folder / "zero.html").symlink_to("/dev/zero")
    (folder / "dangling.html").symlink_to("nowhere.html")
    assert inside(folder, folder / "ok.html") == (folder / "ok.html").resolve()
    for name, why in [("pipe.html", "not a regular file"), ("zero.html", "outside"), ("dangling.html", "does not exist")]:
        with pytest.raises(WsfError, match=why) as caught:
            inside(folder, folder / name)
        assert caught.value.file == name


# -- templates that include themselves ----------------------------------------------------------------


def test_a_template_that_includes_itself_is_an_error(tmp_path: Path) -> None:
    templates = district(tmp_path, {"_masthead.html": '<header>\n{% include "_masthead.html" %}\n</header>\n'})
    error = refused(tmp_path, templates, "itself without end")
    assert error.problem == "includes or extends itself without end: _masthead.html → _masthead.html"
    assert error.file == "_masthead.html" and error.line == 2


def test_two_templates_that_include_each_other_are_an_error(tmp_path: Path) -> None:
    templates = district(tmp_path, {"_masthead.html": '{% include "_logo.html" %}\n', "_logo.html": '{% include "_masthead.html" %}\n'})
    error = refused(tmp_path, templates, "itself without end")
    assert error.problem == "includes or extends itself without end: _masthead.html → _logo.html → _masthead.html"
    assert error.file == "_masthead.html" and error.line == 1


def test_a_template_that_extends_itself_is_exit_2_from_the_command(run, example_args, tmp_path: Path) -> None:
    templates = district(tmp_path, {"council.html": '{% extends "council.html" %}\n'})
    result = run("packets", *example_args, "-o", tmp_path / "out", "--format", "html", "--kind", "council", "--templates", templates)
    lines = error_lines(result)
    assert result.exit_code == 2 and len(lines) == 2, result.output
    assert lines[0] == "error: council.html: line 1: includes or extends itself without end: council.html → council.html"
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()

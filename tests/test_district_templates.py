"""A district's `--templates` folder is trusted with nothing: its templates render in Jinja's
sandbox, only regular files inside the folder are read (templates and translations), a template
that includes itself is an error, and a PDF loads only data: URLs and files of the template
folders. Each failure is a WsfError naming the file, exit 2 from the command, nothing written;
a resource a PDF may not load is left out, and a warning says so.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup
from PIL import Image
from test_packets import STEM, _french, tiny

from wsf.data.tables import DataWarning
from wsf.errors import WsfError
from wsf.render.i18n import load_language
from wsf.render.packets.pages import SHIPPED, environment
from wsf.render.packets.writer import write_packets
from wsf.render.templates import Sandbox

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


def test_a_run_with_a_district_folder_sandboxes_every_template_and_one_without_none(tmp_path: Path) -> None:
    """A district's file may include ours and ours theirs: its run renders all of them sandboxed.
    The shipped templates alone render unsandboxed, and to the same HTML."""
    templates = district(tmp_path, {"note.txt": "not a template"})
    sandboxed, plain = environment(templates), environment(None)
    assert isinstance(sandboxed, Sandbox) and sandboxed.sandboxed
    assert not plain.sandboxed and not isinstance(plain, Sandbox)
    allocation = tiny(tmp_path, ["One", "Two"])
    for folder, given in (("ours", None), ("theirs", templates)):
        write_packets(allocation, tmp_path / folder, langs=["en"], kinds=["principal", "council"], formats=["html"], templates=given)
    ours = sorted((tmp_path / "ours").glob("*/*.html"))
    assert len(ours) == 4
    for file in ours:
        assert file.read_bytes() == (tmp_path / "theirs" / file.relative_to(tmp_path / "ours")).read_bytes(), file.name


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
    assert result.exit_code == 2 and len(lines) == 2, result.output
    assert lines[0].startswith("error: es.toml: leads to /etc/passwd, outside the templates folder")
    assert not (tmp_path / "out").exists()


def test_the_rule_refuses_devices_pipes_and_missing_files(tmp_path: Path) -> None:
    from wsf.render.confine import inside

    folder = district(tmp_path, {"ok.html": "ok"})
    os.mkfifo(folder / "pipe.html")
    (folder / "zero.html").symlink_to("/dev/zero")
    (folder / "dangling.html").symlink_to("nowhere.html")
    assert inside(folder, folder / "ok.html") == (folder / "ok.html").resolve()
    for name, why in [("pipe.html", "not a regular file"), ("zero.html", "outside"), ("dangling.html", "does not exist")]:
        with pytest.raises(WsfError, match=why) as caught:
            inside(folder, folder / name)
        assert caught.value.file == name


# -- building on the shipped templates: `default:NAME` --------------------------------------------------


def principal_html(tmp_path: Path, templates: Path | None, out: str) -> str:
    """School T1's principal packet, English, with `templates` (or the shipped ones alone)."""
    allocation = tiny(tmp_path, ["One", "Two"])
    write_packets(allocation, tmp_path / out, langs=["en"], kinds=["principal"], formats=["html"], templates=templates)
    return (tmp_path / out / "en" / "T1-One.principal.html").read_text(encoding="utf-8")


def test_a_district_principal_extends_the_shipped_principal_and_adds_a_block(tmp_path: Path) -> None:
    """The shipped packet, whole, plus the district's paragraph: though the district's file has the
    shipped file's name, `default:principal.html` reaches the shipped one."""
    note = '<p class="district-note">Questions: the budget office, about {{ packet.school.name }}.</p>\n'
    extends = '{% extends "default:principal.html" %}\n{% block content %}{{ super() }}' + note + "{% endblock %}\n"
    templates = district(tmp_path, {"principal.html": extends})
    ours = principal_html(tmp_path, templates, "district")
    shipped = principal_html(tmp_path, None, "shipped")
    added = '<p class="district-note">Questions: the budget office, about One.</p>\n'
    assert ours.count(added) == 1 and ours.index(added) < ours.index('<section class="provenance">')
    assert ours.replace(added, "") == shipped


def test_a_district_partial_includes_the_shipped_partial_of_its_name(tmp_path: Path) -> None:
    rule = ".masthead .kind { color: #7a0019; }\n"
    templates = district(tmp_path, {"_style.css": '{% include "default:_style.css" %}\n' + rule})
    ours = principal_html(tmp_path, templates, "district")
    shipped = principal_html(tmp_path, None, "shipped")
    assert ours.count(rule) == 1 and ours.replace(rule, "") == shipped


def test_the_documented_example_renders_the_shipped_packet_and_its_additions(tmp_path: Path) -> None:
    """docs/packets.md's example, as written there: every line of the shipped packet is kept, in order,
    and what it adds is the style rule and the paragraph."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "packets.md").read_text(encoding="utf-8")
    (example,) = [block for block in re.findall(r"```jinja\n(.*?)```", doc, re.DOTALL) if "default:principal.html" in block]
    ours = principal_html(tmp_path, district(tmp_path, {"principal.html": example}), "district").splitlines()
    shipped = principal_html(tmp_path, None, "shipped").splitlines()
    changes = [op for op in difflib.SequenceMatcher(None, shipped, ours, autojunk=False).get_opcodes() if op[0] != "equal"]
    assert changes and all(op[0] == "insert" for op in changes), changes
    added = "\n".join(line for _, _, _, start, end in changes for line in ours[start:end])
    assert "h1, h2 { color: #7a0019" in added and '<p class="district-note">' in added and "Tiny District" in added


def test_a_shipped_template_that_does_not_exist_is_an_error_naming_the_line(tmp_path: Path) -> None:
    templates = district(tmp_path, {"principal.html": '{% extends "default:nope.html" %}\n'})
    error = refused(tmp_path, templates, "no shipped template 'nope.html'")
    assert error.file == "principal.html" and error.line == 1, str(error)
    assert "default:nope.html" in error.problem and "principal.html" in error.fix and "_style.css" in error.fix


def test_a_template_no_folder_holds_is_an_error_naming_the_line(tmp_path: Path) -> None:
    templates = district(tmp_path, {"_masthead.html": '<header>\n{% include "_logo.html" %}\n</header>\n'})
    error = refused(tmp_path, templates, "no template '_logo.html' in the templates folder or the shipped templates")
    assert error.file == "_masthead.html" and error.line == 2 and "_masthead.html" in error.fix


def test_the_prefix_reaches_no_file_outside_the_shipped_folder(tmp_path: Path) -> None:
    templates = district(tmp_path, {"_masthead.html": '{% include "default:../../render/confine.py" %}\n'})
    error = refused(tmp_path, templates, "no shipped template")
    assert error.file == "_masthead.html" and error.line == 1


def test_an_unknown_shipped_template_is_exit_2_from_the_command(run, example_args, tmp_path: Path) -> None:
    templates = district(tmp_path, {"council.html": '{% extends "default:council.htm" %}\n'})
    options = ["-o", tmp_path / "out", "--format", "html", "--kind", "council", "--templates", templates]
    lines = error_lines(run("packets", *example_args, *options))
    assert lines[0].startswith("error: council.html: line 1: template error: there is no shipped template 'council.htm'"), lines
    assert len(lines) == 2 and lines[1].startswith("  fix: `default:` names a template shipped in") and "council.html" in lines[1]
    assert not (tmp_path / "out").exists()


# -- templates that include themselves ----------------------------------------------------------------


def test_a_template_that_includes_itself_is_an_error(tmp_path: Path) -> None:
    templates = district(tmp_path, {"_masthead.html": '<header>\n{% include "_masthead.html" %}\n</header>\n'})
    error = refused(tmp_path, templates, "itself without end")
    assert error.problem == "includes or extends itself without end: _masthead.html → _masthead.html"
    assert error.file == "_masthead.html" and error.line == 2


def test_two_templates_that_include_each_other_are_an_error(tmp_path: Path) -> None:
    files = {"_masthead.html": '{% include "_logo.html" %}\n', "_logo.html": '{% include "_masthead.html" %}\n'}
    templates = district(tmp_path, files)
    error = refused(tmp_path, templates, "itself without end")
    assert error.problem == "includes or extends itself without end: _masthead.html → _logo.html → _masthead.html"
    assert error.file == "_masthead.html" and error.line == 1


def test_a_template_that_extends_itself_is_exit_2_from_the_command(run, example_args, tmp_path: Path) -> None:
    templates = district(tmp_path, {"council.html": '{% extends "council.html" %}\n'})
    options = ["-o", tmp_path / "out", "--format", "html", "--kind", "council", "--templates", templates]
    result = run("packets", *example_args, *options)
    lines = error_lines(result)
    assert result.exit_code == 2 and len(lines) == 2, result.output
    assert lines[0] == "error: council.html: line 1: includes or extends itself without end: council.html → council.html"
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


# -- what a PDF may load --------------------------------------------------------------------------------


def _png(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (8, 8), colour).save(path)
    return path


def test_a_pdf_embeds_no_file_from_outside_the_template_folders(tmp_path: Path) -> None:
    """Attachments, images and CSS backgrounds from elsewhere, directly or by a link in the folder,
    and the network, are left out (and each reported once); the district's own logo is in."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET-MARKER\n", encoding="utf-8")
    red = _png(outside / "red.png", (255, 0, 0)).as_uri()
    templates = district(
        tmp_path,
        {
            "_masthead.html": (
                '<header class="masthead">\n'
                '<link rel="attachment" href="file:///etc/passwd">\n'
                f'<link rel="attachment" href="{(outside / "secret.txt").as_uri()}">\n'
                '<link rel="attachment" href="secret-link.txt">\n'
                f'<img src="{red}"><img src="red-link.png"><img src="logo.png"><img src="http://127.0.0.1:9/x.png">\n'
                f'<div style="height: 4px; background: url({red})"></div>\n'
                "</header>\n"
            )
        },
    )
    _png(templates / "logo.png", (0, 0, 255))
    (templates / "secret-link.txt").symlink_to(outside / "secret.txt")
    (templates / "red-link.png").symlink_to(outside / "red.png")
    allocation = tiny(tmp_path, ["One", "Two"])  # two PDFs: the second is a worker process's
    with pytest.warns(DataWarning) as caught:
        write_packets(allocation, tmp_path / "out", langs=["en"], kinds=["council"], formats=["pdf"], templates=templates)
    for pdf in sorted((tmp_path / "out" / "en").glob("*.pdf")):
        listed = subprocess.run(["pdfdetach", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert listed.startswith("0 embedded files"), listed
        assert b"SECRET-MARKER" not in pdf.read_bytes() and b"root:" not in pdf.read_bytes()
        subprocess.run(["pdfimages", "-png", str(pdf), str(tmp_path / pdf.stem)], check=True)
        images = sorted(tmp_path.glob(f"{pdf.stem}-*.png"))
        assert [Image.open(p).convert("RGB").getpixel((0, 0)) for p in images] == [(0, 0, 255)], pdf.name
    messages = sorted(str(w.message) for w in caught if issubclass(w.category, DataWarning))
    for url in ("file:///etc/passwd", "secret-link.txt", "red-link.png", red, "http://127.0.0.1:9/x.png"):
        assert sum(url in m.splitlines()[0] for m in messages) == 1, (url, messages)
    assert all(m.startswith("en/T1-One.council.pdf and 1 other PDF: did not load ") for m in messages), messages
    assert not any("/logo.png" in m.splitlines()[0] for m in messages)


def test_the_pdf_rule_by_url(tmp_path: Path) -> None:
    from wsf.render.pdf import refusal

    folder = district(tmp_path, {"logo.svg": "<svg/>", "fonts/a.woff2": "x"})
    (tmp_path / "other.png").write_bytes(b"x")
    (folder / "out.png").symlink_to(tmp_path / "other.png")
    (folder / "in.svg").symlink_to("logo.svg")
    (folder / "up").symlink_to(tmp_path, target_is_directory=True)
    folders = (folder, SHIPPED)
    allowed = ["data:image/png;base64,iVBORw0KGgo=", (folder / "logo.svg").as_uri(), (folder / "in.svg").as_uri()]
    allowed += [(folder / "fonts" / "a.woff2").as_uri() + "?v=2#x", (SHIPPED / "_style.css").as_uri()]
    for url in allowed:
        assert refusal(url, folders) is None, url
    refused_urls = {
        "file:///etc/passwd": "outside",
        (folder / "out.png").as_uri(): "outside",
        (folder / "up" / "other.png").as_uri(): "outside",
        (folder / "missing.png").as_uri(): "does not exist",
        (folder / "fonts").as_uri(): "not a regular file",
        "file://elsewhere.example/etc/passwd": "another computer",
        "http://example.org/logo.png": "network",
        "https://example.org/logo.png": "network",
        "ftp://example.org/logo.png": "network",
    }
    for url, why in refused_urls.items():
        assert why in (refusal(url, folders) or ""), url


def test_a_refused_resource_is_a_warning_from_the_command(run, example_args, tmp_path: Path) -> None:
    templates = district(tmp_path, {"_masthead.html": '<link rel="attachment" href="file:///etc/passwd">\n'})
    out = tmp_path / "out"
    result = run(
        "packets", *example_args, "-o", out, "--lang", "en", "--kind", "council", "--school", "EX104", "--templates", templates
    )
    assert result.exit_code == 0, result.output
    assert f"warning: en/{STEM}.council.pdf: did not load file:///etc/passwd: it is outside the templates folder" in result.output
    listed = subprocess.run(["pdfdetach", "-list", str(out / "en" / f"{STEM}.council.pdf")], capture_output=True, text=True)
    assert listed.stdout.startswith("0 embedded files"), listed.stdout

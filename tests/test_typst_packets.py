"""The principal's and council's PDFs by Typst (`wsf.render.typeset`): the same money as the HTML
packet, the same bytes on every run and in a fresh process with another home, clock zone and
locale, a school's name as text whatever it holds, a district's `.typ` templates that replace the
shipped ones but read nothing outside their folder, and a district's HTML templates that keep
WeasyPrint for the kinds they change.

The SHA-256 of the example school's four PDFs is golden (`tests/golden/EX104.pdf.sha256`): a PDF
depends on nothing but the repository and the pinned `typst` package, so another machine gives the
same bytes. Regenerate after an intended change with `WSF_REGENERATE_GOLDEN=1`.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT
from test_district_templates import district
from test_packets import GOLDEN, REGENERATE, SCHOOL, STEM, tiny

import wsf.render.packets.workers
from wsf.api import allocate_files
from wsf.data.spending import read_current
from wsf.engine.explain import explain
from wsf.errors import WsfError
from wsf.render.packets.writer import write_packets
from wsf.render.typeset import SHIPPED, Root, Typesetter, engine

KINDS = ("principal", "council")
MONEY = re.compile(r"[−+-]?\$\s?[\d,.]*\d")
HOSTILE = '#import "/etc/passwd": * $x^2$ *bold* ] [ \\ #read("/etc/passwd") `raw` <lbl> @ref'


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def info(path: Path) -> str:
    return subprocess.run(["pdfinfo", "-isodates", str(path)], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    """EX104's principal and council packets, English and Spanish, as HTML and PDF."""
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    spending = read_current(EXAMPLE / "current.csv")
    out = tmp_path_factory.mktemp("typst") / "out"
    write_packets(allocation, out, spending=spending, langs=["en", "es"], kinds=KINDS, formats=["html", "pdf"], schools=[SCHOOL])
    return out


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_pdf_shows_the_html_packets_money(example: Path, lang: str, kind: str) -> None:
    """One source of truth: every amount the HTML shows, and no other, is in the PDF's text."""
    page = (example / lang / f"{STEM}.{kind}.html").read_text(encoding="utf-8")
    visible = re.sub(r"<title>.*?</title>", " ", page, flags=re.S)  # the SVG tooltips repeat the legend
    visible = html_lib.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", " ", visible, flags=re.S)))
    pdf = example / lang / f"{STEM}.{kind}.pdf"
    assert "Typst" in info(pdf)
    assert set(MONEY.findall(pdf_text(pdf))) == set(MONEY.findall(visible))
    lines = re.findall(r'<td class="num( amount)?">([^<]*)</td>', page)
    assert lines and all(amount in pdf_text(pdf) for _, amount in lines)


def test_spanish_letters_and_signs_are_drawn_from_the_shipped_fonts(example: Path) -> None:
    pdf = example / "es" / f"{STEM}.principal.pdf"
    text = pdf_text(pdf)
    for word in ("Página 1 de", "Asignación", "año", "matrícula", "344 − 268.95", "+$"):  # U+2212, the minus sign
        assert word in text, word
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    names = {line.split()[0].split("+")[-1] for line in fonts.splitlines()[2:]}
    assert names <= {"LiberationSans", "LiberationSans-Bold", "LiberationSans-Italic", "LiberationMono"}, names
    assert all(" yes yes yes " in line for line in fonts.splitlines()[2:])  # embedded, subset, with a Unicode map


def test_the_pdfs_are_the_golden_bytes_in_a_fresh_process(example: Path, tmp_path: Path) -> None:
    """Another process, home, cache, clock zone, locale and working folder, and no fontconfig:
    the same bytes, and those of the golden hashes."""
    out = tmp_path / "again"
    code = (
        "from wsf.api import allocate_files\nfrom wsf.data.spending import read_current\n"
        "from wsf.render.packets.writer import write_packets\n"
        f"a = allocate_files({str(EXAMPLE_FORMULA)!r}, {str(EXAMPLE / 'schools.csv')!r}, prior={str(EXAMPLE / 'prior.csv')!r})\n"
        f"write_packets(a, {str(out)!r}, spending=read_current({str(EXAMPLE / 'current.csv')!r}), langs=['en', 'es'],"
        f" kinds={list(KINDS)!r}, formats=['pdf'], schools=[{SCHOOL!r}])\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "TZ": "Pacific/Kiritimati",
        "LANG": "C",
        "LC_ALL": "C",
        "FONTCONFIG_FILE": "/dev/null",
    }
    subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True, capture_output=True)
    hashes = []
    for lang in ("en", "es"):
        for kind in KINDS:
            name = f"{lang}/{STEM}.{kind}.pdf"
            assert (out / name).read_bytes() == (example / name).read_bytes(), name
            hashes.append(f"{hashlib.sha256((out / name).read_bytes()).hexdigest()}  {name}\n")
    golden = GOLDEN / f"{SCHOOL}.pdf.sha256"
    if REGENERATE or not golden.exists():
        golden.write_text("".join(hashes), encoding="utf-8", newline="\n")
        if not REGENERATE:
            pytest.fail(f"wrote the missing golden file {golden.name}; check it and commit it")
    assert "".join(hashes) == golden.read_text(encoding="utf-8"), "the PDFs' bytes changed: regenerate if intended"
    dates = info(out / "en" / f"{STEM}.principal.pdf")
    assert "CreationDate:    2000-01-01T00:00:00Z" in dates and "ModDate:         2000-01-01T00:00:00Z" in dates


def test_a_school_name_is_text_whatever_it_holds(tmp_path: Path) -> None:
    allocation = tiny(tmp_path, [HOSTILE, "Two"])
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=KINDS, formats=["pdf"])
    pdfs = sorted((tmp_path / "out" / "en").glob("T1-*.pdf"))
    assert len(pdfs) == 2
    for pdf in pdfs:
        text = " ".join(pdf_text(pdf).split())
        assert HOSTILE in text, pdf.name
        assert "root:" not in text and b"root:x:" not in pdf.read_bytes()


def test_a_district_typ_replaces_the_shipped_one_and_builds_on_it(tmp_path: Path) -> None:
    templates = district(
        tmp_path,
        {
            "council.typ": (
                '#import "default/_packet.typ": *\n#show: layout\n= #packet.heading\n'
                "District note: ask the budget office. #rich(packet.lead)\n"
            ),
            "_packet.typ": '#import "default/_packet.typ": *\n#let rich(parts) = [CHANGED] + parts.join()\n',
        },
    )
    allocation = tiny(tmp_path, ["One", "Two"])
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=KINDS, formats=["pdf"], templates=templates)
    council = " ".join(pdf_text(tmp_path / "out" / "en" / "T1-One.council.pdf").split())
    total = f"${explain(allocation, 'T1').total_cents // 100:,}"
    assert "District note: ask the budget office." in council and total in council and "CHANGED" not in council
    principal = pdf_text(tmp_path / "out" / "en" / "T1-One.principal.pdf")  # the shipped principal.typ, the district's _packet.typ
    assert "CHANGED" in principal and "Typst" in info(tmp_path / "out" / "en" / "T1-One.principal.pdf")


def test_a_district_typ_that_reads_the_packet_from_sys_inputs_still_gets_it(tmp_path: Path) -> None:
    """Older copies of `_packet.typ` read `json(bytes(sys.inputs.packet))`; the shipped one reads
    the file `sys.inputs.packet_file` names. Both are given to such a district's templates."""
    templates = district(
        tmp_path,
        {
            "council.typ": (
                "#let old = json(bytes(sys.inputs.packet))\n#let new = json(sys.inputs.packet_file)\n"
                "OLD #old.school.name NEW #new.school.name\n"
            )
        },
    )
    allocation = tiny(tmp_path, ["One", "Two"])
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=KINDS, formats=["pdf"], templates=templates)
    for stem, name in (("T1-One", "One"), ("T2-Two", "Two")):
        assert f"OLD {name} NEW {name}" in " ".join(pdf_text(tmp_path / "out" / "en" / f"{stem}.council.pdf").split())


def test_only_a_district_typ_reading_sys_inputs_itself_is_given_the_packet_there(tmp_path: Path) -> None:
    """A district's copy of today's `_packet.typ` (it reads `sys.inputs.packet_file`) keeps the
    fast path; one that reads `sys.inputs` otherwise is given the packet there as well."""
    shipped = (SHIPPED / "_packet.typ").read_text(encoding="utf-8")
    for source, reads in ((shipped, False), ('#let p = sys.inputs.at("packet")\n', True)):
        (tmp_path / str(reads)).mkdir()
        templates = district(tmp_path / str(reads), {"_packet.typ": source})
        with Root(templates) as root:
            assert Typesetter(root.path, templates).reads_inputs is reads


@pytest.mark.parametrize(
    "source, problem",
    [
        ('#read("/etc/passwd")', "file not found"),
        ('#read("../../../../../../etc/passwd")', "escape the project root"),
        ('#read("passwd-link")', "file not found"),
        ('#import "/etc/passwd": *', "file not found"),
        ("#let x = (1 +", "Typst template error"),
    ],
)
def test_a_district_typ_reads_nothing_outside_its_folder(run, example_args, tmp_path: Path, source: str, problem: str) -> None:
    templates = district(tmp_path, {"principal.typ": f'#import "_packet.typ": *\n#show: layout\n{source}\n'})
    (templates / "passwd-link").symlink_to("/etc/passwd")
    allocation = tiny(tmp_path, ["One"])
    with pytest.raises(WsfError, match="Typst template error") as caught:
        write_packets(allocation, tmp_path / "out", langs=["en"], kinds=["principal"], formats=["pdf"], templates=templates)
    assert problem in str(caught.value) and caught.value.file == "principal.typ"
    assert not (tmp_path / "out").exists()
    result = run("packets", *example_args, "-o", tmp_path / "cli", "--kind", "principal", "--school", "EX104", "--templates", templates)
    assert result.exit_code == 2 and "error: principal.typ: line 3: Typst template error" in result.output, result.output
    assert "Traceback" not in result.output and "root:" not in result.output


def test_a_district_that_changes_only_html_keeps_weasyprint_for_those_kinds(tmp_path: Path) -> None:
    """The contract of docs/packets.md: a district's HTML templates are what its PDFs show."""
    masthead = district(tmp_path, {"_masthead.html": '<header class="masthead">DISTRICT-MARKER</header>\n'})
    assert engine("principal", masthead) == engine("council", masthead) == "weasyprint"
    assert engine("district", None) == "weasyprint" and engine("principal", None) == "typst"
    allocation = tiny(tmp_path, ["One"])
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=KINDS, formats=["pdf"], templates=masthead)
    for kind in KINDS:
        pdf = tmp_path / "out" / "en" / f"T1-One.{kind}.pdf"
        assert "WeasyPrint" in info(pdf) and "DISTRICT-MARKER" in pdf_text(pdf)
    (tmp_path / "c").mkdir()
    (tmp_path / "t").mkdir()
    council_only = district(tmp_path / "c", {"council.html": '{% extends "default:council.html" %}'})
    assert engine("council", council_only) == "weasyprint" and engine("principal", council_only) == "typst"
    with_typ = district(tmp_path / "t", {"_masthead.html": "<header>x</header>", "_packet.typ": '#import "default/_packet.typ": *'})
    assert engine("principal", with_typ) == "typst"


def test_pdfs_written_by_a_worker_process_are_the_same_bytes(example: Path, tmp_path: Path, monkeypatch) -> None:
    """A worker is worth starting for `PARALLEL_TYPST` Typst PDFs; what it writes is what this process
    writes. All 48 schools, one a job: the worker, from the front, has EX104's before this process
    reaches them from the back."""
    monkeypatch.setattr(wsf.render.packets.workers, "PARALLEL_TYPST", 1)
    monkeypatch.setattr(wsf.render.packets.workers, "TYPST_SLICE", 1)
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    out = tmp_path / "parallel"
    spending = read_current(EXAMPLE / "current.csv")
    write_packets(allocation, out, spending=spending, langs=["en", "es"], kinds=KINDS, formats=["pdf"])
    assert len(list(out.rglob("*.pdf"))) == 4 * allocation.cents.height
    for name in sorted(p.relative_to(example) for p in example.rglob("*.pdf")):
        assert (out / name).read_bytes() == (example / name).read_bytes(), name


def test_a_link_in_the_templates_folder_is_not_followed(tmp_path: Path) -> None:
    """A link to a folder (here the whole machine) is neither searched nor lent to Typst; a link
    to a file outside is left out, one to a file inside is lent."""
    templates = district(
        tmp_path, {"_packet.typ": '#import "default/_packet.typ": *\n#let rich(parts) = [#read("note.txt")] + parts.join()\n', "note.txt": "NOTE"}
    )
    (templates / "everything").symlink_to("/", target_is_directory=True)
    (templates / "inside.txt").symlink_to(templates / "note.txt")
    allocation = tiny(tmp_path, ["One"])
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=["council"], formats=["pdf"], templates=templates)
    assert "NOTE" in pdf_text(tmp_path / "out" / "en" / "T1-One.council.pdf")

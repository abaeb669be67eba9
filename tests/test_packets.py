"""Budget packets: golden HTML for one school, PDFs that render and say the school's total,
escaping, safe file names, languages added by a translation file alone, atomic output.

Regenerate the golden files after an intended change with
`WSF_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_packets.py`, and read the diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

import wsf.render.packets.workers
from wsf.api import allocate_files
from wsf.data.spending import read_current
from wsf.engine.explain import by_school, explain
from wsf.errors import WsfError
from wsf.render.i18n import load_language
from wsf.render.packets.context import SIMILAR, median_cents, nearest, prepare, similar_schools
from wsf.render.packets.pages import SHIPPED
from wsf.render.packets.writer import write_packets
from wsf.render.text import money

GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("WSF_REGENERATE_GOLDEN") == "1"
SCHOOL = "EX104"
STEM = "EX104-Sojourner-Truth-Elementary"
TINY_FORMULA = """
[formula]
id = "tiny"
title = "Tiny District"
fiscal_year = "2025-26"
source = "Tiny board resolution (test)"

[base]
all = 5000

[weights.poverty]
label = "Students from low-income families"
count = "frl"
weight = 0.25

[foundations.office]
label = "School office"
amount = 100000
"""
HOSTILE = [
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x")',
    "../../evil",
    "a/b\\c",
    "+1 School",
    "-2 School",
    "@home School",
    "..",
]


@pytest.fixture(scope="module")
def example():
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    return allocation, read_current(EXAMPLE / "current.csv")


@pytest.fixture(scope="module")
def example_html(example, tmp_path_factory) -> Path:
    allocation, spending = example
    out = tmp_path_factory.mktemp("packets") / "html"
    write_packets(allocation, out, spending=spending, langs=["en", "es"], formats=["html"])
    return out


@pytest.fixture(scope="module")
def example_pdf(example, tmp_path_factory) -> Path:
    allocation, spending = example
    out = tmp_path_factory.mktemp("packets") / "pdf"
    write_packets(allocation, out, spending=spending, langs=["en", "es"], kinds=["principal"], formats=["pdf"], schools=[SCHOOL])
    return out


def tiny(tmp_path: Path, names: list[str]) -> object:
    formula = tmp_path / "tiny.toml"
    formula.write_text(TINY_FORMULA, encoding="utf-8")
    rows = [
        {"school_id": f"T{i}", "name": name, "level": "elementary", "enrollment": 100 + 10 * i, "frl": 20 + 5 * i}
        for i, name in enumerate(names, 1)
    ]
    schools = write_csv(tmp_path / "schools.csv", rows)
    return allocate_files(formula, schools)


# -- golden files -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("kind", ["principal", "council", "district"])
def test_html_matches_the_golden_file(example_html: Path, lang: str, kind: str) -> None:
    name = "district.district.html" if kind == "district" else f"{STEM}.{kind}.html"
    produced = (example_html / lang / name).read_text(encoding="utf-8")
    golden = GOLDEN / f"{'district' if kind == 'district' else SCHOOL}.{kind}.{lang}.html"
    if REGENERATE or not golden.exists():
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(produced, encoding="utf-8", newline="\n")
        if not REGENERATE:
            pytest.fail(f"wrote the missing golden file {golden.name}; check it and commit it")
    assert produced == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs; if intended, rerun with WSF_REGENERATE_GOLDEN=1"
    )


def test_principal_packet_shows_every_line_as_count_times_rate(example, example_html: Path) -> None:
    allocation, _ = example
    html = (example_html / "en" / f"{STEM}.principal.html").read_text(encoding="utf-8")
    ex = explain(allocation, SCHOOL)
    for line in ex.lines:
        assert f'id="line-{line.key}"' in html
        assert money(line.amount / 100) in html
        if line.source:
            assert line.source.replace("'", "&#39;") in html
    assert money(ex.total_cents / 100) in html
    assert allocation.formula.sha256 in html and allocation.formula.model.formula.id in html
    for table in allocation.sources:
        assert table.sha256 in html
    for heading in (
        "Transition from last year",
        "Compared with current spending",
        "Compared with similar schools",
        "counter(pages)",
    ):
        assert heading in html


def test_council_packet_is_plain_and_translated(example, example_html: Path) -> None:
    allocation, _ = example
    total = explain(allocation, SCHOOL).total_cents
    en = (example_html / "en" / f"{STEM}.council.html").read_text(encoding="utf-8")
    es = (example_html / "es" / f"{STEM}.council.html").read_text(encoding="utf-8")
    dollars = f"${round(total / 100):,}"
    assert f"Your school receives <strong>{dollars}</strong> for its <strong>489</strong> students. Here is why." in en
    assert f"Su escuela recibe <strong>{dollars}</strong> para sus <strong>489</strong> estudiantes." in es
    # the formula's labels come from the formula: its `labels.es` where it gives one; headings are translated
    assert "Estudiantes de familias de bajos ingresos" in es and "Students from low-income families" not in es
    assert "Students from low-income families" in en and "De dónde viene el dinero" in es
    assert 'lang="es-US"' in es and "Página" in es


def test_district_packet_has_totals_equity_and_movers(example_html: Path) -> None:
    html = (example_html / "en" / "district.district.html").read_text(encoding="utf-8")
    assert "$244,500,000" in html
    for heading in (
        "What the money is for",
        "Is the formula fairer than today",
        "Largest gains",
        "Largest losses",
        "Coefficient of variation",
    ):
        assert heading in html


def test_district_packet_without_current_spending_has_no_equity(tmp_path: Path) -> None:
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=["district"], formats=["html"])
    html = (tmp_path / "out" / "en" / "district.district.html").read_text(encoding="utf-8")
    assert "Is the formula fairer" not in html and "Largest changes from last year" in html


# -- PDF ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, page_word", [("en", "Page 1 of"), ("es", "Página 1 de")])
def test_pdf_renders_and_states_the_total(example, example_pdf: Path, tmp_path: Path, lang: str, page_word: str) -> None:
    allocation, _ = example
    pdf = example_pdf / lang / f"{STEM}.principal.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert money(explain(allocation, SCHOOL).total_cents / 100) in text
    assert "Sojourner Truth Elementary" in text and page_word in text
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert 2 <= len(pages) <= 4, f"{len(pages)} pages"
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 2000 for p in pages)


def test_pdf_is_byte_identical_on_rerun(example, example_pdf: Path, tmp_path: Path) -> None:
    allocation, spending = example
    write_packets(
        allocation, tmp_path / "again", spending=spending, langs=["en"], kinds=["principal"], formats=["pdf"], schools=[SCHOOL]
    )
    first = (example_pdf / "en" / f"{STEM}.principal.pdf").read_bytes()
    assert first == (tmp_path / "again" / "en" / f"{STEM}.principal.pdf").read_bytes()
    info = subprocess.run(
        ["pdfinfo", "-isodates", str(example_pdf / "en" / f"{STEM}.principal.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert "CreationDate:    2000-01-01T00:00:00Z" in info and "ModDate:         2000-01-01T00:00:00Z" in info
    assert "Title:           Sojourner Truth Elementary" in info


def test_html_is_byte_identical_on_rerun(example, example_html: Path, tmp_path: Path) -> None:
    allocation, spending = example
    write_packets(allocation, tmp_path / "again", spending=spending, langs=["en", "es"], formats=["html"])
    for path in sorted(example_html.rglob("*.html")) + [example_html / "packets.json"]:
        assert path.read_bytes() == (tmp_path / "again" / path.relative_to(example_html)).read_bytes(), path.name


# -- hostile names ------------------------------------------------------------------------


def test_a_script_in_a_school_name_is_text(tmp_path: Path) -> None:
    allocation = tiny(tmp_path, HOSTILE)
    write_packets(allocation, tmp_path / "out", langs=["en", "es"], formats=["html"])
    for path in (tmp_path / "out").rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert "<script" not in html, path.name
    principal = next((tmp_path / "out" / "en").glob("T1-*.principal.html")).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in principal


def test_names_cannot_leave_the_output_folder(tmp_path: Path) -> None:
    allocation = tiny(tmp_path, HOSTILE)
    out = tmp_path / "nested" / "out"
    written = write_packets(allocation, out, langs=["en"], formats=["html"])
    assert len(written) == 2 * len(HOSTILE) + 1
    for path in written:
        assert path.resolve().parent == (out / "en").resolve(), path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nested", "schools.csv", "tiny.toml"]
    assert sorted(p.name for p in (tmp_path / "nested").iterdir()) == ["out"]


def test_two_schools_with_one_file_name_are_refused(tmp_path: Path) -> None:
    formula = tmp_path / "tiny.toml"
    formula.write_text(TINY_FORMULA, encoding="utf-8")
    rows = [
        {"school_id": "A/B", "name": "X", "enrollment": 10, "frl": 1},
        {"school_id": "A-B", "name": "X", "enrollment": 10, "frl": 1},
    ]
    allocation = allocate_files(formula, write_csv(tmp_path / "schools.csv", rows))
    with pytest.raises(WsfError, match="same file name"):
        write_packets(allocation, tmp_path / "out", langs=["en"], formats=["html"])
    assert not (tmp_path / "out").exists()


# -- languages and district templates -------------------------------------------------------


def _french(folder: Path) -> Path:
    """A French file made from the English one: every key present, a few sentences translated."""
    text = (SHIPPED / "i18n" / "en.toml").read_text(encoding="utf-8")
    text = text.replace('name = "English"', 'name = "Français"').replace('locale = "en_US"', 'locale = "fr_FR"')
    text = text.replace(
        'lead = "Your school receives {total} for its {pupils} students. Here is why."',
        'lead = "Votre école reçoit {total} pour ses {pupils} élèves. Voici pourquoi."',
    )
    text = text.replace('page = "Page {page} of {pages}"', 'page = "Page {page} sur {pages}"')
    (folder / "i18n").mkdir(parents=True)
    (folder / "i18n" / "fr.toml").write_text(text, encoding="utf-8")
    return folder


def test_a_translation_file_alone_adds_a_language(tmp_path: Path) -> None:
    allocation = tiny(tmp_path, ["École Jules Ferry", "Lycée Voltaire"])
    templates = _french(tmp_path / "district-templates")
    write_packets(allocation, tmp_path / "out", langs=["fr"], kinds=["council"], formats=["html"], templates=templates)
    html = (tmp_path / "out" / "fr" / "T1-École-Jules-Ferry.council.html").read_text(encoding="utf-8")
    total = explain(allocation, "T1").total_cents // 100
    assert f"Votre école reçoit <strong>{total:,}".replace(",", "\u202f") in html  # French groups with a narrow space
    assert "$US" in html and 'lang="fr-FR"' in html
    assert '"Page " counter(page) " sur " counter(pages)' in html


def test_a_translation_missing_a_sentence_is_refused(tmp_path: Path) -> None:
    folder = _french(tmp_path / "t")
    path = folder / "i18n" / "fr.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('q3 = "What changes from last year, and why?"\n', ""), encoding="utf-8"
    )
    with pytest.raises(WsfError, match=r"fr\.toml: 1 sentence missing: council\.q3"):
        load_language("fr", [folder, SHIPPED])


def test_shipped_languages_have_the_same_sentences() -> None:
    en = load_language("en", [SHIPPED])
    es = load_language("es", [SHIPPED])
    assert en.locale == "en_US" and es.locale == "es_US"
    assert es.money(123456789) == "$1,234,567.89" and es.percent(0.0796, 2) == "7.96%"


def test_a_district_template_takes_precedence_and_sees_one_object(tmp_path: Path) -> None:
    allocation = tiny(tmp_path, ["One", "Two"])
    templates = tmp_path / "district-templates"
    templates.mkdir()
    (templates / "_masthead.html").write_text(
        '<header class="masthead">Tiny Unified &middot; {{ packet.school.name }}</header>\n', encoding="utf-8"
    )
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=["principal"], formats=["html"], templates=templates)
    html = (tmp_path / "out" / "en" / "T1-One.principal.html").read_text(encoding="utf-8")
    assert "Tiny Unified &middot; One" in html and "Where the money comes from" in html


def test_a_failing_run_leaves_the_earlier_folder_untouched(tmp_path: Path) -> None:
    allocation = tiny(tmp_path, ["One", "Two"])
    out = tmp_path / "out"
    write_packets(allocation, out, langs=["en"], kinds=["council"], formats=["html"])
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    templates = tmp_path / "broken"
    templates.mkdir()
    (templates / "council.html").write_text("{{ packet.no_such_field }}", encoding="utf-8")
    with pytest.raises(WsfError, match="council.html"):
        write_packets(allocation, out, langs=["en"], kinds=["council", "principal"], formats=["html"], templates=templates)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "out", "schools.csv", "tiny.toml"]


def test_a_folder_of_other_files_is_not_replaced(tmp_path: Path) -> None:
    allocation = tiny(tmp_path, ["One"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(WsfError, match="did not write"):
        write_packets(allocation, out, langs=["en"], formats=["html"])
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


# -- similar schools ----------------------------------------------------------------------------


def test_similar_schools_are_the_same_level_nearest_in_poverty(example) -> None:
    allocation, spending = example
    run = prepare(allocation, spending)
    similar = similar_schools(run, SCHOOL)
    me = run.table.filter(run.table["school_id"] == SCHOOL).row(0, named=True)
    assert similar.height == 5 and set(similar["level"]) == {me["level"]} and SCHOOL not in similar["school_id"]
    others = run.table.filter((run.table["level"] == me["level"]) & (run.table["school_id"] != SCHOOL))
    distances = sorted(abs(s - me["share"]) for s in others["share"])
    assert max(abs(s - me["share"]) for s in similar["share"]) == distances[4]
    assert median_cents([3, 1, 2]) == 2 and median_cents([1, 2, 3, 4]) == 3 and median_cents([]) is None


def similar_by_filtering(table: pl.DataFrame, school_id: str, by_poverty: bool) -> list[str]:
    """The definition, one school at a time: same level, pupils and a per-pupil amount, nearest, ties by id."""
    me = table.filter(pl.col("school_id") == school_id).row(0, named=True)
    others = table.filter((pl.col("school_id") != school_id) & (pl.col("enrollment") > 0) & pl.col("per_pupil").is_not_null())
    if me["level"] is not None:
        others = others.filter(pl.col("level") == me["level"])
    if by_poverty and me["share"] is not None:
        distance = (pl.col("share") - me["share"]).abs()
    else:
        distance = (pl.col("enrollment") - me["enrollment"]).abs().cast(pl.Float64)
    return others.with_columns(distance.alias("_d")).sort("_d", "school_id").head(SIMILAR)["school_id"].to_list()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(0, 2**32 - 1), st.booleans())
def test_similar_schools_for_all_at_once_match_the_definition(n: int, seed: int, by_poverty: bool) -> None:
    """Few distinct sizes and shares, so ties abound; some schools have no pupils, level or per-pupil amount."""
    rng = np.random.default_rng(seed)
    enrollment = rng.choice([0, 100, 200, 300, 400], n)
    frl = np.minimum(rng.choice([0, 50, 100, 150], n), enrollment)
    share = np.where(enrollment > 0, frl / np.maximum(enrollment, 1), np.nan)
    table = pl.DataFrame(
        {
            "school_id": [f"S{i:03d}" for i in range(n)],
            "level": pl.Series(rng.choice(["elementary", "high", None], n).tolist(), dtype=pl.String),
            "enrollment": enrollment,
            "share": pl.Series(share).fill_nan(None),
            "per_pupil": pl.Series(np.where(rng.random(n) < 0.1, -1, rng.integers(5_000, 9_000, n))).replace(-1, None),
        }
    )
    found = nearest(table, by_poverty)
    for i, school_id in enumerate(table["school_id"]):
        assert table["school_id"].gather(found[i]).to_list() == similar_by_filtering(table, school_id, by_poverty)


def test_explaining_from_the_allocations_rows_is_explaining_each_school(example) -> None:
    allocation, _ = example
    rows = by_school(allocation)
    for school_id in allocation.cents["school_id"]:
        assert explain(allocation, school_id, rows) == explain(allocation, school_id)


def test_packets_written_by_worker_processes_are_the_same(example, example_html: Path, tmp_path: Path, monkeypatch) -> None:
    """Many HTML packets go to a worker process too; the files are the same bytes."""
    allocation, spending = example
    monkeypatch.setattr(wsf.render.packets.workers, "PARALLEL_HTML", 1)
    monkeypatch.setattr(wsf.render.packets.workers, "SLICE", 7)
    write_packets(allocation, tmp_path / "parallel", spending=spending, langs=["en", "es"], formats=["html"])
    for path in sorted(example_html.rglob("*.html")) + [example_html / "packets.json"]:
        assert path.read_bytes() == (tmp_path / "parallel" / path.relative_to(example_html)).read_bytes(), path.name


# -- the command --------------------------------------------------------------------------------


def test_a_run_leaves_what_it_has_read_out_of_full_collections_and_gives_it_back() -> None:
    """`long_lived` freezes the objects there are (`gc.freeze`) while packets are written and
    unfreezes them after, even after an error; objects something else froze are left as they are."""
    import gc

    from wsf.render.packets.workers import long_lived

    assert gc.get_freeze_count() == 0
    with pytest.raises(ZeroDivisionError), long_lived():
        assert gc.get_freeze_count() > 0
        1 / 0
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with long_lived():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_packets_command(run, example_args, tmp_path: Path) -> None:
    out = tmp_path / "packets"
    result = run(
        "packets",
        *example_args,
        "--current",
        EXAMPLE / "current.csv",
        "-o",
        out,
        "--lang",
        "es",
        "--format",
        "html",
        "--kind",
        "council,district",
    )
    assert result.exit_code == 0, result.output
    assert "wrote 49 files" in result.output
    assert (out / "es" / f"{STEM}.council.html").is_file() and (out / "es" / "district.district.html").is_file()
    assert (out / "packets.json").is_file()
    bad = run("packets", *example_args, "-o", tmp_path / "x", "--lang", "xx", "--format", "html")
    assert bad.exit_code == 2 and "no translation file for language 'xx'" in bad.output
    assert not (tmp_path / "x").exists()
    one = run("packets", *example_args, "-o", tmp_path / "one", "--lang", "en", "--kind", "principal", "--school", SCHOOL)
    assert one.exit_code == 0, one.output
    assert sorted(p.name for p in (tmp_path / "one" / "en").iterdir()) == [f"{STEM}.principal.html", f"{STEM}.principal.pdf"]
    unknown = run("packets", *example_args, "-o", tmp_path / "y", "--school", "NOPE")
    assert unknown.exit_code == 2 and "no school with school_id 'NOPE'" in unknown.output


def test_pdf_tools_are_installed() -> None:
    for tool in ("pdftoppm", "pdftotext"):
        assert shutil.which(tool), f"{tool} is missing: install the Debian package poppler-utils"

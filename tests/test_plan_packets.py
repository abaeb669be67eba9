"""The site council's plan packet: golden HTML for one school in English and Spanish, every
school's balances as the check computed them, a PDF that renders, what a plan's own words can
hold (escaped), and the command's refusals, which write nothing.

Regenerate the golden files after an intended change with
`WSF_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_plan_packets.py`, and read the diff.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA

from wsf.api import allocate_files
from wsf.plans.check import check_plan
from wsf.plans.compare import review
from wsf.plans.read import read_plan
from wsf.render.packets.writer import write_packets
from wsf.render.text import money

GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("WSF_REGENERATE_GOLDEN") == "1"
STEM = "EX104-Sojourner-Truth-Elementary"
PLANS = Path(__file__).resolve().parent / "plans"


@pytest.fixture(scope="module")
def example():
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    checked = check_plan(allocation, read_plan(EXAMPLE / "plan.csv"))
    return allocation, review(checked, read_plan(EXAMPLE / "approved-plan.csv"), "0.10")


@pytest.fixture(scope="module")
def every_school(example, tmp_path_factory) -> Path:
    allocation, plans = example
    out = tmp_path_factory.mktemp("plans") / "html"
    write_packets(allocation, out, langs=["en", "es"], kinds=["plan"], formats=["html"], plans=plans)
    return out


def text_of(page: str) -> str:
    """The words of an HTML page, as a reader sees them."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_plan_packet_matches_the_golden_file(every_school: Path, lang: str) -> None:
    produced = (every_school / lang / f"{STEM}.plan.html").read_text(encoding="utf-8")
    golden = GOLDEN / f"EX104.plan.{lang}.html"
    if REGENERATE or not golden.exists():
        golden.write_text(produced, encoding="utf-8", newline="\n")
        if not REGENERATE:
            pytest.fail(f"wrote the missing golden file {golden.name}; check it and commit it")
    assert produced == golden.read_text(encoding="utf-8"), f"{golden.name} differs; if intended, rerun with WSF_REGENERATE_GOLDEN=1"


def test_the_packet_says_it_in_plain_english_and_spanish(every_school: Path) -> None:
    english = text_of((every_school / "en" / f"{STEM}.plan.html").read_text(encoding="utf-8"))
    spanish = text_of((every_school / "es" / f"{STEM}.plan.html").read_text(encoding="utf-8"))
    for words in ("School Plan for Student Achievement: budget for 2025-26",
                  "Sojourner Truth Elementary receives $4,283,007.72 this year for its 489 students. Its plan spends all of it, in 32 lines",
                  "Where the money comes from, and what is left", "English learners RESTRICTED", "What the money buys", "Spending by goal",
                  "May pay for: staff salaries and their benefits; books and supplies; consultants and other contracted services only (5800)",
                  "Staff the plan pays for", "Changes since the council approved the plan",
                  "4 lines have changed since the council approved the plan on file (approved-plan.csv). 2 of them move more than 10% of the funding source",
                  "Goal 2: English learners gain a year of English every year (LCAP 1.3)", "2.1 FTE × $113,584.53 a year", "Questions for the council"):
        assert words.replace("RESTRICTED", "restricted") in english or words in english, words
    for words in ("Plan Escolar para el Rendimiento Estudiantil: presupuesto de 2025-26",
                  "Sojourner Truth Elementary recibe $4,283,007.72 este año para sus 489 estudiantes", "De dónde viene el dinero y cuánto queda",
                  "Qué compra el dinero", "El gasto por meta", "Meta 2: Los estudiantes que aprenden inglés avanzan un año de inglés cada año (LCAP 1.3)",
                  "Maestros de desarrollo del idioma inglés", "Cambios desde que el consejo aprobó el plan", "necesitan un nuevo voto del consejo",
                  "Preguntas para el consejo", "Puede pagar: salarios del personal y sus prestaciones"):
        assert words in spanish, words
    assert "Left" not in spanish.replace("approved-plan", "") and "Spending by goal" not in spanish


def test_every_schools_packet_shows_the_balances_the_check_found(example, every_school: Path) -> None:
    """All 48 schools (hold harmless, gain caps, small schools, high schools): each source's received,
    planned and left as the check has them, left $0.00, and the figures' total the allocation's."""
    allocation, plans = example
    names = dict(allocation.cents.select("school_id", "name").iter_rows())
    stems = {p.name.split("-")[0]: p for p in (every_school / "en").glob("*.plan.html")}
    assert sorted(stems) == sorted(names)
    for school_id, path in stems.items():
        page = path.read_text(encoding="utf-8")
        balances = plans.check.balances.filter(pl.col("school_id") == school_id)
        rows = re.findall(r'<td class="num">([^<]*)</td><td class="num">([^<]*)</td><td class="num left">([^<]*)</td>', page)
        expected = [(money(a / 100), money(p / 100), money(r / 100)) for a, p, r in balances.select("allocated", "planned", "remaining").iter_rows()]
        total = int(allocation.cents.filter(pl.col("school_id") == school_id)["total"][0])
        assert rows == [*expected, (money(total / 100), money(total / 100), "$0.00")], school_id
        assert f'<div class="figure-value">{money(total / 100)}</div>' in page


def test_the_pdf_renders_in_both_languages(example, tmp_path: Path) -> None:
    allocation, plans = example
    out = tmp_path / "pdf"
    write_packets(allocation, out, langs=["en", "es"], kinds=["plan"], formats=["pdf"], schools=["EX104"], plans=plans)
    for lang, words in (("en", "Left unspent"), ("es", "Sin gastar")):
        pdf = out / lang / f"{STEM}.plan.pdf"
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "$4,283,007.72" in text and words.upper() in text and "approved-plan.csv" in text


def test_a_plans_own_words_are_text(tmp_path: Path) -> None:
    allocation = allocate_files(PLANS / "formula.toml", PLANS / "schools.csv")
    plan = tmp_path / "plan.csv"
    plan.write_text((PLANS / "plan.csv").read_text(encoding="utf-8").replace("Office supplies", "<script>alert(1)</script>")
                    .replace("Goal 1: Reading and math", "Goal 1: <b>Reading</b>"), encoding="utf-8")
    write_packets(allocation, tmp_path / "out", langs=["en"], kinds=["plan"], formats=["html"], plans=review(check_plan(allocation, read_plan(plan))))
    page = (tmp_path / "out" / "en" / "PA-Alder-Elementary.plan.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Reading" not in page and "Goal 1: &lt;b&gt;Reading&lt;/b&gt;" in page


def test_the_plan_packet_command(run, example_args, tmp_path: Path) -> None:
    out = tmp_path / "packets"
    result = run("packets", *example_args, "--plan", EXAMPLE / "plan.csv", "--approved", EXAMPLE / "approved-plan.csv", "--material", "$30,000",
                 "--kind", "plan", "--format", "html", "--school", "EX104", "-o", out)
    assert result.exit_code == 0, result.output
    page = text_of((out / "en" / f"{STEM}.plan.html").read_text(encoding="utf-8"))
    assert "2 of them move more than $30,000.00 and need a new vote" in page
    manifest = (out / "packets.json").read_text(encoding="utf-8")
    assert '"material": "$30,000.00"' in manifest and '"file": "approved-plan.csv"' in manifest


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--kind", "plan"], "--kind: --kind plan and --plan go together"),
    (["--plan", EXAMPLE / "plan.csv"], "--plan: --kind plan and --plan go together"),
    (["--kind", "plan", "--plan", EXAMPLE / "plan.csv", "--material", "ten"], "--material: 'ten' is not a threshold"),
    (["--kind", "plan", "--plan", "unbalanced"], "EX104 Sojourner Truth Elementary: leadership has $197,529.72 unspent"),
])
def test_the_plan_packet_is_refused_and_nothing_is_written(run, example_args, tmp_path: Path, extra: list, fragment: str) -> None:
    out = tmp_path / "packets"
    if "unbalanced" in extra:  # the example's plan without EX104's principal
        bad = tmp_path / "plan.csv"
        bad.write_text("".join(line for line in (EXAMPLE / "plan.csv").open(encoding="utf-8") if not line.startswith("EX104,principal,")), encoding="utf-8")
        extra = [bad if e == "unbalanced" else e for e in extra]
    result = run("packets", *example_args, *extra, "--format", "html", "-o", out)
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr
    assert not out.exists()


def test_a_failing_plan_leaves_the_earlier_packets_as_they_were(run, example_args, tmp_path: Path) -> None:
    out = tmp_path / "packets"
    args = ["packets", *example_args, "--kind", "plan", "--format", "html", "--school", "EX104", "-o", out]
    assert run(*args, "--plan", EXAMPLE / "plan.csv").exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = tmp_path / "plan.csv"
    shutil.copy(EXAMPLE / "plan.csv", bad)
    bad.write_text(bad.read_text(encoding="utf-8").replace("EX104,principal,1.0,,197529.72", "EX104,principal,1.0,,197529.00"), encoding="utf-8")
    result = run(*args, "--plan", bad)
    assert result.exit_code == 2
    assert re.search(r"EX104 Sojourner Truth Elementary: row \d+: principal 1 FTE is planned at \$197,529.00, but the formula costs it \$197,529.72", result.stderr)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_the_plan_packet_is_byte_identical_on_rerun(example, every_school: Path, tmp_path: Path) -> None:
    allocation, plans = example
    again = tmp_path / "again"
    write_packets(allocation, again, langs=["en"], kinds=["plan"], formats=["html"], schools=["EX104", "EX143"], plans=plans)
    for name in (f"{STEM}.plan.html", "EX143-Lincoln-High.plan.html"):
        assert (again / "en" / name).read_bytes() == (every_school / "en" / name).read_bytes()


@pytest.mark.parametrize(("lang", "allowed", "words"), [
    ("en", None, "any of the school's needs"),
    ("en", ((1000, 3999), (4000, 4999), (5800, 5800)),
     "staff salaries and their benefits; books and supplies; consultants and other contracted services only (5800)"),
    ("en", ((2000, 2999), (5800, 5899)), "classified staff; services (only 5800–5899)"),
    ("es", ((1000, 3999), (4300, 4300)), "salarios del personal y sus prestaciones; solo materiales y útiles (4300)"),
])
def test_what_restricted_money_may_buy_in_words(lang: str, allowed, words: str) -> None:
    from wsf.formula.objects import ObjectRange
    from wsf.render.i18n import load_language
    from wsf.render.packets.pages import folders
    from wsf.render.packets.plan import may_buy

    ranges = None if allowed is None else tuple(ObjectRange(*r) for r in allowed)
    assert may_buy(load_language(lang, folders(None)), ranges) == words

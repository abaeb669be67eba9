"""Every word in the reader's language, as the formula says it: Spanish packets of every shipped
formula hold no English sentence of the language files, the site council's text follows how the
formula counts, and what a formula's counts stand for comes from the formula, never a column's name."""

from __future__ import annotations

import html
import re
import tomllib
import warnings
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, ROOT, every_grade, write_csv

from wsf.api import allocate_files
from wsf.data.spending import read_current
from wsf.data.tables import DataWarning
from wsf.errors import WsfError
from wsf.render import TEMPLATES
from wsf.render.packets.writer import write_packets

LANGUAGES = TEMPLATES / "packets" / "i18n"
CASES = ROOT / "tests" / "cases"


def sentences(data: dict) -> list[str]:
    out = []
    for value in data.values():
        out += sentences(value) if isinstance(value, dict) else [value] if isinstance(value, str) else []
    return out


def english_runs() -> set[str]:
    """The runs of three or more words between placeholders of every English sentence: what a
    Spanish packet would show if it fell back to English (or es.toml kept an English copy)."""
    english = tomllib.loads((LANGUAGES / "en.toml").read_text(encoding="utf-8"))
    runs = set()
    for sentence in sentences({k: v for k, v in english.items() if k != "meta"}):
        for run in re.split(r"\{[^}]*\}", sentence):
            run = run.strip(" .,:;()—–-“”\"'")
            if len(re.findall(r"[A-Za-z]{2,}", run)) >= 3:
                runs.add(run)
    return runs


def text_of(page: str) -> str:
    page = re.sub(r"<style.*?</style>|<svg.*?</svg>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def case_schools(name: str, tmp_path: Path) -> Path:
    case = tomllib.loads((CASES / f"{name}.toml").read_text())["case"]
    return write_csv(tmp_path / f"{name}.csv", every_grade(case["schools"]))


RUNS = {  # every shipped formula, on the data it was written for
    "example-district.toml": lambda tmp: (EXAMPLE / "schools.csv", EXAMPLE / "prior.csv", None),
    "hayward/unduplicated-2018-19.toml": lambda tmp: (ROOT / "fixtures/california/hayward-2018-19-schools.csv", None, None),
    "hayward/additive-2018-19.toml": lambda tmp: (ROOT / "fixtures/california/hayward-2018-19-schools.csv", None, None),
    "lausd/bsa-2009-10-illustration.toml": lambda tmp: (ROOT / "fixtures/lausd-2009-10/wsf-schools.csv", None, None),
    "lausd/unduplicated-2018-19.toml": lambda tmp: (ROOT / "fixtures/california/lausd-2018-19-schools.csv", None, None),
    "lcff/2018-19.toml": lambda tmp: (ROOT / "fixtures/california/lcff_snapshot_2018_19_sd_charter.csv", None,
                                      ROOT / "fixtures/california/lcff-snapshot-mapping.toml"),
    "lcff/2024-25.toml": lambda tmp: (ROOT / "fixtures/california/lcff_snapshot_2018_19_sd_charter.csv", None,
                                      ROOT / "fixtures/california/lcff-snapshot-mapping.toml"),
    "real/nyc-fsf-fy2019.toml": lambda tmp: (case_schools("real_nyc_fsf_fy2019", tmp), None, None),
    "real/boston-wsf-fy2016.toml": lambda tmp: (case_schools("real_boston_wsf_fy2016", tmp), None, None),
    "real/houston-2017-18.toml": lambda tmp: (case_schools("real_houston_2017_18", tmp), None, None),
    "sfusd/wsf-2022-23.toml": lambda tmp: (ROOT / "fixtures/sfusd/wsf-2022-23-schools.csv", None, None),
    "sfusd/wsf-2022-23-transition.toml": lambda tmp: (ROOT / "fixtures/sfusd/wsf-2022-23-schools.csv", ROOT / "fixtures/sfusd/wsf-2021-22-prior.csv", None),
    "sfusd/staffing-2024-25.toml": lambda tmp: (ROOT / "fixtures/sfusd/staffing-2024-25-schools.csv", None, None),
    "sfusd/wsf-2022-23-pot.toml": lambda tmp: (ROOT / "fixtures/sfusd/wsf-2022-23-schools.csv", None, None),
}


def test_every_shipped_formula_is_in_the_list():
    """Every WSF formula; formulas/tradeoffs/ holds the tradeoffs catalog and plans, which are not formulas."""
    shipped = {str(p.relative_to(ROOT / "formulas")) for p in (ROOT / "formulas").rglob("*.toml") if p.parent.name != "tradeoffs"}
    assert shipped == set(RUNS)


@pytest.mark.filterwarnings("ignore::wsf.data.tables.DataWarning")
@pytest.mark.parametrize("formula", sorted(RUNS))
def test_a_spanish_packet_holds_no_english_sentence(formula: str, tmp_path: Path):
    schools, prior, mapping = RUNS[formula](tmp_path)
    allocation = allocate_files(ROOT / "formulas" / formula, schools=schools, prior=prior, mapping=mapping)
    ids = allocation.cents.sort("total", descending=True)["school_id"].head(2).to_list()  # schools with every line
    write_packets(allocation, tmp_path / "out", langs=["es"], kinds=["principal", "council"], formats=["html"], schools=ids)
    runs = english_runs()
    assert len(runs) > 150  # the check has teeth: the English file's sentences, not a handful
    for page in sorted((tmp_path / "out" / "es").glob("*.html")):
        text = text_of(page.read_text(encoding="utf-8"))
        found = sorted(run for run in runs if run in text)
        assert not found, f"{page.name} ({formula}) has English: {found[:5]}"


def council_why(formula: Path, schools: Path, lang: str, tmp_path: Path, **kw) -> str:
    allocation = allocate_files(formula, schools=schools, **kw)
    first = allocation.cents["school_id"][0]
    write_packets(allocation, tmp_path / lang, langs=[lang], kinds=["council"], formats=["html"], schools=[first])
    page = next((tmp_path / lang / lang).glob("*.council.html")).read_text(encoding="utf-8")
    return text_of(page.split("<h2>", 3)[2])  # the "why some students count more" section


def test_the_council_text_follows_how_the_formula_counts(tmp_path: Path):
    """"A student ... brings both amounts" only where the formula counts additively; an
    unduplicated formula says each student counts once; unfunded groups go unmentioned."""
    hayward = ROOT / "fixtures/california/hayward-2018-19-schools.csv"
    additive = council_why(ROOT / "formulas/hayward/additive-2018-19.toml", hayward, "en", tmp_path / "a")
    assert "brings both amounts" in additive and "counts once" not in additive
    assert "students with disabilities" not in additive  # the formula funds no special education weight
    once = council_why(ROOT / "formulas/hayward/unduplicated-2018-19.toml", hayward, "en", tmp_path / "u")
    assert "Each student counts once" in once and "brings both amounts" not in once
    houston = council_why(ROOT / "formulas/real/houston-2017-18.toml", case_schools("real_houston_2017_18", tmp_path), "es", tmp_path / "h")
    assert "aprendiendo inglés" in houston and "sin hogar" in houston and "bajos ingresos" not in houston
    assert "aporta las dos cantidades" not in houston


def no_poverty_role(tmp_path: Path) -> Path:
    text = EXAMPLE_FORMULA.read_text().replace('role = "poverty"\n', "")
    assert 'role = "poverty"' not in text
    path = tmp_path / "no-roles.toml"
    path.write_text(text)
    return path


def test_poverty_is_what_the_formula_says_it_is(run, tmp_path: Path):
    """Equity found poverty in a column called `frl`; now the formula names it, or the run says why not."""
    formula = no_poverty_role(tmp_path)
    args = [formula, "--schools", EXAMPLE / "schools.csv", "--prior", EXAMPLE / "prior.csv", "--current", EXAMPLE / "current.csv"]
    refused = run("equity", *args, "-o", tmp_path / "eq")
    assert refused.exit_code == 2 and "the formula does not say which count measures poverty" in refused.stderr
    assert 'role = "poverty"' in refused.stderr and not (tmp_path / "eq").exists()
    assert run("equity", *args, "--poverty", "frl", "-o", tmp_path / "eq").exit_code == 0

    allocation = allocate_files(formula, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    write_packets(allocation, tmp_path / "p", spending=read_current(EXAMPLE / "current.csv"), langs=["en"], kinds=["district"], formats=["html"])
    board = (tmp_path / "p" / "en" / "district.district.html").read_text()
    assert "the formula does not say which count measures poverty" in board


def test_a_language_the_formula_has_no_labels_for_is_named(tmp_path: Path):
    formula = tmp_path / "english-only.toml"
    formula.write_text("\n".join(line for line in (ROOT / "formulas/hayward/unduplicated-2018-19.toml").read_text().splitlines()
                                 if not line.startswith(("labels =", "titles ="))))
    allocation = allocate_files(formula, ROOT / "fixtures/california/hayward-2018-19-schools.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        write_packets(allocation, tmp_path / "p", langs=["en", "es"], kinds=["district"], formats=["html"])
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(said) == 1 and "no es labels for formula.title, supplemental, concentration, site_base, small_school, base_adjustment[0]" in said[0]


def test_a_formula_title_in_the_readers_language(tmp_path: Path):
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    write_packets(allocation, tmp_path / "p", langs=["es"], kinds=["district"], formats=["html"])
    assert "Distrito Escolar Unificado de Ejemplo" in (tmp_path / "p" / "es" / "district.district.html").read_text()


def test_roles_are_a_closed_vocabulary(tmp_path: Path):
    from wsf.formula.model import load_formula

    path = tmp_path / "f.toml"
    path.write_text(EXAMPLE_FORMULA.read_text().replace('role = "poverty"', 'role = "povrety"'))
    with pytest.raises(WsfError, match="weights.poverty.role"):
        load_formula(path)


def test_a_phrase_kept_by_its_value_reads_as_one_written_anew() -> None:
    """`wsf.render.phrases` keeps a phrase's text by its value: equal values only share a text
    (-0.0 is not 0.0, the integer 1 is not 1.0), and a kept text is the one written anew."""
    from wsf.engine.components.lines import Count, Factor, Money, Phrase, Share, Words
    from wsf.render import phrases
    from wsf.render.i18n import load_language

    assert phrases._key(Money(-0.0)) != phrases._key(Money(0.0))
    assert phrases._key(Count(1)) != phrases._key(Count(1.0)) and phrases._key(Count(True)) != phrases._key(Count(1))
    assert phrases._key(Phrase.of("base_scaled", scale=Factor(1.5, 6, True))) == phrases._key(Phrase.of("base_scaled", scale=Factor(1.5, 6, True)))
    sentence = Phrase.of("grade_run", grades="K", pupils=Count(3), rate=Money(-0.0, None), parts=Words((Phrase.of("grade_base", span="K", amount=Money(5.5)),), "list"))
    for code in ("en", "es"):
        kept, fresh = (load_language(code, [TEMPLATES / "packets"]) for _ in range(2))
        first = (phrases.say(kept, sentence), phrases.plain(kept, sentence), phrases.value_text(kept, Share(0.125, 2)))
        again = (phrases.say(kept, sentence), phrases.plain(kept, sentence), phrases.value_text(kept, Share(0.125, 2)))
        assert first == again and kept.formatted
        fresh.formatted.update({key: "kept" for key in kept.formatted})
        assert phrases.value_text(fresh, Share(0.125, 2)) == "kept"  # a second ask reads the kept text: `first == again` compared kept ones
        fresh.formatted.clear()
        assert (phrases.say(fresh, sentence), phrases.plain(fresh, sentence), phrases.value_text(fresh, Share(0.125, 2))) == first
    for i in range(phrases.KEPT + 10):
        phrases.value_text(kept, Count(i))
    assert len(kept.formatted) <= phrases.KEPT

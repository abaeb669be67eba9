"""The equity summary and its charts in the reader's language (`wsf equity --lang`).

Every word comes from the language file's `[equity]` table and every number from the
`Language`'s formats: a Spanish summary holds no English sentence, a locale that writes numbers
differently writes all of them its way, and words twice as long still fit their charts.
"""

from __future__ import annotations

import csv
import html
import json
import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from string import Formatter

import pytest

from wsf import __version__
from wsf.render.shapes import text_width

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "example-district"
FORMULA = ROOT / "formulas" / "example-district.toml"
I18N = ROOT / "wsf" / "templates" / "packets" / "i18n"
SVG = "{http://www.w3.org/2000/svg}"
DOCUMENTS = ("summary", "scatter", "bands")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write(path: Path, table: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    return path


@pytest.fixture(scope="module")
def awkward(tmp_path_factory) -> list[object]:
    """The example district from a staff roster, with every case the summary has a sentence for:
    EX101 has staff but no non-personnel row, EX102 no spending at all, EX200 (no pupils) and
    EX999 (not in the school data) non-personnel dollars but no staff."""
    folder = tmp_path_factory.mktemp("awkward")
    schools = rows(EXAMPLE / "schools.csv")
    closed = {
        k: ("0" if k.startswith(("grade_", "frl", "el", "foster", "sped", "unduplicated")) else v) for k, v in schools[0].items()
    }
    schools.append(closed | {"school_id": "EX200", "name": "Closed Campus"})
    staff = [r for r in rows(EXAMPLE / "staff.csv") if r["school_id"] != "EX102"]
    other = [r for r in rows(EXAMPLE / "non_personnel.csv") if r["school_id"] not in ("EX101", "EX102")]
    other += [{"school_id": "EX200", "non_personnel": "25000.00"}, {"school_id": "EX999", "non_personnel": "1000.00"}]
    return [
        FORMULA,
        "--schools", write(folder / "schools.csv", schools),
        "--prior", EXAMPLE / "prior.csv",
        "--staff", write(folder / "staff.csv", staff),
        "--non-personnel", write(folder / "non_personnel.csv", other),
        "--allow-missing", "--bands", "5",
    ]  # fmt: skip


TOTALS = [FORMULA, "--schools", EXAMPLE / "schools.csv", "--prior", EXAMPLE / "prior.csv", "--current", EXAMPLE / "current.csv"]


def strings(table: dict) -> list[str]:
    """Every sentence of a language file's table and its sub-tables."""
    return [s for value in table.values() for s in (strings(value) if isinstance(value, dict) else [value])]


def phrases(sentence: str) -> list[str]:
    """The literal runs of a sentence between its placeholders that are three words or more: what
    the sentence says whatever fills it."""
    runs = [literal for literal, *_ in Formatter().parse(sentence)]
    return [spaced(run) for run in runs if len(run.split()) >= 3]


def spaced(text: str) -> str:
    """Runs of spaces and line breaks as one space; no-break spaces are kept (numbers hold them)."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def visible_text(path: Path) -> str:
    """What a reader sees or hears of a document: its text, SVG text, titles and descriptions, with
    entities decoded and white space collapsed."""
    text = re.sub(r"<style>.*?</style>", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return spaced(html.unescape(re.sub(r"<[^>]+>", " ", text)))


ENGLISH = [p for s in strings(tomllib.loads((I18N / "en.toml").read_text(encoding="utf-8"))["equity"]) for p in phrases(s)]


def english_in(path: Path) -> list[str]:
    text = visible_text(path)
    return [phrase for phrase in ENGLISH if phrase in text]


@pytest.mark.parametrize("case", ["totals", "awkward"])
def test_a_spanish_summary_holds_no_english_sentence(run, tmp_path: Path, awkward, case) -> None:
    args = TOTALS if case == "totals" else awkward
    out = tmp_path / "equity"
    result = run("equity", *args, "--lang", "en,es", "-o", out)
    assert result.exit_code == 0, result.output
    assert len(ENGLISH) > 100
    for name in ("summary.es.html", "scatter.es.svg", "bands.es.svg"):
        assert english_in(out / name) == [], name
    # the same check finds the English of the English summary: it can fail
    assert len(english_in(out / "summary.html")) > (60 if case == "totals" else 70)
    spanish = visible_text(out / "summary.es.html")
    assert "¿Es más equitativa la nueva fórmula?" in spanish and "estudiantes de familias de bajos ingresos" in spanish
    if case == "awkward":
        for said in (
            "No se pudieron comparar 2 escuelas",  # EX102 and EX999
            "EX102 Franklin Elementary no tiene gasto actual",
            "EX999 no aparece en los datos de las escuelas",
            "Queda fuera de todas las cifras por estudiante porque no tiene estudiantes: EX200 (Closed Campus).",
            "2 escuelas aparecen en non_personnel.csv, pero no tienen personal en staff.csv (sin costos de personal): EX200, EX999.",
            "1 escuela tiene personal, pero no tiene fila en non_personnel.csv (se toman $0 de gastos que no son de personal): EX101.",
            "Presupuesto con salarios promedio",
            "las escuelas que faltan en un archivo se informan en lugar de rechazarse",
        ):
            assert said in spanish, said


def test_english_keeps_its_names_and_bytes_when_spanish_is_added(run, tmp_path: Path) -> None:
    alone, both = tmp_path / "en", tmp_path / "both"
    assert run("equity", *TOTALS, "-o", alone).exit_code == 0
    assert run("equity", *TOTALS, "--lang", "en,es", "-o", both).exit_code == 0
    added = {f"{d}.es.{'html' if d == 'summary' else 'svg'}" for d in DOCUMENTS}
    assert {p.name for p in both.iterdir()} == {p.name for p in alone.iterdir()} | added
    for path in alone.iterdir():
        if path.name != "meta.json":
            assert (both / path.name).read_bytes() == path.read_bytes(), path.name
    assert json.loads((alone / "meta.json").read_text())["equity"]["languages"] == ["en"]
    assert json.loads((both / "meta.json").read_text())["equity"]["languages"] == ["en", "es"]
    assert '<html lang="es-US">' in (both / "summary.es.html").read_text(encoding="utf-8")
    # a Spanish-only run replaces a folder of both: it holds only files a report writes
    assert run("equity", *TOTALS, "--lang", "es", "-o", both).exit_code == 0
    assert "summary.html" not in {p.name for p in both.iterdir()} and (both / "summary.es.html").is_file()


def test_an_unknown_language_is_an_error_and_nothing_is_written(run, tmp_path: Path) -> None:
    out = tmp_path / "equity"
    result = run("equity", *TOTALS, "--lang", "en,xx", "-o", out)
    assert result.exit_code == 2
    assert "no translation file for language 'xx'" in result.stderr and "available: en, es" in result.stderr
    assert not out.exists()


def test_every_number_is_written_as_the_locale_writes_it(run, tmp_path: Path, monkeypatch) -> None:
    """A language whose locale groups digits with a space and marks decimals with a comma
    (fr_FR) writes every amount, share and measure its way: none is formatted by hand."""
    import wsf.equity.report

    folder = tmp_path / "languages"
    (folder / "i18n").mkdir(parents=True)
    spanish = (I18N / "es.toml").read_text(encoding="utf-8")
    (folder / "i18n" / "fr.toml").write_text(spanish.replace('locale = "es_US"', 'locale = "fr_FR"'), encoding="utf-8")
    monkeypatch.setattr(wsf.equity.report, "LANGUAGES", [folder, *wsf.equity.report.LANGUAGES])
    out = tmp_path / "equity"
    result = run("equity", *TOTALS, "--lang", "fr", "-o", out)
    assert result.exit_code == 0, result.output
    for name in ("summary.fr.html", "scatter.fr.svg", "bands.fr.svg"):
        text = visible_text(out / name).replace(f"wsf {__version__}", "wsf")
        english_money = re.findall(r"\$\s?\d", text)  # $8,338 (fr_FR writes 8 338 $US)
        english_decimals = re.findall(r"\b\d+\.\d", text)  # 0.076 (fr_FR: 0,076)
        assert (english_money, english_decimals) == ([], []), name
        assert "$US" in text, name
    summary = visible_text(out / "summary.fr.html")
    assert "0,076" in summary and "8\u202f338\u00a0$US" in summary  # the CV today; the mean per pupil today
    assert "3\u202f459" in summary and "20\u00a0% a 33\u00a0%" in summary  # pupils and shares of band 1


@pytest.mark.parametrize("lang", ["en", "es"])
def test_chart_text_stays_inside_the_chart(run, tmp_path: Path, awkward, lang) -> None:
    """SVG text does not wrap: every title, subtitle, legend, label and footnote line is measured
    (DejaVu Sans, the widest font the charts name) and must end inside the chart; the y label,
    which runs upwards, inside the plot's height."""
    out = tmp_path / "equity"
    assert run("equity", *awkward, "--lang", lang, "-o", out).exit_code == 0
    for chart in ("scatter", "bands"):
        path = out / (f"{chart}.svg" if lang == "en" else f"{chart}.{lang}.svg")
        root = ET.parse(path).getroot()
        parents = {child: parent for parent in root.iter() for child in parent}

        width = float(root.get("width"))
        verticals = [line for line in root.iter(f"{SVG}line") if line.get("x1") == line.get("x2")]
        plot = max(abs(float(line.get("y2")) - float(line.get("y1"))) for line in verticals)  # the y axis
        texts = list(root.iter(f"{SVG}text"))
        assert len(texts) > 15
        for element in texts:
            text = element.text or ""
            size = float(_inherited(parents, element, "font-size", "16"))
            extent = text_width(text, size, bold=_inherited(parents, element, "font-weight", "") == "bold")
            if element.get("transform"):  # the y label
                assert extent <= plot, (path.name, text, extent, plot)
                continue
            x = float(element.get("x"))
            anchor = _inherited(parents, element, "text-anchor", "start")
            start = {"middle": x - extent / 2, "end": x - extent}.get(anchor, x)
            assert 0 <= start and start + extent <= width, (path.name, text, start, extent)


def _inherited(parents: dict, element: ET.Element | None, name: str, default: str) -> str:
    """An SVG presentation attribute of `element`, or of the nearest group around it that sets it."""
    while element is not None:
        if element.get(name) is not None:
            return element.get(name)
        element = parents.get(element)
    return default


def test_spanish_has_every_equity_sentence_with_the_same_placeholders() -> None:
    """A sentence's placeholders are filled by name: a translation that drops or renames one would
    print a blank or fail at run time, so they must match the English key for key."""
    english, spanish = (tomllib.loads((I18N / f"{code}.toml").read_text(encoding="utf-8"))["equity"] for code in ("en", "es"))

    def flat(table: dict, prefix: str = "") -> dict[str, str]:
        out = {}
        for key, value in table.items():
            out |= flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value}
        return out

    def fields(sentence: str) -> set[str]:
        return {name for _, name, _, _ in Formatter().parse(sentence) if name}

    english, spanish = flat(english), flat(spanish)
    assert english.keys() == spanish.keys()
    assert {k: fields(v) for k, v in english.items()} == {k: fields(v) for k, v in spanish.items()}
    assert not [k for k in english if english[k] == spanish[k] and len(english[k].split()) >= 3]  # translated, not copied


def test_the_equity_table_is_the_last_of_each_language_file() -> None:
    """Others add tables to these files too: [equity] was appended, so nothing after it but its own sub-tables."""
    for code in ("en", "es"):
        headers = re.findall(r"^\[([^\]]+)\]", (I18N / f"{code}.toml").read_text(encoding="utf-8"), flags=re.MULTILINE)
        tail = headers[headers.index("equity") :]
        assert all(h == "equity" or h.startswith("equity.") for h in tail), code


def test_the_spanish_summary_rendered_twice_is_the_same_bytes(run, tmp_path: Path, awkward) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert run("equity", *awkward, "--lang", "es,en", "-o", out).exit_code == 0
    for path in first.iterdir():
        assert (second / path.name).read_bytes() == path.read_bytes(), path.name

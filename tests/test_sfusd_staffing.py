"""San Francisco Unified's 2024-25 staffing allocations, reproduced: the formula's rules (fitted to
SFUSD's published per-school PDFs) allocate all 102 schools, and on the 34 schools whose published
lines are in `fixtures/sfusd/`, each line matches the published figure at least as often as the
rules the data set's README suggests, line by line (the counts are the table in
`fixtures/sfusd/README.md`)."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable

import pytest
from conftest import ROOT
from test_language import english_runs, text_of

from wsf.api import allocate_files
from wsf.errors import WsfError
from wsf.render.packets.writer import write_packets

FORMULA = ROOT / "formulas" / "sfusd" / "staffing-2024-25.toml"
SCHOOLS = ROOT / "fixtures" / "sfusd" / "staffing-2024-25-schools.csv"
PUBLISHED = ROOT / "fixtures" / "sfusd" / "staffing-2024-25-allocations-sample.csv"

# formula line: (the published column, FTE or dollars)
LINES = {
    "principal": ("principal_fte", "fte"),
    "assistant_principal": ("assistant_principal_fte", "fte"),
    "clerk": ("clerk_fte", "fte"),
    "base_teachers": ("base_classroom_teachers_fte", "fte"),
    "tk_para": ("tk_para_fte", "fte"),
    "noon_monitor": ("noon_monitor_daily_hours", "fte"),
    "site_discretionary": ("site_discretionary_non_fte", "dollars"),
    "upp_per_pupil": ("upp_per_pupil_funding", "dollars"),
    "concentration_per_pupil": ("concentration_per_pupil_funding", "dollars"),
    "peef_arts": ("peef_arts_per_pupil", "dollars"),
    "peef_libraries": ("peef_libraries_per_pupil", "dollars"),
    "peef_pe": ("peef_pe_per_pupil", "dollars"),
    "elementary_arts": ("elementary_arts_program", "dollars"),
}

# Exact matches of the formula on the 34 published schools, per line: the table in
# fixtures/sfusd/README.md. A change to the formula that moves one must update both.
MATCHED = {
    "principal": 34, "assistant_principal": 32, "clerk": 31, "base_teachers": 29, "tk_para": 34, "noon_monitor": 34,
    "site_discretionary": 34, "upp_per_pupil": 34, "concentration_per_pupil": 30, "peef_arts": 31, "peef_libraries": 34,
    "peef_pe": 31, "elementary_arts": 31,
}

NONE = ("", "not eligible")  # a line SFUSD did not print for the school, or printed as "Not eligible": none of it


def published_value(text: str) -> float | None:
    """A published cell as a number: blank or "Not eligible" is 0 (the school gets none of the line);
    "TBD" and other words are no number at all, so nothing matches them."""
    text = text.strip()
    if text.lower() in NONE:
        return 0.0
    try:
        return float(text.replace(",", "").replace("$", ""))
    except ValueError:
        return None


def published() -> list[dict[str, str]]:
    with PUBLISHED.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def half_up(x: float) -> int:
    return math.floor(round(x, 6) + 0.5)


# The rules of the data set's README (/work/shared/data/sfusd-2024-25-staffing/README.md, "Rules the
# numbers suggest"), as it writes them, on one published row; None where it gives no rule.
def readme_rules() -> dict[str, Callable[[dict], float | None]]:
    def n(row: dict) -> int:
        return int(row["projected_enrollment"])

    def upp(row: dict) -> float:
        return float(row["upp"])

    def level(row: dict) -> str:
        return row["school_level"]

    def per_pupil(rates: dict[str, int]) -> Callable[[dict], float]:
        return lambda row: rates.get(level(row), 0) * n(row)

    def site(row: dict) -> float:
        per, fixed = {"ES": (200, 5_000), "MS": (200, 5_000), "K-8": (250, 5_000), "HS": (100, 50_000)}[level(row)]
        return per * n(row) + fixed

    def upp_rule(row: dict) -> float:
        rate = 700 if level(row) == "HS" else 500 if upp(row) <= 0.55 else 750
        return half_up(upp(row) * n(row) * rate)

    def noon(row: dict) -> float:  # 71/72 in the README: the 72 elementary and K-8 schools
        return max(4, math.ceil(n(row) / 50)) if level(row) in ("ES", "K-8") else 0

    def teachers(rounding: Callable[[float], int]) -> Callable[[dict], float | None]:
        return lambda row: rounding(int(row["enrollment_capacity"]) / 24.75) if level(row) == "ES" else None

    return {
        "principal": lambda row: 1.0,
        "assistant_principal": lambda row: None,
        "clerk": lambda row: None,
        "base_teachers": teachers(lambda x: math.floor(x + 0.5)),  # "close to capacity / 24.75": the best of three roundings, below
        "base_teachers_down": teachers(math.floor),
        "base_teachers_up": teachers(math.ceil),
        "tk_para": lambda row: 0.875 * float(row["tk_teacher_fte"]),
        "noon_monitor": noon,
        "site_discretionary": site,
        "upp_per_pupil": upp_rule,
        "concentration_per_pupil": lambda row: half_up(1_000 * max(upp(row) - 0.55, 0.0) * n(row)),
        "peef_arts": per_pupil({"ES": 10, "MS": 20, "HS": 20}),
        "peef_libraries": per_pupil({"ES": 15, "K-8": 15, "MS": 15, "HS": 15}),
        "peef_pe": per_pupil({"MS": 12, "HS": 12}),
        "elementary_arts": per_pupil({"ES": 20}),
    }


def readme_matched() -> dict[str, int]:
    rows, rules = published(), readme_rules()
    counts = {}
    for key in LINES:
        column = LINES[key][0]
        variants = [k for k in rules if k == key or k.startswith(key + "_")]
        counts[key] = max(sum(rules[v](row) is not None and published_value(row[column]) == rules[v](row) for row in rows)
                          for v in variants)
    return counts


@pytest.fixture(scope="module")
def allocation():
    return allocate_files(FORMULA, schools=SCHOOLS)


def matched(allocation) -> dict[str, int]:
    table = {row["school_id"]: row for row in allocation.cents.iter_rows(named=True)}
    counts = dict.fromkeys(LINES, 0)
    for row in published():
        ours = table[row["site_code"]]
        for key, (column, kind) in LINES.items():
            value = ours[key + "_fte"] if kind == "fte" else ours[key] / 100  # the table's money is in cents
            counts[key] += published_value(row[column]) == value
    return counts


def test_every_school_once_and_the_totals_reconcile(allocation):
    with SCHOOLS.open(newline="", encoding="utf-8") as handle:
        ids = [row["school_id"] for row in csv.DictReader(handle)]
    cents = allocation.cents
    assert len(ids) == 102 == len(set(ids))
    assert sorted(cents["school_id"].to_list()) == sorted(ids)
    lines = allocation.component_keys
    for row in cents.iter_rows(named=True):
        assert sum(row[k] for k in lines) == row["total"]
        assert all(row[k] % 100 == 0 for k in [*lines, "total"])  # whole dollars, as SFUSD prints them
        assert all(row[k] == 0 for k in LINES if LINES[k][1] == "fte")  # no position is costed: FTE only
    assert cents["total"].sum() == sum(cents[k].sum() for k in lines)


def test_the_published_sample_is_34_of_the_102_schools(allocation):
    rows = published()
    assert len(rows) == 34 == len({row["site_code"] for row in rows})
    assert {row["site_code"] for row in rows} <= set(allocation.cents["school_id"].to_list())


def test_each_line_matches_at_least_as_often_as_the_readme_rules(allocation):
    ours, theirs = matched(allocation), readme_matched()
    print("\nline: matched / 34, README rule: n / 34")
    for key in LINES:
        print(f"{key}: {ours[key]} / 34, README rule: {theirs[key]} / 34")
    assert all(ours[k] >= theirs[k] for k in LINES), {k: (ours[k], theirs[k]) for k in LINES if ours[k] < theirs[k]}
    assert ours == MATCHED


def test_the_readme_rules_count_what_the_readme_says_they_count():
    """The README's rules, as the test writes them, reproduce the lines it says they reproduce (every
    published school at the levels it names), so a slip in writing them here cannot lower the bar."""
    counts = readme_matched()
    assert counts["site_discretionary"] == counts["upp_per_pupil"] == counts["peef_libraries"] == counts["tk_para"] == 34
    assert counts["noon_monitor"] == counts["principal"] == 34
    assert counts["elementary_arts"] == counts["peef_pe"] == 31  # all but the three K-8 schools, for which it gives no rate


def test_a_position_rule_by_level_reads_as_one_rule_in_explain(run):
    result = run("explain", FORMULA, "--schools", SCHOOLS, "--school", "420")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "1 FTE per 24.15 enrollment_capacity less 20 for each tk_teacher_fte" in out
    assert "enrollment_capacity less 20 for each tk_teacher_fte: 528" in out
    assert "applies: level ES" in out


def test_packets_show_each_position_as_its_fte_in_english_and_spanish(allocation, tmp_path):
    """The principal's packet and the site council's show a position the school has as its FTE (SFUSD
    published no costs, so its dollars are 0, and it is no line "that does not apply"); the Spanish
    packets of an elementary and a K-8 school hold no English sentence."""
    write_packets(allocation, tmp_path, langs=["en", "es"], kinds=["principal", "council"], formats=["html"], schools=["420", "760"])
    principal = (tmp_path / "en" / "420-ALVARADO-ES.principal.html").read_text(encoding="utf-8")
    row = principal.split('<tr class="line-row" id="line-base_teachers">', 1)[1].split("</tr>", 1)[0]  # not greyed as zero
    assert '<td class="num">22 FTE</td>' in row
    assert 'id="line-base"' not in principal  # no per-pupil base in this formula: no line of $0.00 per student
    assert "Elementary school" in principal and "staff positions (in FTE, or daily hours) set by the formula's rules" in text_of(principal)
    council = text_of((tmp_path / "en" / "420-ALVARADO-ES.council.html").read_text(encoding="utf-8"))
    assert "Base classroom teachers 22 FTE, placed by the district 22 FTE" in council
    runs = english_runs()
    for page in sorted((tmp_path / "es").glob("*.html")):
        text = text_of(page.read_text(encoding="utf-8"))
        assert not sorted(run for run in runs if run in text), page.name
    assert "Maestros de aula básicos" in text_of((tmp_path / "es" / "760-REVERE-K-8.principal.html").read_text(encoding="utf-8"))


def test_a_school_of_a_level_the_formula_does_not_know_is_refused(tmp_path):
    """Every rule is by level, so a school written "Elementary" would get no teachers, no clerk and none of
    most dollar lines; the formula lists its levels, and such a school is refused by row."""
    text = SCHOOLS.read_text(encoding="utf-8").replace("420,ALVARADO ES,ES,", "420,ALVARADO ES,Elementary,")
    schools = tmp_path / "schools.csv"
    schools.write_text(text, encoding="utf-8")
    with pytest.raises(WsfError) as refused:
        allocate_files(FORMULA, schools=schools)
    message = str(refused.value)
    assert "column level" in message and "1 row with a level that is not one of the formula's (ES, K-8, MS, HS)" in message
    assert "(420: elementary)" in message

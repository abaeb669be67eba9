"""The tradeoffs page in a real headless browser (Debian's chromium and chromedriver, driven by
selenium): ticking a card moves the net by exactly that card's amount as the engine sized it,
unticking restores it, the page starts where plan.csv says, it fetches nothing, and nothing in a
name runs as script.

These tests are never skipped: `make test` runs `make system` first, which installs chromium and
chromium-driver, so a missing browser is a failure that says how to get one.
"""

from __future__ import annotations

import csv
import re
import shutil
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from wsf.cli import main

SACS = ROOT / "fixtures" / "sfusd" / "sacs"
HERE = Path(__file__).parent


def tradeoffs(out: Path, *args: object) -> Path:
    result = CliRunner().invoke(main, ["tradeoffs", *[str(a) for a in args], "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def sfusd(tmp_path_factory) -> Path:
    return tradeoffs(tmp_path_factory.mktemp("page") / "out", ROOT / "formulas" / "tradeoffs" / "smarter-school-spending.toml",
                     "--ledger", SACS / "ua-fy2020-21" / "sfusd_usergl_fy2020-21.csv",
                     "--ledger", SACS / "ua-fy2021-22" / "sfusd_usergl_fy2021-22.csv",
                     "--drivers", SACS / "drivers-2021-22.toml", "--plan", ROOT / "formulas" / "tradeoffs" / "sfusd-plan-2021-22.toml")


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert binary and driver_path, "the page tests need chromium and chromedriver: run `make system` (apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def cents(dollars: str) -> int:
    return int(Decimal(dollars) * 100)


def opened(browser, page: Path):
    browser.get(page.resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    return browser


def net(browser) -> int:
    return int(browser.find_element("id", "net").get_attribute("data-net-cents"))


def click(browser, element) -> None:
    """A real click, as a person makes it, on the element scrolled clear of the sticky header."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def box(browser, card: str):
    return browser.find_element("css selector", f'input[data-card="{card}"]')


def test_ticking_a_card_moves_the_net_by_that_cards_amount(browser, sfusd: Path) -> None:
    opportunities = {row["id"]: row for row in csv.DictReader((sfusd / "opportunities.csv").open(encoding="utf-8"))}
    page = opened(browser, sfusd / "tradeoffs.html")
    before = net(page)
    card = box(page, "s29")  # secondary class size, not in the plan
    assert not card.is_selected()
    amount = cents(opportunities["29"]["savings_low"])
    assert amount == int(card.get_attribute("data-low")) > 0
    click(page, card)
    assert card.is_selected()
    assert net(page) - before == amount
    assert page.find_element("id", "card-s29").get_attribute("class").split().count("on") == 1
    click(page, card)
    assert not card.is_selected() and net(page) == before

    spend = box(page, "i4")  # the first investment the plan did not choose
    assert not spend.is_selected()
    click(page, spend)
    assert before - net(page) == int(spend.get_attribute("data-low")) > 0
    click(page, spend)
    assert net(page) == before


def test_the_high_estimate_counts_a_cards_high_end(browser, sfusd: Path) -> None:
    opportunities = {row["id"]: row for row in csv.DictReader((sfusd / "opportunities.csv").open(encoding="utf-8"))}
    page = opened(browser, sfusd / "tradeoffs.html")
    low = net(page)
    click(page, page.find_element("css selector", 'button[data-estimate="high"]'))
    energy = opportunities["2"]  # ticked by the plan, sized 10% to 30%
    assert box(page, "s2").is_selected()
    assert net(page) - low == cents(energy["savings_high"]) - cents(energy["savings_low"]) > 0


def test_the_page_starts_where_plan_csv_says_in_every_year(browser, sfusd: Path) -> None:
    rows = {row["row"]: row for row in csv.DictReader((sfusd / "plan.csv").open(encoding="utf-8"))}
    page = opened(browser, sfusd / "tradeoffs.html")
    years = page.find_elements("css selector", "button.year")
    assert len(years) == 3
    for year in (1, 2, 3):
        click(page, page.find_element("css selector", f'button.year[data-year="{year}"]'))
        assert net(page) == cents(rows["net"][f"year_{year}"]), year
        shown = page.find_element("id", "net").text
        assert shown == "$" + f"{(net(page) + 50) // 100:,}", shown  # whole dollars, thousands separated
        assert page.find_element("id", "verdict").text.startswith("TARGET MET")
    click(page, box(page, "s2"))  # untick energy, then "Back to the plan" ticks it again
    click(page, page.find_element("id", "reset"))
    assert box(page, "s2").is_selected() and net(page) == cents(rows["net"]["year_3"])


def test_a_higher_target_turns_the_verdict(browser, sfusd: Path) -> None:
    page = opened(browser, sfusd / "tradeoffs.html")
    target = page.find_element("id", "target")
    target.clear()
    target.send_keys("5000000")
    assert page.find_element("id", "verdict").text.startswith("SHORT OF THE TARGET")
    assert page.find_element("id", "gap").text == f"${5_000_000 - (net(page) + 50) // 100:,} to find"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data") and value:
                self.found.append((tag, name, value))


def test_the_page_fetches_nothing(browser, sfusd: Path) -> None:
    html = (sfusd / "tradeoffs.html").read_text(encoding="utf-8")
    links = _Links()
    links.feed(html)
    assert links.found == [], links.found  # no src or href at all, so no http(s) one
    assert not re.search(r"https?://|url\(|@import", html.split("<script", 1)[0].split("</style>", 1)[0]), "CSS fetches nothing"
    assert not {"link", "img", "iframe", "object", "embed"} & links.tags
    assert "default-src 'none'" in html  # and the page's own policy would refuse anything that tried
    page = opened(browser, sfusd / "tradeoffs.html")
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_nothing_in_a_name_runs_as_script(browser, tmp_path: Path) -> None:
    evil = '</script><script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
    catalog = (HERE / "catalog.toml").read_text(encoding="utf-8")
    catalog = catalog.replace('title = "Energy"', f"title = '''Energy {evil}'''").replace(
        'title = "Instructional coaches"', f"title = '''Coaches {evil}'''")
    (tmp_path / "catalog.toml").write_text(catalog, encoding="utf-8")
    out = tradeoffs(tmp_path / "out", tmp_path / "catalog.toml", "--ledger", HERE / "ledgers" / "clean.csv")
    html = (out / "tradeoffs.html").read_text(encoding="utf-8")
    assert "<img" not in html and html.count("<script") == 2  # the data and the page's own script
    page = opened(browser, out / "tradeoffs.html")
    assert page.execute_script("return window.pwned === undefined")
    assert evil in page.find_element("id", "card-s1").text  # shown as the words it is
    assert page.find_element("id", "verdict").text == "NOTHING TICKED YET"  # no plan: the team starts from nothing
    before = net(page)
    click(page, box(page, "s1"))
    assert net(page) - before == int(box(page, "s1").get_attribute("data-low"))
    assert page.find_element("id", "verdict").text == "TARGET MET"

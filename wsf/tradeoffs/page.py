"""The tradeoffs page: one self-contained HTML file (inline CSS and script, nothing fetched) in the
spirit of ERS's School Budget Hold'em, for a design team around a projector. Savings cards by
focus area on the left, investment cards on the right; ticking a card moves the net against the
target in the bar at the top. The numbers it starts from are the engine's (integer cents), carried
as JSON the script reads; every word on the page is rendered by the one sandboxed, autoescaped
Jinja environment, and the JSON is escaped so that nothing a code title holds can end the script.

The template sees one `Page` (documented below) and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction

from markupsafe import Markup

from wsf.render import TEMPLATES
from wsf.render.templates import sandbox
from wsf.tradeoffs.catalog import Catalog
from wsf.tradeoffs.sizing import Sized, money, round_cents, whole

EASE = {"easy": "Easier", "moderate": "Moderate", "hard": "Harder"}
CONSTRAINT = {"contract": "Contract", "state_rule": "State rule", "federal_rule": "Federal rule", "district_preference": "District choice"}


@dataclass(frozen=True)
class Card:
    """One card: `id` is `s<opportunity>` or `i<n>`; `low`/`high` in cents (None: not sized)."""

    id: str
    side: str  # saving, investment
    number: str  # "#2" for an opportunity, "" for an investment
    title: str
    question: str
    low: int | None
    high: int | None
    basis: str
    ease: str = ""
    constraint: str = ""
    constraint_note: str = ""
    timing: str = "recurring"
    start: int = 1
    ticked: bool = False
    tags: str = ""
    need: str = ""
    area: str = ""  # the focus area's key (savings)

    @property
    def sized(self) -> bool:
        return self.low is not None

    @property
    def amount_text(self) -> str:
        """As read across a room, in whole dollars: $1,085,515, or $1,085,515 – $3,256,546; to the
        cent in `exact_text`."""
        if self.low is None:
            return "not sized"
        return whole(self.low) if self.low == self.high else f"{whole(self.low)} – {whole(self.high)}"

    @property
    def exact_text(self) -> str:
        if self.low is None:
            return ""
        return money(self.low) if self.low == self.high else f"{money(self.low)} to {money(self.high)}"


@dataclass(frozen=True)
class Area:
    key: str
    label: str
    cards: list[Card]

    @property
    def sized(self) -> int:
        return sum(card.sized for card in self.cards)

    @property
    def sized_cards(self) -> list[Card]:
        return [card for card in self.cards if card.sized]

    @property
    def unsized_cards(self) -> list[Card]:
        """Shown smaller, after the cards a team can tick: what each needs to be sized."""
        return [card for card in self.cards if not card.sized]


@dataclass(frozen=True)
class Page:
    """What the template renders: the title, the district and year, the budget and target (cents),
    the plan's years and estimate, savings by area, investments, facts (label, value) about the
    district, and `data` (the JSON the script reads, already escaped)."""

    title: str
    district: str
    fiscal_year: str
    budget: int
    budget_label: str
    target: int
    years: int
    estimate: str
    areas: list[Area]
    investments: list[Card]
    facts: list[tuple[str, str]]
    sources: list[tuple[str, str]]
    plan_title: str = ""
    data: Markup = field(default=Markup(""))

    def dollars(self, cents: int) -> str:
        return money(cents)

    def whole(self, cents: int) -> str:
        """Whole dollars, as the page's running figures show them."""
        return whole(cents)

    @property
    def sized(self) -> int:
        return sum(area.sized for area in self.areas)

    @property
    def total(self) -> int:
        return sum(len(area.cards) for area in self.areas)


def script_json(data: dict) -> Markup:
    """JSON safe inside <script>: no `<`, `>` or `&` (so no `</script>`), no line separators."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return Markup(text)


def page_of(catalog: Catalog, sized: list[Sized], budget: int, district: str, fiscal_year: str, facts: list[tuple[str, str]],
            sources: list[tuple[str, str]], plan=None) -> Page:
    chosen = {item.ref: item for item in plan.items if item.kind == "saving"} if plan is not None else {}
    areas = []
    for key, label in catalog.areas.items():
        cards = []
        for s in sized:
            item = s.opportunity
            if item.area != key:
                continue
            mine = chosen.get(str(item.id))  # investments' refs are names, never numbers
            low, high = s.low, s.high
            if mine is not None and mine.cents != (s.low if plan.info.estimate == "low" else s.high):
                low = high = mine.cents  # the team's own figure, or an estimate other than the plan's: as plan.csv counts it
            cards.append(Card(f"s{item.id}", "saving", f"#{item.id}", item.title, item.question, low, high, s.basis, EASE[item.ease],
                              CONSTRAINT[item.constraint.kind], item.constraint.note, mine.timing if mine else item.timing,
                              mine.start if mine else 1, mine is not None, need=s.need, area=key))
        areas.append(Area(key, label, cards))
    investments = _investments(catalog, budget, plan)
    years = plan.info.years if plan is not None else 1
    data = {"budget": budget, "target": plan.target if plan is not None else 0, "years": years,
            "estimate": plan.info.estimate if plan is not None else "low",
            "cards": {c.id: {"side": c.side, "area": c.area, "low": c.low, "high": c.high, "timing": c.timing, "start": c.start}
                      for c in [*[c for a in areas for c in a.cards], *investments]}}
    return Page(f"{district}: trading savings for priorities", district, fiscal_year, budget, catalog.budget.label, data["target"], years,
                data["estimate"], areas, investments, facts, sources, plan.info.title if plan is not None else "", script_json(data))


def _investments(catalog: Catalog, budget: int, plan) -> list[Card]:
    cards, planned = [], [item for item in (plan.items if plan is not None else ()) if item.kind == "investment"]
    used = set()
    for item in planned:
        used.add(item.ref)
        tags = " · ".join(t for t in (item.lcap_goal and f"LCAP goal {item.lcap_goal}", item.lcap_action and f"action {item.lcap_action}",
                                      item.state_priorities and f"state priorities {item.state_priorities}") if t)
        cards.append(Card(f"i{len(cards) + 1}", "investment", "", item.title, "", item.cents, item.cents, item.basis, timing=item.timing,
                          start=item.start, ticked=True, tags=tags))
    for card in catalog.investment:
        if card.id in used:
            continue
        cents = round_cents(Fraction(repr(card.share_of_budget)) * budget)
        cards.append(Card(f"i{len(cards) + 1}", "investment", "", card.title, "", cents, cents,
                          f"{card.share_of_budget:.1%} of the budget ({card.source})", timing=card.timing))
    return cards


def render_page(page: Page) -> str:
    return sandbox([TEMPLATES / "tradeoffs"]).get_template("page.html").render(page=page)

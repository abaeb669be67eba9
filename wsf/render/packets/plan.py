"""The site council's plan packet of one school: the budget pages of its School Plan for Student
Achievement, in plain language. What the school receives and how its plan spends it: by funding
source with what is left, by kind of spending (the SACS object groups), by goal with every line,
the staff it pays for, and, with the approved plan, what changed and what needs a new vote.
`plan` returns the one object `plan.html` sees as `packet`.

Every amount is the checked plan's (`wsf.plans.check`), in integer cents; nothing is recomputed
here but sums of those cents.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import polars as pl
from markupsafe import Markup

from wsf.engine.allocate import TRANSITION
from wsf.formula.objects import BENEFITS, GROUPS, ObjectRange
from wsf.plans.check import BASE, priced
from wsf.render.i18n import Language, bold
from wsf.render.packets.context import PIECES, Document, Figure, FileRow, Row, Run, School, document, heading, school_of
from wsf.render.shapes import Stack, stack


@dataclass(frozen=True)
class Source:
    """A funding source of the school: what it gives, what the plan spends, what is left."""

    label: str
    key: str
    resource: str  # "resource 07091", or ""
    may_buy: str  # "May pay for: ...", what the money may pay for in words
    restricted: bool  # only some kinds of spending
    received: str
    planned: str
    left: str


@dataclass(frozen=True)
class Kind:
    """A kind of spending: one group of SACS objects."""

    label: str
    objects: str  # its object codes, 4000-4999
    amount: str
    share: str
    colour: str  # its segment's colour in the chart


@dataclass(frozen=True)
class PlanLine:
    what: str  # the description (a position's label when it has none)
    source: str  # the funding source's label
    object: str  # the object code or range; a position's salary object and its benefits
    detail: str  # FTE x cost for a position ("" for an item)
    amount: str


@dataclass(frozen=True)
class Goal:
    name: str  # as the plan writes it (its `goal_<lang>` when it gives one)
    amount: str
    share: str  # of the school's budget
    summary: str  # its amount and share, in a sentence
    lines: tuple[PlanLine, ...]


@dataclass(frozen=True)
class PlanChange:
    what: str
    source: str
    goal: str
    approved: str
    now: str
    change: str
    vote: str  # "Yes" or "No", in the language
    material: bool


@dataclass(frozen=True)
class Approval:
    sentence: Markup  # how many lines changed, how many need a new vote, and the threshold
    rows: tuple[PlanChange, ...]  # material ones first


@dataclass(frozen=True)
class Plan:
    """templates/packets/plan.html: a school's SPSA budget pages, for its site council."""

    doc: Document
    school: School
    heading: str
    lead: Markup
    intro: Markup  # what the plan is and who approves it
    figures: tuple[Figure, ...]
    sources: tuple[Source, ...]
    received: str
    planned: str
    left: str
    transition: Markup  # how the transition moved the base ("" when it did not)
    kinds: tuple[Kind, ...]  # by object group, in SACS order
    kinds_total: str
    kinds_chart: Stack  # the kinds as one bar, drawn without its legend (the kinds' table carries the colours)
    goals: tuple[Goal, ...]
    staff: tuple[Row, ...]  # (position, FTE, cost of one, amount)
    staff_total: Row
    approval: Approval | None  # with --approved
    questions: tuple[str, ...]
    note: Markup  # whose words the goals and descriptions are


def plan(run: Run, lang: Language, school_id: str, explanation=None) -> Plan:
    review = run.plans
    check = review.check
    model = run.allocation.formula.model
    row = run.rows[school_id]
    school = school_of(lang, run, row)
    lines = check.lines.filter(pl.col("school_id") == school_id).sort("_row")
    balances = check.balances.filter(pl.col("school_id") == school_id)
    total = int(balances["allocated"].sum())
    labels = {key: source_label(lang, model, key) for key in model.line_keys}
    t = "plan."
    sources = tuple(_source(lang, model, labels[key], key, allocated, planned, remaining)
                    for _, key, allocated, planned, remaining in balances.iter_rows())
    positions = lines.filter(pl.col("position").is_not_null())
    fte = float(positions.filter(pl.col("unit") == "fte")["fte"].sum())
    staff_cents, other = int(positions["amount"].sum()), int(lines.filter(pl.col("position").is_null())["amount"].sum())
    figures = (
        Figure(lang.sentence(t + "fig_received"), lang.money(total), lang.say(lang.counted(t + "fig_received_note", len(sources)), count=len(sources))),
        Figure(lang.sentence(t + "fig_left"), lang.money(int(balances["remaining"].sum())), lang.say(t + "fig_left_note")),
        Figure(lang.sentence(t + "fig_staff"), lang.money(staff_cents), lang.say(t + "fig_staff_note", fte=lang.number(fte, 1))),
        Figure(lang.sentence(t + "fig_other"), lang.money(other), lang.say(lang.counted(t + "fig_other_note", lines.height - positions.height),
                                                                          count=lines.height - positions.height)),
    )
    kinds, chart = _kinds(lang, lines, total)
    words = _words(lang, lines)
    doc = document(run, lang, "plan", f"{school.name} \u2014 {lang.sentence(t + 'kind')}", school.name)
    files = [review.check.plan.table, *([review.approved.table] if review.approved is not None else [])]
    doc = dataclasses.replace(doc, files=doc.files + tuple(FileRow(f.path.name, f.sha256) for f in files))
    return Plan(
        doc=doc,
        school=school,
        heading=heading(lang, "plan", run, school.name),
        lead=lang.say(lang.counted(t + "lead", lines.height), school=school.name, total=bold(lang.money(total)), pupils=school.enrollment,
                      lines=lang.number(lines.height), sources=lang.number(len(sources))),
        intro=lang.say(t + "intro"),
        figures=figures,
        sources=sources,
        received=lang.money(total),
        planned=lang.money(int(balances["planned"].sum())),
        left=lang.money(int(balances["remaining"].sum())),
        transition=_transition(lang, run, row),
        kinds=kinds,
        kinds_total=lang.money(staff_cents + other),
        kinds_chart=chart,
        goals=_goals(lang, model, lines, labels, total),
        staff=_staff(lang, model, positions),
        staff_total=Row((lang.sentence(t + "staff_total"), lang.plain("units.quantity_fte", quantity=lang.number(fte, 6)), "", lang.money(staff_cents)),
                        emphasis=True),
        approval=_approval(lang, model, review, school_id, labels, words),
        questions=tuple(lang.sentence(f"{t}q{i}") for i in range(1, 5)),
        note=lang.say(t + "note"),
    )


def source_label(lang: Language, model, key: str) -> str:
    if key == BASE:
        return lang.sentence("plan.base_source")
    line = model.labelled_lines()[key]
    return line.labels.get(lang.code, line.label)


def may_buy(lang: Language, allowed: tuple[ObjectRange, ...] | None) -> str:
    """What restricted money may pay for, in words: whole object groups by name (all staff, with
    benefits, as one), part of a group by its objects' names ("consultants and other contracted
    services only (5800)"), separated by semicolons: the names have "and" in them."""
    if allowed is None:
        return lang.sentence("plan.any_use")
    words, groups = [], list(GROUPS)
    if ObjectRange(GROUPS[0][0], GROUPS[2][1]).within(allowed):
        words.append(lang.sentence("objects.short_staff"))
        groups = groups[3:]
    for low, high, key in groups:
        inside = [ObjectRange(max(r.start, low), min(r.end, high)) for r in allowed if r.start <= high and r.end >= low]
        if not inside:
            continue
        name = lang.sentence(f"objects.short_{key}")
        if ObjectRange(low, high).within(allowed):
            words.append(name)
            continue
        named = [lang.data.get("objects", {}).get(f"code_{r.start}") if r.start == r.end else None for r in inside]
        if all(named):
            words.append(lang.plain("plan.part_named", objects=lang.sentence("how.list").join(named),
                                    codes=", ".join(codes(str(r)) for r in inside)))
        else:
            words.append(lang.plain("plan.part_of", group=name, objects=", ".join(codes(str(r)) for r in inside)))
    return lang.sentence("plan.may_pay_list").join(words)


def _source(lang: Language, model, label: str, key: str, allocated: int, planned: int, remaining: int) -> Source:
    funding = model.funding_of(key)
    resource = lang.plain("plan.resource", code=funding.resource) if funding.resource else ""
    return Source(label, key, resource, lang.plain("plan.may_pay", what=may_buy(lang, funding.allowed)), funding.allowed is not None, lang.money(allocated),
                  lang.money(planned), lang.money(remaining))


def _transition(lang: Language, run: Run, row: dict) -> Markup:
    """How the transition moved the school's general money (it is planned with the base)."""
    amount = row[TRANSITION]
    if not amount:
        return Markup("")
    rules = run.allocation.formula.model.transition
    case = max(PIECES, key=lambda piece: abs(row[piece[0]]))[1]
    values = {"amount": bold(lang.money(abs(amount)))}
    if case == "floor":
        values["max_loss"] = lang.percent(rules.max_loss, 0)
    elif case == "cap":
        values["cap"] = lang.percent(run.allocation.gain_cap, 1)
    else:
        values["closure"] = lang.percent(rules.gap_closure, 0)
    direction = "up" if amount > 0 else "down"
    return lang.say(f"plan.transition_{case}_{direction}" if case == "phase" else f"plan.transition_{case}", **values)


def _kinds(lang: Language, lines: pl.DataFrame, total: int) -> tuple[tuple[Kind, ...], Stack]:
    """Spending by object group: an item's amount in its group, a position's salary in its group
    and its benefits in 3000-3999."""
    cents = {key: 0 for _, _, key in GROUPS}
    for start, end, salary, benefits in lines.select("start", "end", "salary", "benefits").iter_rows():
        cents[ObjectRange(start, end).group] += salary
        cents[ObjectRange(*BENEFITS).group] += benefits
    shown = [(low, high, key) for low, high, key in GROUPS if cents[key]]
    shares = {key: lang.percent(cents[key] / total if total else None, 1) for _, _, key in shown}
    chart = stack("kinds", lang.sentence("plan.kinds_heading"),
                  [(lang.sentence(f"objects.short_{key}"), cents[key], lang.money(cents[key]), shares[key]) for _, _, key in shown])
    kinds = tuple(Kind(lang.sentence(f"objects.{key}"), f"{low}\u2013{high}", lang.money(cents[key]), shares[key], segment.colour)
                  for (low, high, key), segment in zip(shown, chart.segments))
    return kinds, chart


def _words(lang: Language, lines: pl.DataFrame) -> dict[tuple[str, str], str]:
    """The plan's own words in the reader's language, by (column, English text): its goals and descriptions."""
    out = {}
    for column in ("goal", "description"):
        other = f"{column}_{lang.code}"
        if other in lines.columns:
            for english, translated in lines.select(column, other).drop_nulls().unique().iter_rows():
                out.setdefault((column, english), translated)
    return out


def _what(lang: Language, model, row: dict) -> str:
    """A line in the reader's language: its description, or a position's label."""
    text = row.get(f"description_{lang.code}") or row["description"]
    if text is None and row["position"] is not None:
        price = priced(model, row["position"])
        text = price.labels.get(lang.code, price.label)
    return text or ""


def codes(text: str) -> str:
    """Object codes as printed: a range with an en dash (3000–3999), as the kinds' table has them."""
    return text.replace("-", "\u2013")


def _object(lang: Language, row: dict) -> str:
    if row["position"] is None:
        return codes(row["object"])
    return lang.plain("plan.position_object", object=codes(row["object"])) if row["benefits"] else codes(row["object"])


def _detail(lang: Language, model, row: dict) -> str:
    """A position's quantity at its cost: FTE x a year's cost, or daily hours x days x the hourly rate."""
    if row["position"] is None:
        return ""
    quantity = lang.number(row["fte"], 6)
    if row["unit"] == "fte":
        return lang.plain("plan.detail_fte", quantity=quantity, cost=lang.rate(row["per_unit"]))
    price = priced(model, row["position"])
    if price.hourly is not None:
        return lang.plain("plan.detail_hours", quantity=quantity, days=lang.number(price.hourly[1]), rate=lang.rate(price.hourly[0]))
    return lang.plain("plan.detail_daily_hours", quantity=quantity, cost=lang.rate(row["per_unit"]))


def goal_name(lang: Language, row: dict) -> str:
    return row.get(f"goal_{lang.code}") or row["goal"]


def natural(text: str) -> tuple:
    """A sort key that puts Goal 2 before Goal 10."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.casefold()) for part in re.split(r"(\d+)", text) if part)


def _goals(lang: Language, model, lines: pl.DataFrame, labels: dict[str, str], total: int) -> tuple[Goal, ...]:
    """Each goal in the order of its name (Goal 1, Goal 2, ... Goal 10), with its lines in the plan's order."""
    goals: dict[str, list[dict]] = {}
    for row in lines.iter_rows(named=True):
        goals.setdefault(row["goal"], []).append(row)
    out = []
    for _, rows in sorted(goals.items(), key=lambda item: natural(item[0])):
        cents = sum(r["amount"] for r in rows)
        items = tuple(PlanLine(_what(lang, model, r), labels[r["key"]], _object(lang, r), _detail(lang, model, r), lang.money(r["amount"])) for r in rows)
        amount, share = lang.money(cents), lang.percent(cents / total if total else None, 1)
        out.append(Goal(goal_name(lang, rows[0]), amount, share, lang.plain("plan.goal_total", amount=amount, share=share), items))
    return tuple(out)


def _staff(lang: Language, model, positions: pl.DataFrame) -> tuple[Row, ...]:
    """Each position the plan pays for, over every funding line, in the order the plan first names it."""
    out = []
    for key in dict.fromkeys(positions["position"].to_list()):
        rows = positions.filter(pl.col("position") == key)
        price = priced(model, key)
        quantity = float(rows["fte"].sum())
        amount = lang.plain("units.quantity_fte" if price.unit == "fte" else "units.quantity_hours", quantity=lang.number(quantity, 6))
        out.append(Row((price.labels.get(lang.code, price.label), amount, lang.rate(float(price.per_unit)), lang.money(int(rows["amount"].sum())))))
    return tuple(out)


def _approval(lang: Language, model, review, school_id: str, labels: dict[str, str], words: dict[tuple[str, str], str]) -> Approval | None:
    found = review.school_changes(school_id)
    if found is None:
        return None
    t = "plan."
    file = review.approved.path.name
    if found.height == 0:
        return Approval(lang.say(t + "changes_none", file=file), ())
    material = int(found["material"].sum())
    threshold = review.threshold
    if threshold.share is not None:
        places = 0 if threshold.share * 100 == round(threshold.share * 100) else 1
        limit = lang.plain(t + "threshold_share", share=lang.percent(threshold.share, places))
    else:
        limit = lang.plain(t + "threshold_dollars", amount=lang.money(threshold.cents))
    key = t + ("changes_material" if material else "changes_immaterial")
    sentence = lang.say(lang.counted(key, found.height), count=bold(lang.number(found.height)), material=bold(lang.number(material)),
                        file=file, threshold=limit)
    rows = []
    for row in found.sort("material", descending=True, maintain_order=True).iter_rows(named=True):
        if row["position"] is not None:
            price = priced(model, row["position"])
            what = lang.plain(t + "change_position", what=price.labels.get(lang.code, price.label),
                              before=lang.number(row["approved_fte"], 6), now=lang.number(row["fte"], 6))
        else:
            what = words.get(("description", row["description"]), row["description"])
        rows.append(PlanChange(what, labels[row["key"]], words.get(("goal", row["goal"]), row["goal"]), lang.money(row["approved"]),
                               lang.money(row["planned"]), lang.signed_money(row["change"]),
                               lang.sentence(t + ("vote_yes" if row["material"] else "vote_no")), row["material"]))
    return Approval(sentence, tuple(rows))

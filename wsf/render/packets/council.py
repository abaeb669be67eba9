"""The site council's packet of one school: the same numbers as the principal's, in plain words,
and why some students count more, as the formula counts them. `council` returns the one object
`council.html` sees as `packet`.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from wsf.engine.allocate import TRANSITION
from wsf.engine.components.lines import Quantity
from wsf.engine.explain import Explanation, explain
from wsf.render.i18n import Language, bold
from wsf.render.packets.context import (
    PIECES,
    Document,
    Run,
    School,
    document,
    heading,
    level_words,
    line_label,
    school_of,
    similar_median,
)
from wsf.render.phrases import say, value_text
from wsf.render.shapes import NEGATIVE, Stack, stack


@dataclass(frozen=True)
class CouncilLine:
    label: str
    explanation: Markup
    amount: str
    colour: str  # its segment's colour in the chart


@dataclass(frozen=True)
class Council:
    """templates/packets/council.html: one or two pages in plain language."""

    doc: Document
    school: School
    heading: str
    lead: Markup
    per_pupil: Markup
    lines: tuple[CouncilLine, ...]  # the lines with money, in the formula's order
    total: str
    chart: Stack  # drawn without its legend: the lines' table carries the colours
    compare: tuple[Markup, ...]
    why: Markup  # why some students count more: the groups this formula funds, and how it counts them
    questions: tuple[str, ...]


def council(run: Run, lang: Language, school_id: str, explanation: Explanation | None = None) -> Council:
    allocation = run.allocation
    model = allocation.formula.model
    ex = explanation or explain(allocation, school_id, run.allocation_rows)
    row = run.rows[school_id]
    school = school_of(lang, run, row)
    t = "council."
    chart = stack(
        "lines",
        lang.sentence(t + "lines_heading"),
        [(line_label(lang, x), x.amount, lang.money(x.amount, 0), "") for x in ex.lines],
    )
    positive = [x.key for x in ex.lines if x.amount > 0]
    colours = {key: segment.colour for key, segment in zip(positive, chart.segments)}
    lines = []
    for line in ex.lines:
        staff = isinstance(line.count, Quantity) and line.count.value > 0  # a position the school has, costed or not
        if line.amount == 0 and not staff:
            continue
        if line.key == TRANSITION:
            text = _council_transition(lang, run, row)
        else:
            text = say(lang, line.plain) if line.plain is not None else Markup("")
        if line.amount == 0:  # a position with no cost in the formula: the district pays it, the school has its FTE
            lines.append(CouncilLine(line_label(lang, line), text, value_text(lang, line.count), "transparent"))
            continue
        lines.append(CouncilLine(line_label(lang, line), text, lang.money(line.amount, 0), colours.get(line.key, NEGATIVE)))
    per_pupil = lang.money(ex.per_pupil_cents, 0) if ex.per_pupil_cents is not None else lang.sentence("common.not_available")
    return Council(
        doc=document(run, lang, "council", f"{school.name} \u2014 {lang.sentence('council.kind')}", school.name),
        school=school,
        heading=heading(lang, "council", run, school.name),
        lead=lang.strong(t + "lead", total=lang.money(ex.total_cents, 0), pupils=school.enrollment),
        per_pupil=lang.strong(t + ("per_pupil_positions" if model.positions else "per_pupil"), per_pupil=per_pupil),
        lines=tuple(lines),
        total=lang.money(ex.total_cents, 0),
        chart=chart,
        compare=_compare(run, lang, row),
        why=run.once(lang, ("why",), lambda: why_some_count_more(lang, model)),
        questions=run.once(lang, ("questions",), lambda: _questions(lang, model)),
    )


STUDENT_GROUPS = ("poverty", "english_learner", "special_education", "unduplicated", "foster", "homeless", "gifted")


def _groups(lang: Language, model) -> str | None:
    """The student groups the formula's weights fund, in the language ("A, B and C"); the weights'
    own labels when they say no role; None when no weight funds a group."""
    roles = [r for r in model.funded_roles if r in STUDENT_GROUPS]
    names = [lang.sentence(f"groups.{r}") for r in roles]
    if not names:
        names = [w.labels.get(lang.code, w.label) for w in model.weights.values() if w.role is None]
    if not names:
        return None
    last = lang.sentence("how.and").join(names[-2:])
    return lang.sentence("how.list").join([*names[:-2], last])


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def why_some_count_more(lang: Language, model) -> Markup:
    """The site council's "why some students count more", as this formula counts: the groups it
    funds; that a student in two groups brings both amounts only when it counts them additively;
    that each counts once when it counts unduplicated pupils; nothing of groups it does not fund."""
    t = "council."
    groups = _groups(lang, model)
    if groups is None:
        return lang.say(t + "why_none")
    roles = set(model.funded_roles)
    if not roles & set(STUDENT_GROUPS):
        return lang.say(t + "why_labels", groups=groups)
    out = [Markup(_capital(lang.say(t + "why_groups", groups=groups)))]
    if {"poverty", "english_learner"} <= roles:
        out.append(lang.say(t + "why_additive"))
    elif "unduplicated" in roles:
        out.append(lang.say(t + "why_unduplicated"))
    return Markup(" ").join(out)


def _questions(lang: Language, model) -> tuple[str, ...]:
    groups = _groups(lang, model)
    second = lang.plain("council.q2", groups=groups) if groups else lang.sentence("council.q2_none")
    return (lang.sentence("council.q1"), second, lang.sentence("council.q3"), lang.sentence("council.q4"))


def _council_transition(lang: Language, run: Run, row: dict) -> Markup:
    """The transition line in a sentence, by its largest piece: the floor, the cap or the phase-in."""
    rules = run.allocation.formula.model.transition
    case = max(PIECES, key=lambda piece: abs(row[piece[0]]))[1]
    if case == "floor":
        return lang.say("council.line_transition_up", max_loss=lang.percent(rules.max_loss, 0))
    if case == "cap":
        return lang.say("council.line_transition_down", cap=lang.percent(run.allocation.gain_cap, 1))
    return lang.say("council.line_transition_phase", closure=lang.percent(rules.gap_closure, 0))


def _compare(run: Run, lang: Language, row: dict) -> tuple[Markup, ...]:
    t = "council."
    out = []
    if row["prior"]:
        change = row["total"] - row["prior"]
        case = "compare_prior_up" if change > 0 else ("compare_prior_down" if change < 0 else "compare_prior_same")
        out.append(
            lang.strong(
                t + case,
                prior=lang.money(row["prior"], 0),
                difference=lang.money(abs(change), 0),
                percent=lang.percent(abs(change) / row["prior"], 1),
            )
        )
    if row["current"] is not None:
        gap = row["total"] - row["current"]
        case = "compare_current_more" if gap > 0 else ("compare_current_less" if gap < 0 else "compare_current_same")
        out.append(lang.strong(t + case, current=lang.money(row["current"], 0), difference=lang.money(abs(gap), 0)))
    others = run.similar[row["school_id"]]
    median = similar_median(run, row["school_id"])
    if median is not None and row["per_pupil"] is not None:
        key = "compare_similar" if run.poverty is not None and row["share"] is not None else "compare_similar_size"
        out.append(
            lang.say(
                lang.counted(t + key, len(others)),
                n=lang.number(len(others)),
                schools=level_words(lang, row["level"]),
                median=bold(lang.money(median, 0)),
                per_pupil=bold(lang.money(row["per_pupil"], 0)),
            )
        )
    return tuple(out)

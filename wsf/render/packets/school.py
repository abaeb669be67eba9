"""The two packets of one school: the principal's (every line, every comparison) and the site
council's (the same numbers in plain words). Each builder returns the one object its template
sees as `packet`; see `wsf.render.packets.context` for the shared `packet.doc`.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from wsf.engine.allocate import TRANSITION
from wsf.engine.explain import Explanation, explain
from wsf.render.i18n import Language, bold
from wsf.render.packets.context import (
    PIECES,
    Document,
    Figure,
    Row,
    Run,
    School,
    Transition,
    details,
    document,
    how,
    level_name,
    level_words,
    line_label,
    median_cents,
    transition,
)
from wsf.render.phrases import say, value_text
from wsf.render.shapes import NEGATIVE, Bars, Stack, bars, stack


@dataclass(frozen=True)
class LineRow:
    key: str  # the formula's key: the same name as the table column and the workbook header
    label: str
    count: str  # "" when the line is not count x rate
    rate: str
    amount: str
    how: Markup
    source: str
    detail: tuple[str, ...]  # the base line by grades
    zero: bool  # the line does not apply to this school


@dataclass(frozen=True)
class Similar:
    sentence: Markup  # who the similar schools are
    result: Markup  # this school against their median
    chart: Bars | None  # per pupil: this school, then the similar schools; a dashed line at their median


@dataclass(frozen=True)
class Current:
    sentence: Markup
    rows: tuple[Row, ...]  # what, today, this year, difference


@dataclass(frozen=True)
class Principal:
    """templates/packets/principal.html: one school's allocation, line by line."""

    doc: Document
    school: School
    heading: str
    intro: Markup
    figures: tuple[Figure, ...]
    stack: Stack  # where the money comes from
    lines: tuple[LineRow, ...]
    total: str
    per_pupil: str
    per_pupil_label: str
    transition: Transition
    current: Current | None  # with --current only
    current_missing: bool  # --current given, but no row for this school
    similar: Similar
    check: str  # the command that prints the same lines


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


def _school(lang: Language, run: Run, row: dict) -> School:
    return School(
        row["school_id"], row["name"] or row["school_id"], level_name(lang, row["level"]), lang.number(row["enrollment"])
    )


def _heading(lang: Language, kind: str, run: Run, name: str) -> str:
    info = run.allocation.formula.model.formula
    year = info.fiscal_year or info.title_in(lang.code)
    return lang.plain(f"{kind}.title", school=name, year=year)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def principal(run: Run, lang: Language, school_id: str, explanation: Explanation | None = None) -> Principal:
    allocation = run.allocation
    model = allocation.formula.model
    ex = explanation or explain(allocation, school_id, run.allocation_rows)
    row = run.rows[school_id]
    school = _school(lang, run, row)
    total = ex.total_cents
    # without a [transition] its line is always zero, and the transition section says so
    shown = [x for x in ex.lines if not (x.key == TRANSITION and model.transition is None)]
    lines = []
    for line in shown:
        lines.append(
            LineRow(
                key=line.key,
                label=line_label(lang, line),
                count=value_text(lang, line.count) if line.calculated else "",
                rate=value_text(lang, line.rate) if line.calculated else "",
                amount=lang.money(line.amount),
                how=how(lang, line),
                source=line.source,
                detail=details(lang, line),
                zero=line.amount == 0,
            )
        )
    parts = [
        (line_label(lang, x), x.amount, lang.money(x.amount), lang.percent(_ratio(x.amount, total)))
        for x in shown
    ]
    per_pupil = lang.money(ex.per_pupil_cents) if ex.per_pupil_cents is not None else lang.sentence("common.not_available")
    values = {
        "school": school.name,
        "total": bold(lang.money(total)),
        "pupils": bold(school.enrollment),
        "per_pupil": bold(per_pupil),
        "formula": model.formula.id,
    }
    similar = _similar(run, lang, row)
    current = _current(run, lang, row)
    return Principal(
        doc=document(run, lang, "principal", f"{school.name} \u2014 {lang.sentence('principal.kind')}", school.name),
        school=school,
        heading=_heading(lang, "principal", run, school.name),
        intro=lang.say("principal.intro", **values),
        figures=_figures(run, lang, row, per_pupil),
        stack=stack("stack", lang.sentence("principal.chart_heading"), parts),
        lines=tuple(lines),
        total=lang.money(total),
        per_pupil=per_pupil,
        per_pupil_label=lang.plain("principal.per_pupil_row", pupils=school.enrollment),
        transition=transition(lang, run, row),
        current=current,
        current_missing=run.spending is not None and row["current"] is None,
        similar=similar,
        check=explain_command(allocation, school_id),
    )


def explain_command(allocation, school_id: str) -> str:
    """The `wsf explain` command that prints the same lines (file names as given, without folders)."""
    parts = ["wsf", "explain", allocation.formula.path.name]
    for table in allocation.sources:
        columns = table.frame.columns
        option = (
            "--students"
            if "student_id" in columns
            else (
                "--prior"
                if "prior" in columns and "enrollment" not in columns and not any(c.startswith("grade_") for c in columns)
                else "--schools"
            )
        )
        parts += [option, table.path.name]
    return " ".join([*parts, "--school", school_id])


def _similar_median(run: Run, school_id: str) -> int | None:
    return median_cents([other["per_pupil"] for other in run.similar[school_id]])


def _figures(run: Run, lang: Language, row: dict, per_pupil: str) -> tuple[Figure, ...]:
    t = "principal."
    similar_median = _similar_median(run, row["school_id"])
    figures = [
        Figure(
            lang.sentence(t + "fig_total"),
            lang.money(row["total"]),
            lang.say(t + "fig_total_note", pupils=lang.number(row["enrollment"])),
        )
    ]
    district = run.median_per_pupil
    figures.append(
        Figure(lang.sentence(t + "fig_per_pupil"), per_pupil, lang.say(t + "fig_per_pupil_note", median=lang.money(district)))
    )
    if row["prior"]:
        change = row["total"] - row["prior"]
        figures.append(
            Figure(
                lang.sentence(t + "fig_change"),
                lang.percent(change / row["prior"], 1, signed=True),
                lang.say(t + "fig_change_note", prior=lang.money(row["prior"]), difference=lang.signed_money(change)),
            )
        )
    if row["current"] is not None:
        figures.append(
            Figure(
                lang.sentence(t + "fig_current"),
                lang.money(row["current"]),
                lang.say(t + "fig_current_note", per_pupil=lang.money(row["current_per_pupil"])),
            )
        )
    elif similar_median is not None:
        figures.append(
            Figure(
                lang.sentence(t + "fig_similar"),
                lang.money(similar_median),
                lang.say(t + "fig_similar_note", n=lang.number(len(run.similar[row["school_id"]]))),
            )
        )
    return tuple(figures)


def _similar(run: Run, lang: Language, row: dict) -> Similar:
    others = run.similar[row["school_id"]]
    t = "principal."
    if not others:
        return Similar(lang.say(t + "similar_none"), Markup(""), None)
    kind = level_words(lang, row["level"])
    n = lang.number(len(others))
    by_poverty = run.poverty is not None and row["share"] is not None
    if by_poverty:
        sentence = lang.say(
            lang.counted(t + "similar_by_poverty", len(others)), n=n, schools=kind, share=bold(lang.percent(row["share"], 0))
        )
    else:
        sentence = lang.say(lang.counted(t + "similar_by_size", len(others)), n=n, schools=kind)
    median = _similar_median(run, row["school_id"])
    mine = row["per_pupil"]
    result = Markup("")
    if mine is not None and median is not None:
        case = "similar_above" if mine > median else ("similar_below" if mine < median else "similar_equal")
        result = lang.strong(
            t + case, per_pupil=lang.money(mine), difference=lang.money(abs(mine - median)), median=lang.money(median)
        )

    def label(school: dict) -> str:
        share = (
            lang.percent(school["share"], 0) if by_poverty and school["share"] is not None else lang.number(school["enrollment"])
        )
        return lang.plain(t + "similar_label", name=school["name"] or school["school_id"], share=share)

    rows = [(label(row), (mine or 0) / 100, lang.money(mine), True)]
    rows += [(label(r), r["per_pupil"] / 100, lang.money(r["per_pupil"]), False) for r in others]
    reference = (median / 100, lang.plain(t + "median_mark", median=lang.money(median))) if median is not None else None
    return Similar(sentence, result, bars("similar", lang.sentence(t + "similar_heading"), rows, reference, label_width=300))


def _current(run: Run, lang: Language, row: dict) -> Current | None:
    if run.spending is None or row["current"] is None:
        return None
    t = "principal."
    today, now = row["current"], row["total"]
    difference = now - today
    rows = [Row((lang.sentence(t + "current_total_row"), lang.money(today), lang.money(now), lang.signed_money(difference)))]
    if row["per_pupil"] is not None and row["current_per_pupil"] is not None:
        rows.append(
            Row(
                (
                    lang.sentence(t + "current_per_pupil_row"),
                    lang.money(row["current_per_pupil"]),
                    lang.money(row["per_pupil"]),
                    lang.signed_money(row["per_pupil"] - row["current_per_pupil"]),
                )
            )
        )
    case = "current_more" if difference > 0 else ("current_less" if difference < 0 else "current_same")
    share = lang.percent(abs(difference) / today if today else None, 1)
    return Current(lang.strong(t + case, difference=lang.money(abs(difference)), percent=share), tuple(rows))


# -- the site council's packet ----------------------------------------------------------------


def council(run: Run, lang: Language, school_id: str, explanation: Explanation | None = None) -> Council:
    allocation = run.allocation
    model = allocation.formula.model
    ex = explanation or explain(allocation, school_id, run.allocation_rows)
    row = run.rows[school_id]
    school = _school(lang, run, row)
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
        if line.amount == 0:
            continue
        if line.key == TRANSITION:
            text = _council_transition(lang, run, row)
        else:
            text = say(lang, line.plain) if line.plain is not None else Markup("")
        lines.append(CouncilLine(line_label(lang, line), text, lang.money(line.amount, 0), colours.get(line.key, NEGATIVE)))
    per_pupil = lang.money(ex.per_pupil_cents, 0) if ex.per_pupil_cents is not None else lang.sentence("common.not_available")
    return Council(
        doc=document(run, lang, "council", f"{school.name} \u2014 {lang.sentence('council.kind')}", school.name),
        school=school,
        heading=_heading(lang, "council", run, school.name),
        lead=lang.strong(t + "lead", total=lang.money(ex.total_cents, 0), pupils=school.enrollment),
        per_pupil=lang.strong(t + "per_pupil", per_pupil=per_pupil),
        lines=tuple(lines),
        total=lang.money(ex.total_cents, 0),
        chart=chart,
        compare=_compare(run, lang, row),
        why=why_some_count_more(lang, model),
        questions=_questions(lang, model),
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
    median = _similar_median(run, row["school_id"])
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

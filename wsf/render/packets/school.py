"""The principal's packet of one school: every line as count x rate = amount, with its rule and
source, the transition taken apart, today's spending and similar schools. `principal` returns the
one object `principal.html` sees as `packet`; `wsf.render.packets.context` has the shared
`packet.doc`, and `wsf.render.packets.council` the site council's packet of the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from wsf.engine.allocate import TRANSITION
from wsf.engine.components.lines import Quantity
from wsf.engine.explain import Explanation, explain
from wsf.render.i18n import Language, bold
from wsf.render.packets.context import (
    Document,
    Figure,
    Row,
    Run,
    School,
    Transition,
    details,
    document,
    heading,
    how,
    level_words,
    line_label,
    school_of,
    similar_median,
    transition,
)
from wsf.render.phrases import value_text
from wsf.render.shapes import Bars, Stack, bars, stack


def no_per_pupil_base(model) -> bool:
    """A formula whose base is 0 for every grade, with no per-capita base (SFUSD's staffing model)."""
    return model.per_capita is None and not any(model.base_dollars.values()) and not model.base_adjustment


@dataclass(frozen=True)
class LineRow:
    key: str  # the formula's key: the same name as the table column and the workbook header
    label: str
    count: str  # "" when the line is not count x rate; a position's quantity (1 FTE), costed or not
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


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def principal(run: Run, lang: Language, school_id: str, explanation: Explanation | None = None) -> Principal:
    allocation = run.allocation
    model = allocation.formula.model
    ex = explanation or explain(allocation, school_id, run.allocation_rows)
    row = run.rows[school_id]
    school = school_of(lang, run, row)
    total = ex.total_cents
    # without a [transition] its line is always zero, and the transition section says so; a
    # formula with no per-pupil base at all (a staffing model) has no base line to show
    no_base = no_per_pupil_base(model)
    shown = [x for x in ex.lines if not (x.key == TRANSITION and model.transition is None) and not (x.key == "base" and no_base)]
    lines, parts = [], []  # the table's rows, and the chart's parts of the same lines
    for line in shown:
        quantity = isinstance(line.count, Quantity)  # a position: its FTE (or hours) is the allocation, costed or not
        label, amount = line_label(lang, line), lang.money(line.amount)
        lines.append(
            LineRow(
                key=line.key,
                label=label,
                count=value_text(lang, line.count) if line.calculated or quantity else "",
                rate=value_text(lang, line.rate) if line.calculated else "",
                amount=amount,
                how=how(lang, line),
                source=line.source,
                detail=details(lang, line),
                zero=line.amount == 0 and not (quantity and line.count.value > 0),
            )
        )
        parts.append((label, line.amount, amount, lang.percent(_ratio(line.amount, total))))
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
        heading=heading(lang, "principal", run, school.name),
        intro=lang.say("principal.intro_positions" if model.positions else "principal.intro", **values),
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
        check=explain_command(run, lang, school_id),
    )


def explain_command(run: Run, lang: Language, school_id: str) -> str:
    """The `wsf explain` command that prints the same lines (file names as given, without folders);
    all but the school's id is the same for every school, and written once per run."""
    return f"{run.once(lang, ('explain',), lambda: _explain_files(run.allocation))} --school {school_id}"


def _explain_files(allocation) -> str:
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
    return " ".join(parts)


def _figures(run: Run, lang: Language, row: dict, per_pupil: str) -> tuple[Figure, ...]:
    t = "principal."
    median = similar_median(run, row["school_id"])
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
    elif median is not None:
        figures.append(
            Figure(
                lang.sentence(t + "fig_similar"),
                lang.money(median),
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
    median = similar_median(run, row["school_id"])
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

    def bar(school: dict) -> tuple[str, float, str, bool]:  # another school's: the same in each packet it is in
        return label(school), school["per_pupil"] / 100, lang.money(school["per_pupil"]), False

    rows = [(label(row), (mine or 0) / 100, lang.money(mine), True)]
    rows += [run.once(lang, ("similar", r["school_id"], by_poverty), lambda r=r: bar(r)) for r in others]
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



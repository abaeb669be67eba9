"""One school's allocation, line by line: count x rate = amount, with key, label and source.

The lines' amounts are the allocation table's rounded components, so they sum to the school's
total exactly; count x rate shows how each was computed (rates to a hundredth of a cent).
Packets and the CLI both render these lines. Explaining every school (packets) reads the
allocation's rows once (`by_school`) and passes them in, so no school costs a scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl

from wsf.engine.allocate import TRANSITION, Allocation
from wsf.errors import WsfError
from wsf.formula.grades import GRADES, parse_span


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    amount_cents: int
    count: float | None = None
    rate: float | None = None
    how: str = ""
    source: str = ""
    detail: tuple[str, ...] = field(default=())
    labels: dict[str, str] = field(default_factory=dict)  # the formula's label in other languages


@dataclass(frozen=True)
class Rows:
    """An allocation's tables as rows by school_id: `inputs`, `amounts` (unrounded), `cents` and `pieces`."""

    inputs: dict[str, dict]
    amounts: dict[str, dict]
    cents: dict[str, dict]
    pieces: dict[str, dict]


def by_school(allocation: Allocation, school_ids: list[str] | None = None) -> Rows:
    """The rows of `school_ids` (every school when None), read in one pass over each table."""

    def rows(frame: pl.DataFrame) -> dict[str, dict]:
        if school_ids is not None:
            frame = frame.filter(pl.col("school_id").is_in(school_ids))
        return {row["school_id"]: row for row in frame.iter_rows(named=True)}

    return Rows(rows(allocation.inputs), rows(allocation.amounts), rows(allocation.cents), rows(allocation.pieces))


@dataclass(frozen=True)
class Explanation:
    school_id: str
    name: str
    enrollment: float
    lines: tuple[Line, ...]
    total_cents: int
    per_pupil_cents: int | None


def money(dollars: float, places: int = 2) -> str:
    sign = "-" if dollars < 0 else ""
    return f"{sign}${abs(dollars):,.{places}f}"


def rate_text(rate: float) -> str:
    """Cents when exact, else to a hundredth of a cent, so count x rate can be checked."""
    return money(rate) if abs(rate * 100 - round(rate * 100)) < 1e-6 else money(rate, 4)


def number(value: float) -> str:
    return f"{value:,.0f}" if value == round(value) else f"{value:,.2f}"


def explain(allocation: Allocation, school_id: str, rows: Rows | None = None) -> Explanation:
    """The school's lines; `rows` is `by_school(allocation)`, read once when explaining many schools."""
    rows = rows if rows is not None else by_school(allocation, [school_id])
    if school_id not in rows.inputs:
        known = allocation.inputs["school_id"].head(5).to_list()
        raise WsfError(f"no school with school_id {school_id!r}", key="--school", fix=f"school ids look like: {', '.join(known)}")
    row, amounts, cents = rows.inputs[school_id], rows.amounts[school_id], rows.cents[school_id]
    model = allocation.formula.model
    enrollment = row["enrollment"]
    scale = allocation.scale
    average = amounts["base"] / enrollment if enrollment else 0.0
    lines = [
        Line(
            "base",
            "Base per pupil (adjusted base, by grade)",
            cents["base"],
            enrollment,
            average,
            "average adjusted base per pupil" + (f", scaled by {scale:.6f} to the pot" if model.pot else ""),
            model.formula.source or "",
            _base_detail(allocation, row),
        )
    ]
    for key, weight in model.weights.items():
        if weight.share is not None:
            count = row[weight.share] * enrollment
            share_text = f"{row[weight.share]:.2%} of {number(enrollment)}"
        else:
            count, share_text = row[weight.column], ""
        pupils = max(count - weight.above_share * enrollment, 0.0) if weight.above_share is not None else count
        if weight.per_pupil is not None:
            rate, how = weight.per_pupil, "flat dollars per pupil"
        elif weight.of is not None:
            rate = weight.weight * model.span_rate(weight.of) * scale
            how = f"{weight.weight:g} x the {weight.of.replace('_', '-')} base" if weight.of == "per_capita" else f"{weight.weight:g} x the {weight.of} adjusted base"
        else:
            rate, how = weight.weight * average, f"{weight.weight:g} x the school's average adjusted base"
        if share_text:
            how += f"; {weight.share} {share_text}"
        if weight.above_share is not None:
            how += f"; only pupils above {weight.above_share:.0%} of enrollment count ({number(count)} - {number(weight.above_share * enrollment)})"
        lines.append(Line(key, weight.label, cents[key], pupils, rate, how, model.source_of(weight), labels=weight.labels))
    for key, foundation in model.foundations.items():
        applied = cents[key] != 0
        condition = "" if foundation.when is None else f"; {'applies' if applied else 'does not apply'}: {foundation.when.describe()}"
        if foundation.amount is not None:
            line = Line(key, foundation.label, cents[key], 1 if applied else 0, foundation.amount, "flat amount per school" + condition, model.source_of(foundation))
        else:
            line = _subsidy_line(key, foundation, cents[key], enrollment, amounts["base"], condition, model.source_of(foundation))
        lines.append(replace(line, labels=foundation.labels))
    lines.append(_transition_line(allocation, row.get("_prior"), amounts, cents[TRANSITION], rows.pieces[school_id]))
    if sum(line.amount_cents for line in lines) != cents["total"]:
        raise AssertionError(f"explain lines do not sum to the total of {school_id}")
    return Explanation(school_id, row["name"], enrollment, tuple(lines), cents["total"], cents["per_pupil"])


def _subsidy_line(key: str, foundation, amount: int, enrollment: float, base: float, condition: str, source: str) -> Line:
    """A small-school subsidy: dollars for each pupil below the threshold, then any caps."""
    short = max(foundation.threshold - enrollment, 0.0) if amount else 0.0
    how = f"{money(foundation.per_pupil_short)} for each pupil below {foundation.threshold:,} ({foundation.threshold:,} - {number(enrollment)})"
    caps = []
    if foundation.cap is not None:
        caps.append(money(foundation.cap))
    if foundation.cap_share_of_base is not None:
        caps.append(f"{foundation.cap_share_of_base:.0%} of the base, {money(foundation.cap_share_of_base * base)}")
    if caps:
        how += "; at most " + " and at most ".join(caps)
    return Line(key, foundation.label, amount, short, foundation.per_pupil_short, how + condition, source)


def _base_detail(allocation: Allocation, row: dict) -> tuple[str, ...]:
    """One line per run of grades with the same span and rate, e.g. `K-3: 240 x $5,740.80`."""
    model = allocation.formula.model
    scale = allocation.scale
    if not any(c.startswith("grade_") for c in allocation.inputs.columns):
        span = next(iter(model.base))
        return (f"{span}: {number(row['enrollment'])} x {rate_text(model.grade_rate[GRADES[0]] * scale)}",)
    runs: list[list] = []
    for grade in GRADES:
        column = f"grade_{grade}"
        if column not in row or grade not in model.grade_span:
            continue
        key = (model.grade_span[grade], model.grade_rate[grade])
        if runs and runs[-1][0] == key and runs[-1][2] == GRADES.index(grade) - 1:
            runs[-1][1].append(grade)
            runs[-1][2] += 1
            runs[-1][3] += row[column]
        else:
            runs.append([key, [grade], GRADES.index(grade), row[column]])
    out = []
    for (span, rate), grades, _, pupils in runs:
        if not pupils:
            continue
        name = grades[0] if len(grades) == 1 else f"{grades[0]}-{grades[-1]}"
        bumps = [
            f"+{adj.rate:.1%} {adj.label}" if adj.rate is not None else f"+{money(adj.per_pupil or 0)} {adj.label}"
            for adj in model.base_adjustment
            if set(grades) <= set(parse_span(adj.span))
        ]
        parts = [f"{span} base {money(model.base_dollars[span])}", *bumps]
        if model.pot:
            parts.append(f"x {scale:.6f}")
        out.append(f"grades {name}: {number(pupils)} x {rate_text(rate * scale)} ({', '.join(parts)})")
    return tuple(out)


def _transition_line(allocation: Allocation, prior: float | None, amounts: dict, amount: int, pieces: dict) -> Line:
    """The transition, taken apart: phase-in (gap closure), hold harmless (floor), gain cap; the
    pieces are the engine's, in cents that sum to the line."""
    rules = allocation.formula.model.transition
    if rules is None:
        return Line(TRANSITION, "Transition from last year", amount, how="no transition in this formula")
    formula_amount = money(amounts["_formula_total"])
    if not prior:
        return Line(TRANSITION, "Transition from last year", amount, how=f"new school (no prior allocation): funded at formula, {formula_amount}")
    basis = " per pupil" if rules.basis == "per_pupil" else ""
    parts = [f"prior {money(prior)}; formula {formula_amount}"]
    if rules.gap_closure is not None:
        parts.append(f"phase-in closes {rules.gap_closure:.0%} of the gap")
    if rules.max_loss is not None:
        parts.append(f"floor: lose at most {rules.max_loss:.1%}{basis}")
    parts.append(cap_text(allocation))
    detail = [f"phase-in: {money(pieces['phase_in'] / 100)}"] if rules.gap_closure is not None else []
    if rules.max_loss is not None:
        detail.append(f"hold harmless (the floor lifts this school): {money(pieces['hold_harmless'] / 100)}")
    if allocation.gain_cap is not None:
        detail.append(f"gain cap (what the cap holds back): {money(pieces['gain_cap'] / 100)}")
    source = allocation.formula.model.formula.source or ""
    return Line(TRANSITION, "Transition from last year (phase-in, loss floor and gain cap)", amount, how="; ".join(parts), source=source, detail=tuple(detail))


def cap_text(allocation: Allocation) -> str:
    """The gain cap in force, or why there is none, in a few words."""
    rules = allocation.formula.model.transition
    basis = " per pupil" if rules is not None and rules.basis == "per_pupil" else ""
    if allocation.gain_cap is None:
        return "no gain cap: the loss floor lifts no school" if rules is not None and rules.max_gain is None and allocation.formula.model.pot else "no gain cap"
    binds = "" if allocation.summary()["schools_capped"] else " (binds no school)"
    solved = ", solved so capped gains pay for the floor" if rules is not None and rules.max_gain is None else ""
    return f"gain cap {allocation.gain_cap:+.2%}{basis}{solved}{binds}"


def listing(items: tuple[str, ...], most: int = 10) -> str:
    return ", ".join(items[:most]) + (f" and {len(items) - most:,} more" if len(items) > most else "")


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def transition_facts(allocation: Allocation) -> list[tuple[str, str]]:
    """The transition district-wide, as (heading, sentence) pairs for the run's summary."""
    rules = allocation.formula.model.transition
    if rules is None:
        return []
    s = allocation.summary()
    basis = " per pupil" if rules.basis == "per_pupil" else ""
    facts = []
    if rules.gap_closure is not None:
        facts.append(("phase-in", f"{plural(s['schools_phased_in'], 'school')} closes {rules.gap_closure:.0%} of the gap to formula: {money(s['phase_in_cents'] / 100)}"))
    if rules.max_loss is not None:
        held = s["schools_held_harmless"]
        facts.append(("loss floor", f"{plural(held, 'school')} held to a loss of {rules.max_loss:.1%}{basis}: {money(s['hold_harmless_cents'] / 100)}"
                      if held else f"no school loses more than {rules.max_loss:.1%}{basis}, so the floor lifts none"))
    if allocation.new_schools:
        facts.append(("new", f"{plural(len(allocation.new_schools), 'school')} new this year, funded at formula: {listing(allocation.new_schools)}"))
    if allocation.no_prior_row:
        facts.append(("no prior", f"{plural(len(allocation.no_prior_row), 'school')} not in the prior file, funded at formula as new: "
                      f"{listing(allocation.no_prior_row)} (if new, say so: --new-school ID, or new in the prior column)"))
    if allocation.gain_cap is not None or (rules.max_gain is None and allocation.formula.model.pot):
        capped = s["schools_capped"]
        text = cap_text(allocation)
        facts.append(("gain cap", text.removeprefix("gain cap ") + (f": {plural(capped, 'school')} held back {money(-s['gain_cap_cents'] / 100)}" if capped else "")))
    return facts


def render_summary(allocation: Allocation) -> str:
    """What `wsf allocate` prints: the district's totals, the pot and the transition."""
    model = allocation.formula.model
    s = allocation.summary()
    lines = [
        model.formula.title or model.formula.id,
        f"  {'schools':<11}{s['schools']:,}",
        f"  {'ADA' if model.formula.unit == 'ada' else 'pupils':<11}{number(s['pupils'])}",
        f"  {'total':<11}{money(s['total_cents'] / 100)}",
    ]
    if model.pot:
        lines.append(f"  {'scale':<11}{s['scale']:.6f} on the base and the weights on it, solved to the pot of {money(model.pot.amount)}")
    lines += [f"  {head:<11}{text}" for head, text in transition_facts(allocation)]
    if s["per_pupil_min"] is not None:
        low, middle, high = (money(s[k] / 100) for k in ("per_pupil_min", "per_pupil_median", "per_pupil_max"))
        lines.append(f"  {'per pupil':<11}min {low}  median {middle}  max {high}")
    return "\n".join(lines)


def render_text(explanation: Explanation, allocation: Allocation) -> str:
    model = allocation.formula.model
    head = [
        f"{explanation.school_id}  {explanation.name}",
        f"{model.formula.title or model.formula.id}  (formula {model.formula.id}, sha256 {allocation.formula.sha256[:12]})",
        f"enrollment {number(explanation.enrollment)}",
        "",
    ]
    body = []
    for line in explanation.lines:
        amount = money(line.amount_cents / 100)
        if line.count is not None and line.rate is not None:
            calc = f"{number(line.count)} x {rate_text(line.rate)} = {amount}"
        else:
            calc = f"= {amount}"
        body.append(f"{line.key:<22} {line.label}")
        body.append(f"{'':<22} {calc}")
        body.append(f"{'':<22}   {line.how}")
        body += [f"{'':<22}   {d}" for d in line.detail]
        if line.source:
            body.append(f"{'':<22}   source: {line.source}")
    per_pupil = "n/a (no pupils)" if explanation.per_pupil_cents is None else money(explanation.per_pupil_cents / 100)
    tail = ["", f"{'total':<22} {money(explanation.total_cents / 100)}", f"{'per_pupil':<22} {per_pupil}"]
    return "\n".join(head + body + tail)

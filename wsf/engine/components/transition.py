"""The transition from last year, and the pot: what they did, as lines and terms.

They are not expressions (the solve computes them, `wsf.engine.solve`), but they are lines of
every school's allocation and terms of the formula, so what they mean is said here once: the
transition line taken apart (phase-in, hold harmless, gain cap, in cents that sum to it), the
gain cap in force or why there is none, the district's transition in a few facts, and the
pot's, the transition's and the rounding's terms for the Formula sheet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsf.engine.components.lines import Cents, Count, Factor, Line, Money, Phrase, Share, Term, Words
from wsf.engine.params import School

if TYPE_CHECKING:
    from wsf.formula.model import Formula

TRANSITION = "transition"
SCALE = "pot.scale"  # the workbook's names of the solved scale and gain cap (no key of the formula file)
GAIN_CAP = "transition.gain_cap"


def basis(formula: Formula) -> Phrase | str:
    rules = formula.transition
    return Phrase("per_pupil_basis") if rules is not None and rules.basis == "per_pupil" else ""


def cap_phrase(formula: Formula, gain_cap: float | None, capped: int) -> Phrase | None:
    """The gain cap in force, or why there is none (None: the formula has no cap to speak of)."""
    rules = formula.transition
    if rules is None:
        return None
    solved = rules.max_gain is None and formula.pot is not None and rules.gap_closure is None
    if gain_cap is None:
        return Phrase("cap_none_needed") if solved else None
    kind = ("cap_solved" if solved else "cap_given") + ("" if capped else "_idle")
    return Phrase.of(kind, cap=Share(gain_cap, 2), basis=basis(formula))


def transition_line(school: School, capped: int) -> Line:
    """The transition line of one school: what last year's amount, the phase-in, the floor and
    the cap made of its formula amount."""
    f = school.formula
    amount, rules = school.cents[TRANSITION], f.transition
    source = f.formula.source or ""
    if rules is None:
        return Line(TRANSITION, "", amount, rule=(Phrase("transition_none"),), named=True)
    prior = school.inputs.get("_prior")
    formula_amount = Money(school.amounts["_formula_total"])
    if not prior:
        return Line(TRANSITION, "", amount, rule=(Phrase.of("transition_new", formula=formula_amount),), source=source, named=True)
    rule = [Phrase.of("transition_prior", prior=Money(prior), formula=formula_amount)]
    if rules.gap_closure is not None:
        rule.append(Phrase.of("phase_in", closure=Share(rules.gap_closure, 0)))
    if rules.max_loss is not None:
        rule.append(Phrase.of("floor", max_loss=Share(rules.max_loss, 1), basis=basis(f)))
    cap = cap_phrase(f, school.gain_cap, capped)
    rule += [cap] if cap is not None else [Phrase("cap_none")]
    pieces = school.pieces
    detail = [Phrase.of("piece_phase", amount=Cents(pieces["phase_in"]))] if rules.gap_closure is not None else []
    if rules.max_loss is not None:
        detail.append(Phrase.of("piece_floor", amount=Cents(pieces["hold_harmless"])))
    if school.gain_cap is not None:
        detail.append(Phrase.of("piece_cap", amount=Cents(pieces["gain_cap"])))
    return Line(TRANSITION, "", amount, rule=tuple(rule), detail=tuple(detail), source=source, named=True)


def facts(formula: Formula, summary: dict, gain_cap: float | None, new: tuple[str, ...], unlisted: tuple[str, ...]) -> list[tuple[str, Phrase]]:
    """The district's transition in a few facts: (heading, phrase), headings of the [summary] table."""
    rules = formula.transition
    if rules is None:
        return []
    out = []
    if rules.gap_closure is not None:
        out.append(("phase_in", Phrase.of("fact_phase", schools=Count(summary["schools_phased_in"]), closure=Share(rules.gap_closure, 0),
                                          amount=Cents(summary["phase_in_cents"]))))
    if rules.max_loss is not None:
        held = summary["schools_held_harmless"]
        if held:
            out.append(("floor", Phrase.of("fact_floor", schools=Count(held), max_loss=Share(rules.max_loss, 1), basis=basis(formula),
                                           amount=Cents(summary["hold_harmless_cents"]))))
        else:
            out.append(("floor", Phrase.of("fact_floor_none", max_loss=Share(rules.max_loss, 1), basis=basis(formula))))
    if new:
        out.append(("new", Phrase.of("fact_new", schools=Count(len(new)), ids=Words(tuple(new), "list"))))
    if unlisted:
        out.append(("no_prior", Phrase.of("fact_no_prior", schools=Count(len(unlisted)), ids=Words(tuple(unlisted), "list"))))
    capped = summary["schools_capped"]
    cap = cap_phrase(formula, gain_cap, capped)
    if cap is not None:
        held_back = Phrase.of("fact_capped", schools=Count(capped), amount=Cents(-summary["gain_cap_cents"])) if capped else ""
        out.append(("cap", Phrase.of("fact_cap", cap=cap, capped=held_back)))
    return out


def terms(formula: Formula, scale: float, gain_cap: float | None) -> list[Term]:
    """The pot's, the transition's and the rounding's terms, for the Formula sheet."""
    source = formula.formula.source or ""
    out = []
    if formula.pot is not None:
        out.append(Term("pot", Phrase("term_pot"), "pot", Money(formula.pot.amount), "dollars", None, Phrase("all_schools"), source, "pot.amount"))
        out.append(Term("scale", Phrase("term_scale"), "solved", Factor(scale, 6, fixed=True), "factor", None, "", Phrase("solved_by_wsf"), SCALE))
    rules = formula.transition
    if rules is not None:
        each = Phrase("schools_with_prior")
        if rules.max_loss is not None:
            out.append(Term(TRANSITION, Phrase.of("term_floor", basis=basis(formula)), "transition", Share(rules.max_loss, 1), "share_of_last_year",
                            None, each, source, "transition.max_loss"))
        if rules.max_gain is not None:
            out.append(Term(TRANSITION, Phrase.of("term_cap", basis=basis(formula)), "transition", Share(rules.max_gain, 1), "share_of_last_year",
                            None, each, source, "transition.max_gain"))
        elif gain_cap is not None:
            out.append(Term(TRANSITION, Phrase.of("term_cap_solved", basis=basis(formula)), "solved", Share(gain_cap, 2), "share_of_last_year",
                            None, each, Phrase("solved_by_wsf"), GAIN_CAP))
        elif formula.pot is not None and rules.gap_closure is None:
            out.append(Term(TRANSITION, Phrase("term_cap_none"), "solved", None, "", None, "", Phrase("solved_by_wsf")))
        if rules.gap_closure is not None:
            out.append(Term(TRANSITION, Phrase("term_phase_in"), "transition", Share(rules.gap_closure, 0), "share_of_gap", None, each, source, "transition.gap_closure"))
    out.append(Term("rounding", Phrase(f"term_rounding_{formula.rounding.to}"), "rounding", None, "", None, "", ""))
    return out

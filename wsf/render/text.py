"""The terminal's text: one school's lines (`wsf explain`) and a run's summary (`wsf allocate`),
rendered from the components' lines and phrases through the language file (English by default).

`money`, `number` and `plural` format the few figures the CLI prints of its own (compare, glide).
"""

from __future__ import annotations

from wsf.engine.allocate import Allocation
from wsf.engine.components.lines import Cents, Money, Quantity
from wsf.engine.components.transition import facts
from wsf.engine.explain import Explanation
from wsf.render.i18n import Language
from wsf.render.phrases import plain, rule_text, shipped, value_text

INDENT = 22  # where an explained line's working starts, under its key


def money(dollars: float, places: int = 2) -> str:
    """Dollars as the CLI's language writes them (one formatter per locale: `Language`)."""
    return shipped().dollars(dollars, places)


def number(value: float) -> str:
    return shipped().number(value)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def line_label(lang: Language, line) -> str:
    """A line's name: the language's for the engine's own lines, else the formula's label."""
    return lang.sentence(f"lines.{line.key}") if line.named else line.labels.get(lang.code, line.label)


def render_text(explanation: Explanation, allocation: Allocation, lang: Language | None = None) -> str:
    """One school, line by line: key and name, count x rate = amount, the rule, the detail, the source."""
    lang = lang or shipped()
    model = allocation.formula.model
    t = "explain."
    out = [
        lang.plain(t + "school", school_id=explanation.school_id, name=explanation.name),
        lang.plain(t + "formula", title=model.formula.title or model.formula.id, id=model.formula.id, sha=allocation.formula.sha256[:12]),
        lang.plain(t + "enrollment", count=lang.number(explanation.enrollment)),
        "",
    ]
    pad = " " * INDENT
    for line in explanation.lines:
        amount = lang.money(line.amount)
        if line.calculated:
            calc = lang.plain(t + "calc", count=value_text(lang, line.count), rate=value_text(lang, line.rate), amount=amount)
        elif isinstance(line.count, Quantity):  # a position with no cost in the formula: its quantity is the allocation
            calc = lang.plain(t + "quantity", quantity=value_text(lang, line.count), amount=amount)
        else:
            calc = lang.plain(t + "amount", amount=amount)
        out += [f"{line.key:<{INDENT}} {line_label(lang, line)}", f"{pad} {calc}"]
        if line.rule:
            out.append(f"{pad}   {rule_text(lang, line.rule)}")
        out += [f"{pad}   {plain(lang, d)}" for d in line.detail]
        if line.source:
            out.append(f"{pad}   {lang.plain(t + 'source', source=line.source)}")
    per_pupil = lang.sentence(t + "no_pupils") if explanation.per_pupil_cents is None else lang.money(explanation.per_pupil_cents)
    return "\n".join([*out, "", f"{'total':<{INDENT}} {lang.money(explanation.total_cents)}", f"{'per_pupil':<{INDENT}} {per_pupil}"])


def transition_facts(allocation: Allocation, lang: Language | None = None) -> list[tuple[str, str]]:
    """The district's transition, as (heading, sentence) pairs."""
    lang = lang or shipped()
    model = allocation.formula.model
    found = facts(model, allocation.summary(), allocation.gain_cap, allocation.new_schools, allocation.no_prior_row)
    return [(lang.sentence(f"summary.{head}"), plain(lang, phrase)) for head, phrase in found]


def render_summary(allocation: Allocation, lang: Language | None = None) -> str:
    """What `wsf allocate` prints: the district's totals, the pot and the transition."""
    lang = lang or shipped()
    model = allocation.formula.model
    s = allocation.summary()
    t = "summary."
    rows = [
        (lang.sentence(t + "schools"), lang.number(s["schools"])),
        (lang.sentence(t + ("ada" if model.formula.unit == "ada" else "pupils")), lang.number(s["pupils"])),
        (lang.sentence(t + "total"), lang.money(s["total_cents"])),
    ]
    if model.pot:
        rows.append((lang.sentence(t + "scale"), lang.plain(t + "scale_text", scale=lang.decimal(s["scale"], 6),
                                                             pot=value_text(lang, Money(model.pot.amount)))))
    rows += transition_facts(allocation, lang)
    if s["per_pupil_min"] is not None:
        low, median, high = (value_text(lang, Cents(s[k])) for k in ("per_pupil_min", "per_pupil_median", "per_pupil_max"))
        rows.append((lang.sentence(t + "per_pupil"), lang.plain(t + "per_pupil_text", low=low, median=median, high=high)))
    return "\n".join([model.formula.title or model.formula.id, *(f"  {head:<11}{text}" for head, text in rows)])

"""The LCFF grants of an allocation, and the percentage to increase or improve services.

A formula file says which of its lines are LCFF's base, supplemental and concentration grants in
an `[lcap]` table (`docs/formula-files.md`), so the percentage is read off the engine's own
allocation, never recomputed beside it: (supplemental + concentration) / base, 5 CCR 15496(a),
the CDE template's "Projected Percentage to Increase or Improve Services" (item 3, 2 divided by 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import polars as pl
from pydantic import Field

from wsf.data.tables import ROW, Table, read_table
from wsf.errors import WsfError
from wsf.formula.types import Key, Strict
from wsf.lcap.numbers import NumberError, dollars, parse_money, points

if TYPE_CHECKING:
    from wsf.engine.allocate import Allocation

GROUPS = ("base", "supplemental", "concentration")
COLUMNS = ("lea", "name", "fiscal_year", *GROUPS, "percentage", "unduplicated_percentage")
SOURCE = "5 CCR 15496(a): the percentage to increase or improve services is the supplemental and concentration grants over the base grant"
EXAMPLE = '[lcap]\nbase = ["base"]\nsupplemental = ["supplemental"]\nconcentration = ["concentration"]'
Lines = Key | Annotated[list[Key], Field(min_length=1)]


class Grants(Strict):
    """`[lcap]`: which lines of the formula are the base, supplemental and concentration grants
    (a key, or a list of keys whose amounts add up to the grant)."""

    base: Lines
    supplemental: Lines
    concentration: Lines | None = None  # a formula without a concentration grant
    source: str | None = None

    def lines(self, group: str) -> tuple[str, ...]:
        value = getattr(self, group)
        return () if value is None else (value,) if isinstance(value, str) else tuple(value)

    def check(self, line_keys: list[str]) -> None:
        """Every key a line of the formula, and no line in two grants (a ValueError with the key path)."""
        seen: dict[str, str] = {}
        for group in GROUPS:
            for key in self.lines(group):
                if key not in line_keys:
                    raise ValueError(f"lcap.{group}: {key!r} is not a line of the formula; its lines are {', '.join(line_keys)}")
                if key in seen:
                    raise ValueError(f"lcap.{group}: {key!r} is already the {seen[key]} grant; a line is one grant")
                seen[key] = group


def grants_of(allocation: Allocation) -> Grants:
    grants = allocation.formula.model.lcap
    if grants is None:
        raise WsfError("the formula has no [lcap] table, so wsf cannot tell which lines are the base, supplemental and concentration grants",
                       file=allocation.formula.path, key="lcap", fix=f"add the table, naming the lines: {EXAMPLE.replace(chr(10), '; ')}")
    return grants


def percentages(allocation: Allocation) -> pl.DataFrame:
    """Per LEA (a row of the allocation): its grants in dollars, the percentage (exact, shown to a
    thousandth of a point; empty without a base grant) and the unduplicated pupil percentage."""
    grants = grants_of(allocation)
    cents = allocation.cents
    sums = {group: cents.select(pl.sum_horizontal([pl.col(k) for k in grants.lines(group)] or [pl.lit(0)])).to_series().to_list()
            for group in GROUPS}
    shares = unduplicated(allocation)
    rows = []
    for i, (lea, name) in enumerate(cents.select("school_id", "name").iter_rows()):
        base, supplemental, concentration = (sums[g][i] for g in GROUPS)
        share = None if base == 0 else Fraction(supplemental + concentration, base)
        rows.append({"lea": lea, "name": name, "fiscal_year": allocation.formula.model.formula.fiscal_year,
                     **{g: dollars(sums[g][i]) for g in GROUPS}, "percentage": points(share),
                     "unduplicated_percentage": None if shares is None else points(shares.get(lea))})
    money, percent = pl.Decimal(None, 2), pl.Decimal(None, 3)
    schema = {"lea": pl.String, "name": pl.String, "fiscal_year": pl.String, **{g: money for g in GROUPS},
              "percentage": percent, "unduplicated_percentage": percent}
    return pl.DataFrame(rows, schema=schema, orient="row")


def unduplicated(allocation: Allocation) -> dict[str, Fraction] | None:
    """Each row's unduplicated pupil percentage, as the formula names it (role `unduplicated`: a
    share column such as LCFF's `upp`, or a count of pupils over enrollment); None if it names none."""
    model = allocation.formula.model
    weight = next((w for w in model.weights.values() if w.role == "unduplicated" and (w.share or w.count)), None)
    column = model.roles.get("unduplicated") or (weight.share or weight.count if weight else None)
    if column is None:
        return None
    share = weight is not None and column == weight.share
    frame = allocation.inputs.select("school_id", "enrollment", column)
    out = {}
    for school, enrollment, value in frame.iter_rows():
        exact = Fraction(Decimal(repr(float(value))))
        pupils = Fraction(Decimal(repr(float(enrollment))))
        out[school] = exact if share else (exact / pupils if pupils else None)
    return out


def meta(allocation: Allocation) -> dict:
    grants = grants_of(allocation)
    return {"lcap": {g: list(grants.lines(g)) for g in GROUPS}, "percentage": SOURCE}


# -- the percentages file, read back for one LEA ---------------------------------------------------


@dataclass(frozen=True)
class Lea:
    """One LEA's grants, in cents, as `wsf lcap percentages` wrote them (the file that says so is `table`)."""

    code: str
    name: str
    fiscal_year: str
    base: int
    supplemental: int
    concentration: int
    unduplicated: Fraction | None
    table: Table

    @property
    def supplemental_concentration(self) -> int:
        return self.supplemental + self.concentration

    @property
    def percentage(self) -> Fraction:
        return Fraction(self.supplemental_concentration, self.base)


def read_lea(path: str | Path, code: str, option: str = "--percentages") -> Lea:
    """The row of `code` in a percentages file, its money exact and its percentage checked against it."""
    table = read_table(path)
    frame = table.frame
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise WsfError(f"no column {', '.join(map(repr, missing))}: this is not a table `wsf lcap percentages` wrote", file=table.path,
                       key=option, fix="give the output of wsf lcap percentages FORMULA --schools FILE -o percentages.csv")
    rows = frame.filter(pl.col("lea").str.strip_chars() == code.strip())
    if rows.height != 1:
        near = frame.filter(pl.col("lea").str.starts_with(code.strip()[:7]))["lea"].head(3).to_list() if code.strip() else []
        hint = f"; codes that begin alike: {', '.join(near)}" if near else ""
        raise WsfError(f"{'no LEA' if rows.height == 0 else f'{rows.height} rows for LEA'} {code!r} in {table.path.name}", key="--lea",
                       fix=f"give the LEA's code as the file's `lea` column writes it (a 14-digit CDS code, e.g. {frame['lea'][0]}){hint}")
    row = rows.row(0, named=True)
    where = {"file": table.path, "row": row[ROW]}
    try:
        base, supplemental, concentration = (parse_money(row[g]) for g in GROUPS)
    except NumberError as error:
        raise WsfError(f"LEA {code}: {error}", key="column base", **where) from None
    if base == 0:
        raise WsfError(f"LEA {code} ({row['name']}) has no base grant, so it has no percentage to increase or improve services", key="column base",
                       fix="an LEA without funded ADA writes no LCAP action tables", **where)
    lea = Lea(code.strip(), row["name"] or "", row["fiscal_year"] or "", base, supplemental, concentration,
              None if not row["unduplicated_percentage"] else Fraction(Decimal(row["unduplicated_percentage"])) / 100, table)
    written = (row["percentage"] or "").strip()
    if written != f"{points(lea.percentage)}":
        raise WsfError(f"LEA {code}: the percentage {written!r} is not (supplemental + concentration) / base = {points(lea.percentage)} of "
                       "the grants in the same row", key="column percentage", fix="the file was changed by hand: write it again with wsf lcap percentages", **where)
    return lea

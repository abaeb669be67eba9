"""Scenarios: two formulas side by side, and a glide path year by year.

(A weight swept over many values is `wsf.engine.sweep`.)
"""

from __future__ import annotations

import polars as pl

from wsf.data.growth import Growth
from wsf.data.schools import Prior, SchoolData
from wsf.engine.allocate import Allocation, allocate
from wsf.errors import WsfError
from wsf.formula.model import LoadedFormula

# -- compare ------------------------------------------------------------------------------


def compare(a: Allocation, b: Allocation) -> pl.DataFrame:
    """Per school: totals under A and B, the change in dollars, per pupil and percent."""
    left = a.cents.select("school_id", "name", "enrollment", pl.col("total").alias("total_a"), pl.col("per_pupil").alias("per_pupil_a"))
    right = b.cents.select("school_id", pl.col("total").alias("total_b"), pl.col("per_pupil").alias("per_pupil_b"))
    joined = left.join(right, on="school_id", how="full", coalesce=True, validate="1:1")
    missing = joined.filter(pl.col("total_a").is_null() | pl.col("total_b").is_null())["school_id"].to_list()
    if missing:
        raise WsfError(f"schools allocated by one formula but not the other: {', '.join(missing[:5])}", fix="give both formulas the same schools")
    return joined.with_columns(
        (pl.col("total_b") - pl.col("total_a")).alias("change"),
        (pl.col("per_pupil_b") - pl.col("per_pupil_a")).alias("change_per_pupil"),
        pl.when(pl.col("total_a") != 0).then((pl.col("total_b") - pl.col("total_a")) / pl.col("total_a")).alias("change_percent"),
    )


def compare_summary(table: pl.DataFrame, threshold: float) -> dict[str, int]:
    return {
        "total_a": int(table["total_a"].sum()),
        "total_b": int(table["total_b"].sum()),
        "gain": int((table["change"] > 0).sum()),
        "lose": int((table["change"] < 0).sum()),
        "gaining": int((table["change_percent"] > threshold).sum()),  # by more than the threshold
        "losing": int((table["change_percent"] < -threshold).sum()),
        "changed": int((table["change"] != 0).sum()),
    }


def side_names(a: LoadedFormula, b: LoadedFormula) -> tuple[str, str]:
    """What the two sides are called: the file and what --set changed in it, and the formula's
    id where the two ids differ."""
    ids = [f.model.formula.id for f in (a, b)]
    if ids[0] == ids[1]:
        return a.label, b.label
    return f"{a.label} ({ids[0]})", f"{b.label} ({ids[1]})"


def one_school(table: pl.DataFrame, school_id: str) -> pl.DataFrame:
    """The rows of one school of a per-school table, or an error naming the nearest ids."""
    import difflib

    rows = table.filter(pl.col("school_id") == school_id)
    if rows.height:
        return rows
    ids = table["school_id"].unique(maintain_order=True).to_list()
    near = difflib.get_close_matches(school_id, ids, n=3, cutoff=0.6)
    raise WsfError(f"no school {school_id!r} in the school data", key="--school",
                   fix=f"did you mean {' or '.join(near)}?" if near else f"give a school_id of the data, e.g. {', '.join(ids[:3])}")


# -- glide path ---------------------------------------------------------------------------


def glide(formula: LoadedFormula, schools: SchoolData, prior: Prior | pl.DataFrame, years: int,
          growth: Growth | None = None) -> tuple[pl.DataFrame, int]:
    """Each school's amount year by year under the formula's transition until every school
    is at 100% of formula (to the cent), or until `years`, the year the phase-in ends at 100%.

    The formula is held at this year's; so is enrollment, or with `growth` every pupil count
    (grades, enrollment and the counts the weights read; not shares) grows as a projection does,
    by one share a year or by each school's own (`wsf.data.growth`): year 1 is this year's data,
    year y's counts are the product of the growths into years 2..y times it, fractions of a
    pupil kept (to a millionth). Then each year's formula amount is at that year's
    enrollment (columns enrollment_N and formula_N beside year_N). Returns the table and the
    year every school reached its formula amount."""
    model = formula.model
    first, prior = (prior, prior.frame) if isinstance(prior, Prior) else (Prior(prior), prior)
    if model.transition is None:
        raise WsfError("a glide path needs a [transition] in the formula", file=formula.path, fix="add [transition] (max_loss, max_gain or gap_closure)")
    untransitioned = LoadedFormula(model=model.model_copy(update={"transition": None}), path=formula.path, sha256=formula.sha256, tables=formula.tables)
    counted = [c for c in dict.fromkeys([*schools.pupil_columns, "enrollment", *model.count_columns]) if c in schools.frame.columns]

    def in_year(year: int) -> SchoolData:
        if growth is None or year == 1:
            return schools
        factor = growth.factor(schools.frame["school_id"], year)
        return SchoolData(schools.frame.with_columns((pl.col(c).cast(pl.Float64) * factor).round(6) for c in counted), schools.pupil_columns, schools.sources)

    at_formula = allocate(untransitioned, schools)
    target = at_formula.cents.select("school_id", pl.col("total").alias("formula"))
    last_year = prior.select("school_id", (pl.col("prior") * 100).round(0).cast(pl.Int64).alias("prior"))
    table = at_formula.cents.select("school_id", "name", "enrollment").join(last_year, on="school_id", how="left").join(target, on="school_id")
    last = prior.select("school_id", "prior", *[c for c in prior.columns if c == "prior_enrollment"])
    for year in range(1, years + 1):
        data = in_year(year)
        goal = target if growth is None else allocate(untransitioned, data).cents.select("school_id", pl.col("total").alias("formula"))
        if growth is not None:
            table = table.join(data.frame.select("school_id", pl.col("enrollment").alias(f"enrollment_{year}")), on="school_id").join(
                goal.rename({"formula": f"formula_{year}"}), on="school_id")
        if year == years:
            cents = goal.rename({"formula": f"year_{year}"})
        else:  # the first year from last year's file (with what was said of it), then each year from the one before
            result = allocate(formula, data, first if year == 1 else last)
            cents = result.cents.select("school_id", pl.col("total").alias(f"year_{year}"))
        table = table.join(cents, on="school_id")
        if (table[f"year_{year}"] == table["formula" if growth is None else f"formula_{year}"]).all():
            return table, year
        last = cents.select("school_id", (pl.col(f"year_{year}") / 100).alias("prior"))
        if "prior_enrollment" in prior.columns:
            last = last.join(data.frame.select("school_id", pl.col("enrollment").alias("prior_enrollment")), on="school_id")
    return table, years


def floor_breaks(formula: LoadedFormula, table: pl.DataFrame) -> pl.DataFrame:
    """Each school and year of a glide path that loses more of the year before than the loss
    floor (`transition.max_loss`) allows: school_id, name, year, from and to (cents), loss (a
    share). A phase-in forced to 100% of formula in its last year can break the floor; a year
    the transition computes cannot (a cent of rounding aside)."""
    columns = {"school_id": pl.String, "name": pl.String, "year": pl.Int64, "from": pl.Int64, "to": pl.Int64, "loss": pl.Float64}
    transition = formula.model.transition
    if transition is None or transition.max_loss is None:
        return pl.DataFrame(schema=columns)
    years = [c for c in table.columns if c.startswith("year_")]
    rows = []
    for before, column in zip(["prior", *years], years, strict=False):
        rows.append(table.select(
            "school_id", "name", pl.lit(int(column.removeprefix("year_"))).alias("year"),
            pl.col(before).alias("from"), pl.col(column).alias("to"),
        ))
    steps = pl.concat(rows) if rows else pl.DataFrame(schema=columns)
    floor = pl.col("from").cast(pl.Float64) * (1 - transition.max_loss)
    return (steps.filter(pl.col("from").is_not_null() & (pl.col("from") > 0) & (pl.col("to") < floor - 1))
            .with_columns((1 - pl.col("to") / pl.col("from")).alias("loss"))
            .sort("year", "school_id").select(list(columns)))

"""A district's cost drivers: the counts the sizing rules multiply (enrollment, ADA, square feet,
custodians...), each with its year and source, in a small TOML file.

Only what is known goes in: a driver the district has not published is left out, and every
opportunity that needs it says so instead of being sized on a guess. Names are the catalog's
(`[drivers]`), so a misspelt one is an error with the name meant, not a silently unsized rule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from wsf.errors import WsfError
from wsf.formula.model import line_of, read_toml
from wsf.formula.types import FIX, Key, Strict
from wsf.tradeoffs.catalog import REFERENCE, Catalog, suggest, validate

WHOLE = ("pupils", "schools", "riders", "meals")  # units counted in whole numbers
MOST = {"pupils": 2e6, "ada": 2e6, "fte": 1e5, "schools": 5_000, "square_feet": 1e9, "days": 1e6, "dollars": 1e7, "riders": 2e6, "meals": 1e9, "ratio": 1_000}


class District(Strict):
    name: Annotated[str, Field(min_length=1)]
    fiscal_year: str | None = None
    source: str | None = None


class Driver(Strict):
    value: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    year: str | None = None
    source: Annotated[str, Field(min_length=1)]
    note: str | None = None


class DriversFile(Strict):
    district: District
    drivers: dict[Key, Driver] = {}

    @model_validator(mode="after")
    def _some(self) -> DriversFile:
        if not self.drivers:
            raise ValueError(f"drivers: the file gives no driver{FIX}give at least one, e.g. [drivers.enrollment] value = 51898, source = \"...\"")
        return self


@dataclass(frozen=True)
class Drivers:
    district: District
    values: dict[str, Driver]
    path: Path | None = None
    sha256: str | None = None

    def shown(self, name: str) -> str:
        driver = self.values[name]
        year = f" ({driver.year})" if driver.year else ""
        return f"{name} {number(driver.value)}{year}"


def number(value: float) -> str:
    """A count as written: 49,204 or 44,793.75, never 4.47938e+04."""
    value = float(value)
    return f"{int(value):,}" if value == int(value) else f"{value:,.6f}".rstrip("0")


def load_drivers(path: str | Path, catalog: Catalog) -> Drivers:
    """The drivers file, checked against the catalog's driver names and units."""
    path = Path(path)
    raw, text, data = read_toml(path, "drivers", f"see {REFERENCE}", REFERENCE)
    model = validate(DriversFile, data, path, text)
    errors = []
    for name, driver in model.drivers.items():
        key = f"drivers.{name}"
        if name not in catalog.drivers:
            errors.append(WsfError(f"{name!r} is not a driver the catalog knows{suggest(name, catalog.drivers)}", file=path,
                                   line=line_of(text, key), key=key, fix="the catalog's [drivers] names every driver a rule can use"))
            continue
        unit = catalog.drivers[name].unit
        if unit in WHOLE and driver.value != int(driver.value):
            errors.append(WsfError(f"{driver.value:g} {unit} is not a whole number", file=path, line=line_of(text, f"{key}.value"), key=f"{key}.value",
                                   fix=f"{unit} are counted whole; average daily attendance (ada) may have decimals"))
        if driver.value > MOST[unit]:
            errors.append(WsfError(f"{driver.value:,g} {unit} is more than any district has (at most {MOST[unit]:,g})", file=path,
                                   line=line_of(text, f"{key}.value"), key=f"{key}.value", fix="check the value and its unit"))
    if errors:
        raise WsfError.many(errors)
    return Drivers(model.district, dict(model.drivers), path, hashlib.sha256(raw).hexdigest())


NONE = Drivers(District(name="the district"), {})  # no drivers file: every rule that needs one says so

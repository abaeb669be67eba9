"""`wsf tradeoffs`: the catalog, the ledger(s), the drivers and a plan in; one folder out.

`run` reads and checks everything (the catalog against the ledger's code tables, the drivers
against the catalog, the plan against both) and sizes the opportunities on the latest year;
`write_report` writes the folder: budget.csv (and by resource and goal), growth.csv with two
years or more, opportunities.csv, plan.csv and formula.toml with a plan, tradeoffs.html and
meta.json (every input and output by SHA-256). The folder is built aside and swapped in whole, so
a failed run leaves the previous one as it was; it may hold nothing this command did not write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from wsf import __version__
from wsf.data.tables import file_sha256, load_mapping
from wsf.tradeoffs.catalog import LoadedCatalog, check_codes, load_catalog
from wsf.tradeoffs.drivers import NONE, Drivers, load_drivers, number
from wsf.tradeoffs.ledger import Ledger, as_dollars, growth, read_ledger, tree
from wsf.tradeoffs.page import page_of, render_page
from wsf.tradeoffs.plan import Plan, load_plan, plan_rows, raised_formula
from wsf.tradeoffs.sizing import Sized, size_all
from wsf.write.atomic import folder_into_place
from wsf.write.files import check_folder_target, check_output, write_table

META = "meta.json"
PAGE = "tradeoffs.html"
NAMES = ("budget.csv", "budget-resource.csv", "budget-goal.csv", "growth.csv", "opportunities.csv", "plan.csv", "formula.toml", PAGE, META)


@dataclass(frozen=True)
class Tradeoffs:
    catalog: LoadedCatalog
    ledgers: list[Ledger]  # by fiscal year; the last is sized
    drivers: Drivers
    budget: int  # cents, the latest year's
    sized: list[Sized]
    plan: Plan | None
    formula: tuple[str, dict] | None  # the plan's formula with its pot raised, and what was done
    mapping: Path | None = None

    @property
    def ledger(self) -> Ledger:
        return self.ledgers[-1]

    def inputs(self) -> list[tuple[str, Path]]:
        files = [("CATALOG", self.catalog.path), *[("--ledger", t.path) for ledger in self.ledgers for t in ledger.sources]]
        files += [("--drivers", self.drivers.path)] if self.drivers.path else []
        files += [("--plan", self.plan.path)] if self.plan else []
        files += [("--ledger-mapping", self.mapping)] if self.mapping else []
        if self.plan is not None and self.plan.formula_path() is not None:
            files.append(("the plan's schools.formula", self.plan.formula_path()))
        return files


def run(catalog: str | Path, ledgers: list[str | Path], drivers: str | Path | None = None, plan: str | Path | None = None,
        mapping: str | Path | None = None) -> Tradeoffs:
    loaded = load_catalog(catalog)
    chart = loaded.model.chart
    read = [read_ledger(path, chart, load_mapping(mapping) if mapping else None) for path in ledgers]
    if len(read) > 1:
        growth(read, chart)  # every year known, each once: says so before anything is sized
        read.sort(key=lambda ledger: ledger.fiscal_year)
    for ledger in read:
        check_codes(loaded, ledger.codes)
    district = load_drivers(drivers, loaded.model) if drivers is not None else NONE
    budget, sized = size_all(loaded.model, read[-1], district)
    chosen = load_plan(plan, loaded.model, sized, budget) if plan is not None else None
    formula = raised_formula(chosen) if chosen is not None and chosen.schools is not None else None
    return Tradeoffs(loaded, read, district, budget, sized, chosen, formula, Path(mapping) if mapping else None)


def opportunities_table(result: Tradeoffs) -> pl.DataFrame:
    areas = result.catalog.model.areas
    rows = []
    for s in result.sized:
        item = s.opportunity
        rows.append({
            "id": item.id, "area": item.area, "area_label": areas[item.area], "title": item.title, "question": item.question,
            "current_spend": s.current, "savings_low": s.low, "savings_high": s.high,
            "share_of_budget": round(s.current / result.budget, 4) if result.budget else None,
            "savings_share_low": None if s.low is None or not result.budget else round(s.low / result.budget, 4),
            "savings_share_high": None if s.high is None or not result.budget else round(s.high / result.budget, 4),
            "sized": s.sized, "ease": item.ease, "constraint": item.constraint.kind, "constraint_note": item.constraint.note,
            "timing": item.timing, "rule": item.sizing.kind, "basis": s.basis, "source": item.source,
        })
    schema = {"current_spend": pl.Int64, "savings_low": pl.Int64, "savings_high": pl.Int64, "share_of_budget": pl.Float64,
              "savings_share_low": pl.Float64, "savings_share_high": pl.Float64}
    return as_dollars(pl.DataFrame(rows, schema_overrides=schema), ["current_spend", "savings_low", "savings_high"])


def write_report(result: Tradeoffs, output: str | Path) -> list[Path]:
    output = Path(output)
    check_output(output, result.inputs(), folder=True)
    check_folder_target(output, lambda name: name in NAMES, "tradeoffs")
    with folder_into_place(output) as temp:
        names = _write_files(result, temp)
    return [output / name for name in names]


def _write_files(result: Tradeoffs, folder: Path) -> list[str]:
    chart = result.catalog.model.chart
    tables = {"budget.csv": tree(result.ledgers, chart)}
    for dimension in ("resource", "goal"):
        if all(dimension in ledger.dimensions for ledger in result.ledgers):
            tables[f"budget-{dimension}.csv"] = tree(result.ledgers, chart, ("fund", dimension))
    if len(result.ledgers) > 1:
        tables["growth.csv"] = growth(result.ledgers, chart)
    tables["opportunities.csv"] = opportunities_table(result)
    if result.plan is not None:
        years = [f"year_{y}" for y in range(1, result.plan.info.years + 1)]
        tables["plan.csv"] = as_dollars(pl.DataFrame(plan_rows(result.plan), schema_overrides={y: pl.Int64 for y in years}), years)
    for name, table in tables.items():
        money = [c for c in table.columns if c == "amount" or c.startswith("amount_") or c == "change"]
        write_table(as_dollars(table, money) if money and table.schema[money[0]] == pl.Int64 else table, folder / name)
    names = list(tables)
    if result.formula is not None:
        (folder / "formula.toml").write_text(result.formula[0], encoding="utf-8", newline="\n")
        names.append("formula.toml")
    (folder / PAGE).write_text(render_page(_page(result)), encoding="utf-8", newline="\n")
    names.append(PAGE)
    meta = _meta(result, {name: file_sha256(folder / name) for name in names})
    (folder / META).write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return [*names, META]


def _page(result: Tradeoffs):
    drivers = result.drivers
    facts = [(result.catalog.model.drivers[name].label, number(d.value) + (f" ({d.year})" if d.year else "")) for name, d in drivers.values.items()]
    sources = [(result.catalog.path.name, result.catalog.sha256), *[(ledger.table.path.name, ledger.table.sha256) for ledger in result.ledgers]]
    if drivers.path is not None:
        sources.append((drivers.path.name, drivers.sha256))
    if result.plan is not None:
        sources.append((result.plan.path.name, result.plan.sha256))
    name = drivers.district.name if drivers.path is not None else (result.ledger.lea_name or "The district")
    return page_of(result.catalog.model, result.sized, result.budget, name, result.ledger.fiscal_year or "", facts, sources, result.plan)


def _meta(result: Tradeoffs, written: dict[str, str]) -> dict:
    def tables(ledger: Ledger) -> list[dict]:
        return [{"file": t.path.name, "sha256": t.sha256} for t in (*ledger.code_tables, *((ledger.lea,) if ledger.lea else ()))]

    sized = [s for s in result.sized if s.sized]
    return {
        "wsf_version": __version__,
        "catalog": {"id": result.catalog.model.catalog.id, "file": result.catalog.path.name, "sha256": result.catalog.sha256},
        "ledgers": [{"file": ledger.table.path.name, "sha256": ledger.table.sha256, "fiscal_year": ledger.fiscal_year,
                     "accounts": ledger.frame.height, "code_tables": tables(ledger)} for ledger in result.ledgers],
        "drivers": None if result.drivers.path is None else {"file": result.drivers.path.name, "sha256": result.drivers.sha256},
        "plan": None if result.plan is None else {"file": result.plan.path.name, "sha256": result.plan.sha256, "id": result.plan.info.id},
        "formula": None if result.formula is None else {k: v for k, v in result.formula[1].items()},
        "budget": {"label": result.catalog.model.budget.label, "fiscal_year": result.ledger.fiscal_year, "amount": _text(result.budget)},
        "opportunities": {"listed": len(result.sized), "sized": len(sized),
                          "savings_low": _text(sum(s.low for s in sized)), "savings_high": _text(sum(s.high for s in sized))},
        "files": [{"file": name, "sha256": sha} for name, sha in written.items()],
    }


def _text(cents: int) -> str:
    """Cents as exact dollars for meta.json: 90802216146 -> "908022161.46"."""
    sign, whole = ("-" if cents < 0 else ""), abs(cents)
    return f"{sign}{whole // 100}.{whole % 100:02d}"

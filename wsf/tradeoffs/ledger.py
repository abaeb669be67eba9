"""A district's general ledger, read as California's SACS reports it, and its budget tree.

A SACS ledger (CDE's unaudited-actuals extract: `Fund, Resource, Projectyear, Goal, Function,
Object, Value`, with `Account` the six joined) is read as it is; any other ledger with fund,
function, object and amount columns is read through a mapping file (`[columns] fund = "Fund
Code"`...). The code tables beside the ledger (`ref_fund_codes.csv`, ...: Code, Title) give
every code its title, and every code the ledger uses must be in them: a code no table knows is
a typo or a different chart of accounts, and money filed under it would be misread. The one
exception is what the catalog's chart lists as `listed = false` (SACS's PCRA allocations).

Money is integer cents from the first step; the budget tree is a sum of them, so it reconciles
to the ledger to the cent by construction, and a test checks that it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from wsf.data.schools import Checks, require_columns
from wsf.data.spending import cents
from wsf.data.tables import ROW, Mapping, Table, read_table
from wsf.engine.allocate import dollars
from wsf.errors import WsfError
from wsf.tradeoffs.catalog import DIMENSIONS, EXPENDITURES, Chart, Selector, in_spec

# CDE's SACS extract: wsf's name = the file's header
SACS = {"fund": "Fund", "resource": "Resource", "projectyear": "Projectyear", "goal": "Goal", "function": "Function",
        "object": "Object", "amount": "Value", "account": "Account", "fiscal_year": "Fiscalyear", "site": "SchoolCode"}
CODE_TABLES = {d: f"ref_{d}_codes.csv" for d in DIMENSIONS}  # beside the ledger, as CDE's extract ships them
REQUIRED = ["fund", "function", "object", "amount"]
PARTS = ["fund", "resource", "projectyear", "goal", "function", "object"]  # an account, in SACS's order


@dataclass(frozen=True)
class Ledger:
    """One year's ledger: `frame` has `_row`, the code columns it has, `major`, `kind` and
    `cents`; `codes` maps each dimension to its table (code -> title)."""

    table: Table
    code_tables: tuple[Table, ...]
    fiscal_year: str | None
    frame: pl.DataFrame
    codes: dict[str, dict[str, str]]
    lea: Table | None = None  # CDE's `*_lea-info.csv` beside the ledger, when there is one
    lea_name: str | None = None  # its `Dname`: the district's name

    @property
    def dimensions(self) -> list[str]:
        return [d for d in DIMENSIONS if d in self.frame.columns]

    @property
    def sources(self) -> tuple[Table, ...]:
        return (self.table, *self.code_tables, *((self.lea,) if self.lea is not None else ()))


def read_ledger(path: str | Path, chart: Chart, mapping: Mapping | None = None) -> Ledger:
    path = Path(path)
    mapping = mapping or _sacs_mapping(path)
    table = read_table(path, mapping)
    headers = {name: value for name, value in (mapping.columns if mapping else {}).items() if isinstance(value, str)}
    checks = Checks(table, headers)  # errors name the file's own columns: 'Value' (amount)
    frame = table.frame
    require_columns(checks, frame, REQUIRED)
    checks.done()
    present = [c for c in [*PARTS, "account", "site", "fiscal_year"] if c in frame.columns]
    frame = frame.with_columns(pl.col(present).str.strip_chars())
    for column in [c for c in present if c in DIMENSIONS]:
        checks.rows(frame, pl.col(column).is_null() | (pl.col(column) == ""), column, "with no code", f"give every account its {column} code")
    frame = cents(checks, frame, ["amount"], "signed_dollars")
    checks.done()
    if "account" in frame.columns and all(p in frame.columns for p in PARTS):
        joined = pl.concat_str(PARTS)
        checks.rows(frame, pl.col("account") != joined, "account", "whose account is not its fund, resource, project year, goal, function and object joined",
                    "the account string and its parts disagree: the file is damaged or was edited by hand; export it again",
                    show=pl.format("{} vs {}", pl.col("account"), joined))
    key = pl.concat_str([c for c in ["site", *PARTS] if c in frame.columns], separator="-")
    checks.rows(frame, key.is_duplicated(), "amount", "with a duplicate account (the same codes twice)",
                "each account appears once in a ledger: remove the repeated row, or add it to the first (two exports pasted together?)",
                show=key)
    checks.done()
    codes, code_tables = _code_tables(path, [d for d in DIMENSIONS if d in frame.columns])
    for dimension, known in codes.items():
        allowed = set(known) | (chart.unlisted if dimension == "object" else set())
        unknown = ~pl.col(dimension).is_in(sorted(allowed))
        checks.rows(frame, unknown, dimension, f"with a {dimension} code that is not in {CODE_TABLES[dimension]}",
                    f"every code must be in the code table (a typo, or another chart of accounts?); {dimension} codes look like "
                    + ", ".join(sorted(known)[:5]))
    checks.done()
    majors = {code: chart.major_of(code) for code in frame["object"].unique().to_list()}
    missing = sorted(c for c, m in majors.items() if m is None)
    if missing:
        checks.rows(frame, pl.col("object").is_in(missing), "object", "with an object in no major object of the catalog's [chart]",
                    f"add the object to a [[chart.objects]] entry of the catalog (its majors: {', '.join(m.major for m in chart.objects)})")
        checks.done()
    frame = frame.with_columns(
        pl.col("object").replace_strict({c: m.major for c, m in majors.items()}, return_dtype=pl.String).alias("major"),
        pl.col("object").replace_strict({c: m.kind for c, m in majors.items()}, return_dtype=pl.String).alias("kind"),
    )
    year = _fiscal_year(checks, frame)
    keep = [ROW, *[d for d in DIMENSIONS if d in frame.columns], "major", "kind", pl.col("amount").alias("cents")]
    lea, name = _lea_info(path)
    return Ledger(table, code_tables, year, frame.select(keep), codes, lea, name)


def _lea_info(path: Path) -> tuple[Table | None, str | None]:
    """The district's name from CDE's LEA file beside the ledger (`sfusd_lea-info.csv`: Dname),
    when there is exactly one such file with one name; else none (a drivers file names it)."""
    found = sorted(path.parent.glob("*lea-info.csv"))
    if len(found) != 1:
        return None, None
    table = read_table(found[0])
    if "Dname" not in table.frame.columns:
        return None, None
    names = table.frame["Dname"].cast(pl.String).str.strip_chars().drop_nulls().unique().to_list()
    return (table, names[0]) if len(names) == 1 and names[0] else (None, None)


def _sacs_mapping(path: Path) -> Mapping | None:
    """CDE's SACS headers, read as they are, when the file has them (else the file's own names)."""
    header = read_table(path).frame.columns if path.suffix.lower() in (".parquet", ".xlsx") else _csv_header(path)
    if not all(SACS[c] in header for c in REQUIRED):
        return None
    return Mapping(columns={name: column for name, column in SACS.items() if column in header})


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            first = handle.readline()
    except OSError:
        return []  # read_table says what is wrong with the file
    separator = max((",", ";", "\t"), key=first.count)
    return [cell.strip().strip('"').strip() for cell in first.split(separator)]


def _code_tables(path: Path, dimensions: list[str]) -> tuple[dict[str, dict[str, str]], tuple[Table, ...]]:
    codes, tables = {}, []
    for dimension in dimensions:
        file = path.parent / CODE_TABLES[dimension]
        if not file.is_file():
            raise WsfError(f"the ledger has a {dimension} column but no {CODE_TABLES[dimension]} beside it", file=path,
                           fix=f"put the {dimension} code table (columns Code, Title) in {path.parent}/ as CDE's SACS extract ships it")
        table = read_table(file)
        checks = Checks(table)
        require_columns(checks, table.frame, ["Code", "Title"])
        checks.done()
        frame = table.frame.with_columns(pl.col("Code", "Title").str.strip_chars())
        checks.rows(frame, pl.col("Code").is_duplicated(), "Code", "with a code listed twice", "list each code once")
        checks.done()
        codes[dimension] = dict(frame.select("Code", pl.col("Title").fill_null("")).iter_rows())
        tables.append(table)
    return codes, tuple(tables)


def _fiscal_year(checks: Checks, frame: pl.DataFrame) -> str | None:
    """The year a ledger covers, as "2020-21" (SACS writes the year it starts: 2020)."""
    if "fiscal_year" not in frame.columns:
        return None
    years = frame["fiscal_year"].drop_nulls().unique().sort().to_list()
    if len(years) != 1 or not years[0].isdigit() or len(years[0]) != 4:
        checks.add(f"the fiscal_year column should hold one year, as SACS writes it (2020 for 2020-21); it holds {', '.join(years[:4]) or 'nothing'}",
                   "fiscal_year", fix="give one ledger file per year")
        checks.done()
    start = int(years[0])
    return f"{start}-{(start + 1) % 100:02d}"


def selected(ledger: Ledger, selector: Selector, expenditures: bool = True) -> pl.Expr:
    """The rows a selector names: every dimension it names matches one of its codes or ranges;
    without `object`, expenditures only (SACS objects 1000-7499) when `expenditures`."""
    conditions = [pl.lit(True)]
    for dimension, specs in selector.named().items():
        codes = [c for c in ledger.frame[dimension].unique().to_list() if any(in_spec(c, s) for s in specs)]
        conditions.append(pl.col(dimension).is_in(codes))
    if selector.object is None and expenditures:
        conditions.append(pl.col("kind").is_in(EXPENDITURES))
    return pl.all_horizontal(conditions)


def spend(ledger: Ledger, selectors: list[Selector]) -> int:
    """Cents in the rows any selector names, each row counted once."""
    if not selectors:
        return 0
    rows = pl.any_horizontal([selected(ledger, s) for s in selectors])
    return int(ledger.frame.filter(rows)["cents"].sum())


# -- the budget tree -----------------------------------------------------------------------------

TREE = ("fund", "function")  # budget.csv: fund x function x major object, as the Budget Roadmap reads it


def tree(ledgers: list[Ledger], chart: Chart, by: tuple[str, ...] = TREE) -> pl.DataFrame:
    """One row per year x `by` x major object: titles from the code tables and the chart,
    the kind (expenditure, other_outgo, transfer_out, revenue...), accounts and amount (dollars)."""
    titles = {m.major: m.title for m in chart.objects}
    frames = []
    for ledger in ledgers:
        missing = [d for d in by if d not in ledger.frame.columns]
        if missing:
            raise WsfError(f"the ledger has no {missing[0]} column, so its budget cannot be rolled up by {missing[0]}", file=ledger.table.path)
        grouped = ledger.frame.group_by([*by, "major", "kind"]).agg(pl.len().alias("accounts"), pl.col("cents").sum())
        grouped = grouped.with_columns(
            pl.lit(ledger.fiscal_year or "", pl.String).alias("fiscal_year"),
            *[pl.col(d).replace_strict(ledger.codes[d], default="", return_dtype=pl.String).alias(f"{d}_title") for d in by],
            pl.col("major").replace_strict(titles, return_dtype=pl.String).alias("object_title"),
        )
        frames.append(grouped)
    order = [f"{c}" for d in by for c in (d, f"{d}_title")]
    return (pl.concat(frames).rename({"major": "object"})
            .select("fiscal_year", *order, "object", "object_title", "kind", "accounts", pl.col("cents").alias("amount"))
            .sort("fiscal_year", *by, "object"))


def as_dollars(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns(*[dollars(c) for c in columns])


def growth(ledgers: list[Ledger], chart: Chart) -> pl.DataFrame:
    """The Budget Projection Tool's question: which areas grew fastest. Per fund, each function and
    each major object of expenditure (objects 1000-7499): amount per year, change from the first
    year to the last, percent and yearly (compound) growth; the largest dollar change first within each fund."""
    years = [ledger.fiscal_year for ledger in ledgers]
    if None in years or len(set(years)) != len(years):
        raise WsfError("growth needs each ledger's fiscal year, each year once: " + ", ".join(f"{ledger.table.path.name} ({ledger.fiscal_year or 'no year'})" for ledger in ledgers),
                       key="--ledger", fix="give one ledger per year, each with a fiscal_year column (SACS's Fiscalyear)")
    ordered = sorted(ledgers, key=lambda ledger: ledger.fiscal_year)
    first, last = _amount(ordered[0]), _amount(ordered[-1])
    titles = {m.major: m.title for m in chart.objects}
    parts = []
    for area, column in (("function", "function"), ("object", "major")):
        per_year = None
        for ledger in ordered:
            spent = ledger.frame.filter(pl.col("kind").is_in(EXPENDITURES)).group_by("fund", column).agg(
                pl.col("cents").sum().alias(_amount(ledger)))
            per_year = spent if per_year is None else per_year.join(spent, on=["fund", column], how="full", coalesce=True)
        names = {**{c: t for ledger in ordered for c, t in ledger.codes.get("function", {}).items()}} if area == "function" else titles
        funds = {c: t for ledger in ordered for c, t in ledger.codes["fund"].items()}
        parts.append(per_year.fill_null(0).with_columns(
            pl.lit(area).alias("area"), pl.col(column).alias("code"),
            pl.col(column).replace_strict(names, default="", return_dtype=pl.String).alias("title"),
            pl.col("fund").replace_strict(funds, default="", return_dtype=pl.String).alias("fund_title"),
        ).drop(column))
    spans = int(ordered[-1].fiscal_year[:4]) - int(ordered[0].fiscal_year[:4])
    amounts = [_amount(ledger) for ledger in ordered]
    table = pl.concat(parts).with_columns((pl.col(last) - pl.col(first)).alias("change"))
    table = table.with_columns(
        pl.when(pl.col(first) > 0).then((pl.col("change") / pl.col(first)).round(4)).alias("change_percent"),
        pl.when((pl.col(first) > 0) & (pl.col(last) >= 0))
        .then(((pl.col(last) / pl.col(first)) ** (1 / spans) - 1).round(4)).alias("annual_growth"),
    )
    return (table.select("fund", "fund_title", "area", "code", "title", *amounts, "change", "change_percent", "annual_growth")
            .sort(["fund", "area", "change", "code"], descending=[False, False, True, False]))


def _amount(ledger: Ledger) -> str:
    return f"amount_{ledger.fiscal_year.replace('-', '_')}"

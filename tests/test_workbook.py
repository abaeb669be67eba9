"""The finance workbook read back with openpyxl: the allocation table's numbers, live totals
that reconcile to the pot, every rate with its source, inert text, identical bytes on rerun."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from conftest import EXAMPLE, EXAMPLE_FORMULA, write_csv
from openpyxl.utils import get_column_letter

from wsf.api import allocate_files
from wsf.data.spending import read_current
from wsf.equity.analysis import analyse
from wsf.render.workbook import write_workbook

HOSTILE = ['=HYPERLINK("http://evil","x")', "+1 School", "-2 School", "@SUM(A1)", "<script>alert(1)</script>"]


@pytest.fixture(scope="module")
def example():
    allocation = allocate_files(EXAMPLE_FORMULA, EXAMPLE / "schools.csv", prior=EXAMPLE / "prior.csv")
    spending = read_current(EXAMPLE / "current.csv")
    return allocation, spending, analyse(allocation, spending)


@pytest.fixture(scope="module")
def book_path(example, tmp_path_factory) -> Path:
    allocation, spending, equity = example
    path = tmp_path_factory.mktemp("book") / "book.xlsx"
    write_workbook(allocation, path, spending, equity)
    return path


def test_sheets(book_path: Path) -> None:
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["Allocations", "Chart", "Poverty", "Change", "Formula", "Equity", "Inputs", "Workings", "Detail"]
    assert book.properties.creator == "wsf" and book.properties.created.year == 2000


def test_allocations_read_back_as_the_allocation_table(example, book_path: Path) -> None:
    allocation = example[0]
    sheet = openpyxl.load_workbook(book_path)["Allocations"]
    table = allocation.table
    rows = list(openpyxl.load_workbook(book_path, data_only=True)["Allocations"].iter_rows(values_only=True))
    assert list(rows[1]) == table.columns  # keys under the labels
    assert rows[0][:3] == ("School ID", "School", "Students") and rows[0][3] == "Base amount per student (by grade)"
    assert rows[0][table.columns.index("poverty")] == "Students from low-income families"
    assert rows[0][table.columns.index("transition")].endswith("(value computed by wsf)")
    assert sheet.freeze_panes == "C3" and sheet.auto_filter.ref == f"A2:{get_column_letter(len(table.columns))}{table.height + 2}"
    for got, want in zip(rows[2 : table.height + 2], table.iter_rows()):  # cached values: the exact amounts, within a cent of the table
        for value, expected in zip(got, want):
            if isinstance(expected, Decimal):
                assert abs(Decimal(str(value)) - expected) < Decimal("0.01")
            else:
                assert value == expected
    money = sheet.cell(row=3, column=table.columns.index("total") + 1)
    assert money.number_format == '"$"#,##0.00;-"$"#,##0.00'
    assert sheet.cell(row=3, column=table.columns.index("poverty") + 1).value.startswith("=Workings!")


def test_totals_are_live_sums_over_the_schools_that_reconcile_to_the_pot(example, book_path: Path) -> None:
    allocation = example[0]
    table = allocation.table
    sheet = openpyxl.load_workbook(book_path)["Allocations"]
    last = table.height + 2  # the last school's Excel row
    totals = last + 1
    assert sheet.cell(row=totals, column=1).value == "Total"
    for name in ["enrollment", *allocation.component_keys, "total"]:
        letter = get_column_letter(table.columns.index(name) + 1)
        assert sheet[f"{letter}{totals}"].value == f"=SUM({letter}3:{letter}{last})", name
    total = get_column_letter(table.columns.index("total") + 1)
    assert sheet[f"A{totals + 1}"].value == "Pot" and sheet[f"{total}{totals + 1}"].value == "=pot.amount"
    assert sheet[f"{total}{totals + 2}"].value == f"=ROUND({total}{totals}-{total}{totals + 1},2)"
    cached = openpyxl.load_workbook(book_path, data_only=True)["Allocations"]
    assert cached[f"{total}{totals}"].value == pytest.approx(244_500_000.00, abs=0.001)
    assert cached[f"{total}{totals + 2}"].value == 0


def test_formula_sheet_lists_every_rate_with_its_source(example, book_path: Path) -> None:
    model = example[0].formula.model
    book = openpyxl.load_workbook(book_path)
    rows = list(book["Formula"].iter_rows(values_only=True))
    columns = ("label", "value", "unit", "rate_used", "applies_to", "kind", "name", "key", "source")
    assert rows[1] == columns and rows[0][:2] == ("Rate", "Value (change me)")
    rates = [dict(zip(columns, row)) for row in rows[2:] if row[7]]
    by_key = {}
    for row in rates:
        by_key.setdefault(row["key"], row)
    for key, weight in model.weights.items():
        assert by_key[key]["label"] == weight.label and by_key[key]["source"] == model.source_of(weight)
        assert by_key[key]["value"] == (weight.weight if weight.weight is not None else weight.per_pupil)
        assert by_key[key]["name"] == f"weights.{key}.{'weight' if weight.weight is not None else 'per_pupil'}"
    for key, foundation in model.foundations.items():
        assert by_key[key]["value"] == foundation.amount and by_key[key]["source"] == model.source_of(foundation)
        assert by_key[key]["name"] == f"foundations.{key}.amount"
    spans = [row for row in rates if row["key"] == "base" and row["kind"] == "base"]
    assert [row["value"] for row in spans] == list(model.base_dollars.values())
    assert [row["name"] for row in spans] == ["base.TK_3", "base.4_5", "base.6_8", "base.9_12"]
    assert by_key["scale"]["value"].startswith("=(pot.amount-") and by_key["scale"]["name"] == "pot.scale"
    cached = {row[6]: row[1] for row in openpyxl.load_workbook(book_path, data_only=True)["Formula"].iter_rows(values_only=True) if row[6]}
    assert cached["pot.scale"] == pytest.approx(example[0].scale)
    assert cached["transition.gain_cap"] == pytest.approx(example[0].gain_cap)
    assert cached["weights.concentration.above_share"] == 0.55  # a rate no term shows has a named cell too
    names = book.defined_names
    for name in ("weights.poverty.weight", "weights.sped_moderate.per_pupil", "foundations.small_school.amount", "base_adjustment_0.rate",
                 "pot.amount", "pot.scale", "transition.gain_cap"):
        assert name in names, name
        assert names[name].attr_text.startswith("Formula!$B$"), name


def test_equity_and_inputs_sheets(example, book_path: Path) -> None:
    allocation, spending, equity = example
    book = openpyxl.load_workbook(book_path)
    rows = list(book["Equity"].iter_rows(values_only=True))
    assert rows[1][:4] == ("measure", "current", "formula", "key")
    stats = {row[3]: row for row in rows if row[3]}
    assert stats["cv"][0] == "Coefficient of variation" and stats["vertical_slope_frl"][0] == "Vertical equity: extra dollars per pupil of frl"
    assert stats["cv"][1] == pytest.approx(equity.stat("cv", "current")) and stats["cv"][2] == pytest.approx(
        equity.stat("cv", "formula")
    )
    assert "band" in {row[0] for row in rows}
    inputs = list(book["Inputs"].iter_rows(values_only=True))
    assert inputs[0][:3] == ("school_id", "name", "level") and "prior" in inputs[0]
    files = {row[1]: row[2] for row in inputs if row[0] in ("formula", "data", "current spending")}
    assert files[allocation.formula.path.name] == allocation.formula.sha256
    for table in (*allocation.sources, *spending.sources):
        assert files[table.path.name] == table.sha256


def test_no_current_spending_no_equity_sheet(example, tmp_path: Path) -> None:
    write_workbook(example[0], tmp_path / "book.xlsx")
    assert openpyxl.load_workbook(tmp_path / "book.xlsx").sheetnames == ["Allocations", "Chart", "Poverty", "Change", "Formula", "Inputs", "Workings", "Detail"]


def test_identical_bytes_on_rerun(example, book_path: Path, tmp_path: Path) -> None:
    allocation, spending, equity = example
    write_workbook(allocation, tmp_path / "again.xlsx", spending, equity)
    assert (tmp_path / "again.xlsx").read_bytes() == book_path.read_bytes()


def test_names_that_look_like_formulas_are_inert(tmp_path: Path) -> None:
    formula = tmp_path / "tiny.toml"
    formula.write_text('[formula]\nid = "tiny"\nsource = "test"\n[base]\nall = 5000\n', encoding="utf-8")
    rows = [{"school_id": f"S{i}", "name": name, "enrollment": 100} for i, name in enumerate(HOSTILE)]
    allocation = allocate_files(formula, write_csv(tmp_path / "schools.csv", rows))
    write_workbook(allocation, tmp_path / "book.xlsx")
    book = openpyxl.load_workbook(tmp_path / "book.xlsx")
    for title in ("Allocations", "Inputs"):
        top = 2 if title == "Allocations" else 1  # Allocations has a label row above its keys
        names = [cell for cell in book[title]["B"][top : len(HOSTILE) + top]]
        assert [c.value for c in names] == HOSTILE
        for cell in names:
            assert cell.data_type == "s"
            if cell.value[0] in "=+-@":
                assert cell.quotePrefix, cell.value


def test_workbook_command(run, example_args, tmp_path: Path) -> None:
    out = tmp_path / "book.xlsx"
    result = run("workbook", *example_args, "--current", EXAMPLE / "current.csv", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.with_name("book.xlsx.meta.json").is_file()
    assert openpyxl.load_workbook(out).sheetnames == ["Allocations", "Chart", "Poverty", "Change", "Formula", "Equity", "Inputs", "Workings", "Detail"]
    bad = run("workbook", *example_args, "-o", tmp_path / "book.csv")
    assert bad.exit_code == 2 and ".xlsx" in bad.output


def test_rows_written_the_fast_way_are_the_public_ways_bytes(tmp_path: Path, monkeypatch) -> None:
    """The school rows (wsf.write.rows.Rows) are the bytes of every cell written by xlsxwriter's
    public calls: 240 schools, past the charts (which send their sheets' rows the public way),
    hostile names late in the sheet (their inert format first used there), last year's amounts."""
    import polars as pl

    from wsf.write import rows

    schools, prior = pl.read_csv(EXAMPLE / "schools.csv"), pl.read_csv(EXAMPLE / "prior.csv")
    copies = [f"C{i}" for i in range(5)]
    grown = pl.concat([schools.with_columns(pl.col("school_id") + c) for c in copies])
    grown = grown.with_columns(pl.when(pl.int_range(pl.len()) % 50 == 49).then(pl.lit(HOSTILE[1])).otherwise(pl.col("name")).alias("name"))
    write_csv(tmp_path / "schools.csv", grown.to_dicts())
    write_csv(tmp_path / "prior.csv", pl.concat([prior.with_columns(pl.col("school_id") + c) for c in copies]).to_dicts())
    formula = EXAMPLE_FORMULA.read_text(encoding="utf-8").replace("[pot]\namount = 244_500_000", "[pot]\namount = 1_222_500_000")
    (tmp_path / "formula.toml").write_text(formula, encoding="utf-8")  # the pot of five copies
    allocation = allocate_files(tmp_path / "formula.toml", tmp_path / "schools.csv", prior=tmp_path / "prior.csv")
    assert allocation.cents.height > 200 and allocation.scale != 1
    spending = read_current(EXAMPLE / "current.csv")
    cells, written = rows.Rows._cells, []
    monkeypatch.setattr(rows.Rows, "_cells", lambda self, ks: written.append((self.sheet.name, len(ks))) or cells(self, ks))
    write_workbook(allocation, tmp_path / "fast.xlsx", spending)
    assert [w for w in written if w[1] > 1] == [(name, allocation.cents.height - 1) for name in ("Allocations", "Inputs", "Workings")]
    monkeypatch.setattr(rows, "NEEDS", (*rows.NEEDS, "_not_in_any_xlsxwriter"))  # every cell the public way
    write_workbook(allocation, tmp_path / "public.xlsx", spending)
    assert (tmp_path / "public.xlsx").read_bytes() == (tmp_path / "fast.xlsx").read_bytes()


def test_detail_sheet_is_count_times_rate_equals_the_live_amount(example, book_path: Path) -> None:
    allocation = example[0]
    sheet = openpyxl.load_workbook(book_path)["Detail"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert rows[0][0] == f"{allocation.table['name'][0]} ({allocation.table['school_id'][0]})"
    base = rows[1]
    assert base[0] == "Base amount per student (by grade)" and base[1] == allocation.table["enrollment"][0]
    assert base[2] == '=IF(B4<>0,D4/B4,"")' and base[3] == "=Allocations!D3"
    total = next(row for row in rows if row[0] == "Total")
    assert total[3] == f"=Allocations!{get_column_letter(allocation.table.columns.index('total') + 1)}3"

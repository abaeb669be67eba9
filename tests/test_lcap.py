"""LCAP: the percentage to increase or improve services from the LCFF formula's own lines, checked
against CDE's published grants, and `wsf lcap tables` as a user runs it: the README's commands on
bundled data, the same bytes every run, every table in the workbook with live formulas, text
that never runs, outputs that never replace an input.

CDE's LCFF Funding Snapshot gives every LEA's base (M), supplemental (N) and concentration (O)
grants. The percentage is (N + O) / M; ours must match it to a thousandth of a point wherever our
grants match CDE's (tests/test_lcff.py): every district without a Necessary Small Schools
allowance. The exceptions follow from LCFF's, each counted here with its rule.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from conftest import ROOT

from wsf.api import allocate_files
from wsf.lcap.grants import percentages
from wsf.lcap.numbers import points

CA = ROOT / "fixtures" / "california"
SNAPSHOT = CA / "lcff_snapshot_2018_19_sd_charter.csv"
ACTIONS = CA / "lcap-actions-example.csv"
UPDATE = CA / "lcap-update-example.csv"
HAYWARD = "01611920000000"
WSF = ["--wsf", ROOT / "formulas/hayward/unduplicated-2018-19.toml", "--schools", CA / "hayward-2018-19-schools.csv"]


@pytest.fixture(scope="module")
def compared() -> pl.DataFrame:
    result = allocate_files(ROOT / "formulas/lcff/2018-19.toml", schools=SNAPSHOT, mapping=CA / "lcff-snapshot-mapping.toml")
    cde = pl.read_csv(SNAPSHOT, infer_schema=False).with_columns(pl.concat_str("County Code", "District Code", "School Code").alias("lea"))
    rows = []
    for row in percentages(result).join(cde, on="lea", validate="1:1").iter_rows(named=True):
        m, n, o = (int(row[k]) for k in ("Base Grant Funding M", "Supplemental Grant Funding N", "Concentration Grant Funding O"))
        rows.append({"lea": row["lea"], "district": row["School Code"] == "0000000",
                     "nss": row["Necessary Small Schools Allowance P"] not in ("N/A", "0"),
                     "ours": row["percentage"], "cde": points(Fraction(n + o, m)) if m else None})
    return pl.DataFrame(rows, schema={"lea": pl.String, "district": pl.Boolean, "nss": pl.Boolean, "ours": pl.Decimal(None, 3), "cde": pl.Decimal(None, 3)})


def agree(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter((pl.col("ours") == pl.col("cde")) | (pl.col("ours").is_null() & pl.col("cde").is_null()))


def test_every_district_without_nss_matches_cde_to_a_thousandth_of_a_point(compared: pl.DataFrame) -> None:
    plain = compared.filter(pl.col("district") & ~pl.col("nss"))
    assert plain.height == 667
    assert agree(plain).height == 667, plain.filter(pl.col("ours") != pl.col("cde"))
    assert (plain["ours"].cast(pl.Float64) - plain["cde"].cast(pl.Float64)).abs().max() == 0


def test_hayward_unified(compared: pl.DataFrame) -> None:
    # (24,401,905 + 17,344,881) / 158,763,208 = 0.2629500... -> 26.295%
    assert compared.filter(pl.col("lea") == HAYWARD)["ours"].item() == Decimal("26.295")


def test_exceptions_follow_lcffs(compared: pl.DataFrame) -> None:
    """NSS districts: CDE's M is the base after the allowance replaces part of it (38 have M = 0), so
    (N + O) / M is not the LCAP's percentage and never ours. Charters: the base matches, the
    concentration grant uses the lesser of the charter's and its host district's UPP, which the
    snapshot does not carry; 19 charters have no ADA, so no percentage on either side."""
    nss = compared.filter(pl.col("district") & pl.col("nss"))
    assert nss.height == 108 and agree(nss).height == 0
    assert nss["cde"].null_count() == 38
    charters = compared.filter(~pl.col("district"))
    assert charters.height == 1_298
    assert agree(charters).height == 816 + 19
    assert charters.filter(pl.col("ours").is_null()).height == 19
    # CDE caps the concentration UPP, so its percentage is never above ours (but for the rounding of N, within $2)
    assert (charters["cde"].cast(pl.Float64) <= charters["ours"].cast(pl.Float64) + 0.001).all()


# -- the commands, as the README runs them ---------------------------------------------------------


@pytest.fixture(scope="module")
def grants(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from wsf.cli import main

    out = tmp_path_factory.mktemp("lcap") / "percentages.csv"
    result = CliRunner().invoke(main, [str(a) for a in ("lcap", "percentages", ROOT / "formulas/lcff/2018-19.toml", "--schools", SNAPSHOT,
                                                        "--mapping", CA / "lcff-snapshot-mapping.toml", "-o", out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "2,073 LEAs" in result.output and "19 LEAs without a base grant" in result.output
    return out


def test_percentages_file_and_its_provenance(grants: Path) -> None:
    table = pl.read_csv(grants, infer_schema=False)
    assert table.columns == ["lea", "name", "fiscal_year", "base", "supplemental", "concentration", "percentage", "unduplicated_percentage"]
    assert table.filter(pl.col("lea") == HAYWARD).row(0) == (HAYWARD, "Hayward Unified", "2018-19", "158763208.00", "24401905.00",
                                                            "17344881.00", "26.295", "76.850")
    meta = json.loads(grants.with_name(grants.name + ".meta.json").read_text())
    assert meta["lcap"] == {"base": ["base"], "supplemental": ["supplemental"], "concentration": ["concentration"]}
    assert meta["output"]["sha256"] == hashlib.sha256(grants.read_bytes()).hexdigest()


def tables(run, grants: Path, out: Path, *extra) -> object:
    return run("lcap", "tables", ACTIONS, "--lea", HAYWARD, "--percentages", grants, "--update", UPDATE, "--update-percentages", grants,
               *WSF, *extra, "-o", out)


def test_tables_from_the_bundled_example(run, grants: Path, tmp_path: Path) -> None:
    out = tmp_path / "hayward"
    result = tables(run, grants, out)
    assert result.exit_code == 0, result.output
    assert "planned 26.757%: meets the required 26.446%" in result.output
    assert "same year as the coming year's" in result.stderr  # the illustration gives 2018-19's grants for both years, and is told so
    assert sorted(p.name for p in out.iterdir()) == sorted([
        "summary.csv", "total_planned_expenditures.csv", "contributing_actions.csv", "annual_update.csv", "contributing_actions_annual_update.csv",
        "wsf_by_action.csv", "tables.xlsx", "tables.html", "overview.html", "overview.es.html", "meta.json"])
    summary = {(t, i): v for t, i, v in pl.read_csv(out / "summary.csv", infer_schema=False).select("table", "item", "value").iter_rows()}
    assert summary[("contributing_actions", "3")] == "26.295"
    assert summary[("lcff_carryover", "12")] == "239259.58"  # (26.295...% - 26.144...%) x 158,763,208, half up once
    assert summary[("contributing_actions", "carryover")] == summary[("lcff_carryover", "13")] == "0.151"
    # what the school formula sends per action is the allocation's own column, summed in cents
    allocation = allocate_files(ROOT / "formulas/hayward/unduplicated-2018-19.toml", schools=CA / "hayward-2018-19-schools.csv")
    sent = {a: Decimal(v) for a, v in pl.read_csv(out / "wsf_by_action.csv", infer_schema=False).select("action", "amount").iter_rows()}
    assert sent == {"2.1": Decimal(allocation.cents["supplemental"].sum()) / 100, "2.2": Decimal(allocation.cents["concentration"].sum()) / 100}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["lea"]["code"] == HAYWARD and meta["school_formula"]["formula"]["id"] == "hayward-unduplicated-2018-19"
    assert {i["role"] for i in meta["inputs"]} == {"actions", "percentages", "update", "update_percentages", "school_formula", "school_data"}
    spanish = (out / "overview.es.html").read_text(encoding="utf-8")
    assert 'lang="es-US"' in spanish and "Resumen del presupuesto del LCFF para los padres" in spanish and "$41,746,786.00" in spanish


def test_the_same_inputs_give_the_same_bytes(run, grants: Path, tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        assert tables(run, grants, tmp_path / name).exit_code == 0
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((tmp_path / name).iterdir())})
    assert digests[0] == digests[1]


def test_the_workbook_has_every_table_with_live_formulas(run, grants: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    assert tables(run, grants, tmp_path / "out").exit_code == 0
    book = openpyxl.load_workbook(tmp_path / "out" / "tables.xlsx")
    assert book.sheetnames == ["Total Planned Expenditures", "Contributing Actions", "Annual Update", "Contributing Annual Update",
                               "LCFF Carryover", "School formula by action", "Inputs"]
    contributing = book["Contributing Actions"]
    labels = {contributing.cell(row, 2).value: row for row in range(3, 14)}
    three = labels["Projected Percentage to Increase or Improve Services for the Coming School Year"]
    assert contributing.cell(three, 3).value == f"=C{labels['Projected LCFF Supplemental and/or Concentration Grants']}/C{labels['Projected LCFF Base Grant']}"
    carry = book["LCFF Carryover"]
    twelve = next(r for r in range(3, 12) if carry.cell(r, 1).value == "12")
    assert carry.cell(twelve, 3).value.startswith("=ROUND(MAX(0,")
    header_row = next(r for r in range(1, 30) if contributing.cell(r, 1).value == "Goal #")
    headers = [c.value for c in contributing[header_row]]
    assert headers[:3] == ["Goal #", "Action #", "Action Title"] and headers[-1] == "Planned Percentage of Improved Services (%)"
    cached = openpyxl.load_workbook(tmp_path / "out" / "tables.xlsx", data_only=True)["Contributing Actions"]
    assert cached.cell(three, 3).value == pytest.approx(41_746_786 / 158_763_208, abs=1e-12)


def test_text_from_a_cell_never_runs_or_renders(run, grants: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    text = ACTIONS.read_text(encoding="utf-8").replace("Classroom teachers and core curriculum", '"=HYPERLINK(""http://x"",""<script>alert(1)</script>"")"')
    actions = tmp_path / "actions.csv"
    actions.write_text(text, encoding="utf-8")
    result = run("lcap", "tables", actions, "--lea", HAYWARD, "--percentages", grants, *WSF, "--carryover", "0%", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "tables.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "'=HYPERLINK" in (tmp_path / "out" / "total_planned_expenditures.csv").read_text(encoding="utf-8")
    sheet = openpyxl.load_workbook(tmp_path / "out" / "tables.xlsx")["Total Planned Expenditures"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_a_shortfall_is_written_only_as_a_draft(run, grants: Path, tmp_path: Path) -> None:
    result = run("lcap", "tables", ACTIONS, "--lea", HAYWARD, "--percentages", grants, *WSF, "--carryover", "1%", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "rule required_percentage_met" in result.stderr and "0.538% short, $853,401.79" in result.stderr
    assert not (tmp_path / "out").exists()
    result = run("lcap", "tables", ACTIONS, "--lea", HAYWARD, "--percentages", grants, *WSF, "--carryover", "1%", "--allow-shortfall",
                 "--lang", "en", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "0.538% short of the required 27.295% ($853,401.79)" in result.output
    assert "Draft: the contributing actions plan 26.757% against the required 27.295%" in (tmp_path / "out" / "tables.html").read_text(encoding="utf-8")
    assert "falls short of the requirement by <strong>0.538%</strong>" in (tmp_path / "out" / "overview.html").read_text(encoding="utf-8")


def test_an_actions_workbook_reads_as_its_csv(run, grants: Path, tmp_path: Path) -> None:
    import xlsxwriter

    rows = pl.read_csv(ACTIONS, infer_schema=False)
    book = xlsxwriter.Workbook(str(tmp_path / "actions.xlsx"))
    sheet = book.add_worksheet("Actions")
    for col, name in enumerate(rows.columns):
        sheet.write_string(0, col, name)
        for r, value in enumerate(rows[name].to_list(), start=1):
            if value is None:
                continue
            if re.fullmatch(r"\d+(\.\d+)?", value) and name not in ("action",):
                sheet.write_number(r, col, float(value))  # as a spreadsheet stores money and goal numbers
            else:
                sheet.write_string(r, col, value)
    book.close()
    outs = []
    for name, actions in (("csv", ACTIONS), ("xlsx", tmp_path / "actions.xlsx")):
        assert run("lcap", "tables", actions, "--lea", HAYWARD, "--percentages", grants, *WSF, "-o", tmp_path / name).exit_code == 0
        outs.append((tmp_path / name / "summary.csv").read_bytes())
    assert outs[0] == outs[1]


def test_an_output_never_replaces_an_input(run, grants: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    copy = inputs / "actions.csv"
    copy.write_bytes(ACTIONS.read_bytes())
    result = run("lcap", "tables", copy, "--lea", HAYWARD, "--percentages", grants, *WSF, "-o", inputs)
    assert result.exit_code == 2 and "would delete it" in result.stderr
    result = run("lcap", "percentages", ROOT / "formulas/lcff/2018-19.toml", "--schools", copy, "-o", copy)
    assert result.exit_code == 2 and "would overwrite the input" in result.stderr
    assert copy.read_bytes() == ACTIONS.read_bytes()


def test_every_path_option_of_the_lcap_commands_is_guarded(tmp_path: Path) -> None:
    import click

    from wsf.cli import main
    from wsf.errors import WsfError
    from wsf.options import guard_output

    group = main.commands["lcap"]
    for command in group.commands.values():
        kinds = {p.name: p.type for p in command.params if isinstance(p.type, click.Path)}
        for name in kinds.keys() - {"output"}:
            path = tmp_path / "x" / "input.csv"
            ctx = click.Context(command)
            ctx.params = {"output": path.parent if not kinds["output"].file_okay else path, name: path}
            with pytest.raises(WsfError, match="-o"):
                guard_output(ctx)


def test_every_lcap_command_is_in_the_readme_and_its_example_runs_as_copied(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wsf.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for folder in ("formulas", "fixtures"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    wsf = Path(sys.executable).with_name("wsf")
    for name in ("percentages", "tables"):  # in this order: the tables read the percentages
        assert f"wsf lcap {name}" in readme
        text = CliRunner().invoke(main, ["lcap", name, "--help"]).output
        example = " ".join(line.strip().rstrip("\\").strip() for line in text.split("Example:\n", 1)[1].split("\n\n", 1)[0].splitlines())
        done = subprocess.run(shlex.split(example.replace("wsf ", f"{shlex.quote(str(wsf))} ", 1)), cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr


def test_the_overview_as_pdf_is_one_page(run, grants: Path, tmp_path: Path) -> None:
    result = tables(run, grants, tmp_path / "out", "--format", "html,pdf", "--lang", "en,es")
    assert result.exit_code == 0, result.output
    for name in ("overview.pdf", "overview.es.pdf"):
        assert (tmp_path / "out" / name).read_bytes().startswith(b"%PDF")
        info = subprocess.run(["pdfinfo", str(tmp_path / "out" / name)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.MULTILINE), info


def test_the_readmes_lcap_commands_run_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## LCAP: ", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [" ".join(part.strip() for part in c.split("\\\n")) for c in re.split(r"\n(?=wsf )", block.strip())]
    assert [c.split()[:3] for c in commands] == [["wsf", "lcap", "percentages"], ["wsf", "lcap", "tables"]]
    for folder in ("formulas", "fixtures"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    wsf = Path(sys.executable).with_name("wsf")
    for command in commands:
        done = subprocess.run([str(wsf), *shlex.split(command)[1:]], cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "lcap" / "hayward" / "overview.es.html").is_file()


def test_a_location_names_schools_by_name_or_id_a_comma_in_a_name_included() -> None:
    from wsf.lcap.rules import schools_at

    schools = {"S1": ("Martin Luther King, Jr. Middle", Fraction(7, 10)), "S2": ("Hayward High", Fraction(1, 2))}
    chosen, unknown = schools_at("Specific Schools: Martin Luther King, Jr. Middle, hayward high; S2; Nowhere", schools)
    assert [name for name, _ in chosen] == ["Martin Luther King, Jr. Middle", "Hayward High", "Hayward High"] and unknown == ["Nowhere"]
    assert schools_at("All Schools", schools) == (list(schools.values()), [])
    assert schools_at("Specific Grade Spans: K-5", schools)[0] == list(schools.values())  # every school: the cautious reading


def test_the_55_percent_rule_is_for_school_districts() -> None:
    from wsf.lcap.rules import lea_kind

    assert lea_kind("01611920000000") == "district"
    assert lea_kind("01100170112607") == "charter school"  # Envision Academy: its own school code
    assert lea_kind("01100170000000") == "county office"  # Alameda County Office of Education


def test_an_actions_file_with_the_templates_headers_reads_through_a_mapping(run, grants: Path, tmp_path: Path) -> None:
    from wsf.lcap.actions import PLAN

    headers = {c.name: c.header for c in PLAN} | {"justification": "Justification"}
    frame = pl.read_csv(ACTIONS, infer_schema=False)
    frame.rename(headers).write_csv(tmp_path / "data-entry.csv")
    mapping = tmp_path / "template.toml"
    mapping.write_text("[columns]\n" + "".join(f'{name} = "{header}"\n' for name, header in headers.items()), encoding="utf-8")
    outs = []
    for name, extra in (("plain", [ACTIONS]), ("mapped", [tmp_path / "data-entry.csv", "--actions-mapping", mapping])):
        result = run("lcap", "tables", *extra, "--lea", HAYWARD, "--percentages", grants, *WSF, "--lang", "en", "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
        outs.append((tmp_path / name / "summary.csv").read_bytes())
    assert outs[0] == outs[1]


def test_the_bundled_percentages_are_the_commands_output(grants: Path) -> None:
    """fixtures/california/lcff-percentages-2018-19.csv (what `wsf lcap tables --help` runs on) cannot drift from the command."""
    assert (CA / "lcff-percentages-2018-19.csv").read_bytes() == grants.read_bytes()


def test_the_base_can_be_tagged_as_any_line(tmp_path: Path) -> None:
    from wsf.lcap.actions import read_actions
    from wsf.lcap.links import by_action

    bad = ROOT / "tests" / "lcap" / "bad"
    formula = tmp_path / "school.toml"
    formula.write_text((bad / "school.toml").read_text(encoding="utf-8").replace("[base]\nall = 5_000\n", '[base]\nall = 5_000\nlcap = "1.1"\n'),
                       encoding="utf-8")
    allocation = allocate_files(formula, schools=bad / "schools.csv")
    from wsf.data.tables import DataWarning

    with pytest.warns(DataWarning, match="action 2.1 .* plans \\$200,000.00, but the formula's lines tagged 2.1 send \\$470,000.00"):
        table = by_action(allocation, read_actions(bad / "clean.csv"))
    assert [(r["action"], r["line"], r["amount"]) for r in table.rows] == [("1.1", "base", 450_000_000), ("2.1", "supplemental", 47_000_000)]

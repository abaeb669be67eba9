"""Writes the corpus's XLSX files from clean.csv, as district offices save workbooks:

    .venv/bin/python tests/bad_inputs/make_workbooks.py

Deterministic (fixed document dates), so rerunning it changes no byte.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
ROWS = list(csv.reader((HERE / "awkward" / "clean.csv").open(encoding="utf-8")))


def book(path: Path, sheets: list[tuple[str, list[list]]]) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    workbook.set_properties({"created": dt.datetime(2000, 1, 1), "author": "wsf test corpus"})
    for name, rows in sheets:
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value == "":
                    continue
                if isinstance(value, str) and value.isdigit() and not value.startswith("0"):
                    sheet.write_number(r, c, int(value))
                else:
                    sheet.write_string(r, c, str(value))
    workbook.close()


def main() -> None:
    titled = [["Example Unified School District"], ["Enrollment by school, census day 2025"], *ROWS]
    book(HERE / "reject" / "schools_title_rows.xlsx", [("Schools", titled)])
    book(HERE / "awkward" / "title_rows_header_named.xlsx", [("Schools", titled)])
    book(HERE / "reject" / "schools_cover_sheet.xlsx", [("Cover", [["Example Unified"], ["Prepared by the budget office"]]), ("Schools", ROWS)])
    padded = [ROWS[0], *[[f"0{i + 1}0{i + 1}", *row[1:]] for i, row in enumerate(ROWS[1:])]]
    book(HERE / "awkward" / "leading_zeros.xlsx", [("Schools", padded)])


if __name__ == "__main__":
    main()

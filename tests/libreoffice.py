"""Recalculate a workbook in a real spreadsheet application: LibreOffice, headless.

The route: `soffice --headless --convert-to xlsx` of the workbook, in a private user profile
whose settings say "always recalculate on load" for OOXML files (Calc's
`Formula/Load/OOXMLRecalcMode` = 0; by default Calc trusts the values cached in a file written
by "Microsoft Excel", which xlsxwriter says it is, and would recalculate nothing). The file it
writes holds every formula's value as LibreOffice computed it; openpyxl reads them back with
`data_only=True`. Debian's `libreoffice-calc-nogui` is enough (the Makefile's SYSTEM_PACKAGES).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.skip("LibreOffice is not installed (make system installs libreoffice-calc-nogui)")
    return found


def convert(path: Path, to: str, folder: Path) -> Path:
    """`path` converted by headless LibreOffice (`to`: xlsx, pdf, csv), recalculated on load."""
    profile = folder / "lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(PROFILE, encoding="utf-8")
    out = folder / "converted"
    out.mkdir(exist_ok=True)
    subprocess.run([soffice(), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--convert-to", to,
                    "--outdir", str(out), str(path)], check=True, capture_output=True, timeout=300)
    result = out / (path.stem + "." + to.split(":")[0])
    assert result.is_file(), f"LibreOffice wrote no {result.name}"
    return result


def recalculated(path: Path, folder: Path):
    """The workbook's values as LibreOffice recalculates them (an openpyxl workbook, data only)."""
    import openpyxl

    return openpyxl.load_workbook(convert(path, "xlsx", folder), data_only=True)

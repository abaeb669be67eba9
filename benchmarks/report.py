"""The benchmark results table, from pytest-benchmark's JSON, written into the README.

    python benchmarks/report.py out/bench/results.json [README.md]

Rewrites only the text between `<!-- bench:start -->` and `<!-- bench:end -->` in the README;
if the markers are absent, prints the table and says so (nothing is written). The table also
goes to `results.md` beside the JSON. `make bench` runs the benchmarks and then this.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
IN_PROCESS = "roster -> allocation, in process"
WHOLE_PROCESS = "roster -> allocation, whole process"
LABELS = {
    "wsf": "wsf: `allocate_files(formula, students=, schools=)`",
    "wsf-cli": "wsf: `wsf allocate --students … --schools … -o out.parquet`",
    "floor": "floor: Polars reads the roster columns wsf needs",
    "duckdb": "DuckDB: hand-written SQL over the Parquet file",
    "duckdb_checked": "DuckDB: the same SQL after wsf's checks (unique trimmed ids, known grades and schools)",
    "pandas": "pandas: pyarrow read, groupby, formula",
    "polars": "Polars: hand-written lazy query, streaming engine",
    "imports": "start and imports alone: `python -c \"import wsf.cli\"` (no roster read)",
}
ORDER = ["wsf-cli", "wsf", "imports", "floor", "duckdb", "duckdb_checked", "polars", "pandas"]
TARGETS = {
    "ratio_floor": 2.5,  # roster -> allocation, whole process, against reading the Parquet columns
    "ratio_duckdb_checked": 0.5,  # against hand-written DuckDB SQL making the same checks
    "peak_mb": 250.0,
    "cli_seconds": 1.5,
    "sweep_seconds": 0.25,
    "html_seconds": 3.0,  # 10,000 principal + council packets
    "pdf_ms_per_core": 15.0,  # one principal packet, per core
    "lausd_pdf_seconds": 30.0,  # LAUSD's 2,932 principal and council PDFs, en and es, whole process
    "equity_seconds": 1.0,  # 10,000 schools, in process
    "equity_peak_mb": 300.0,  # the same, whole process
    "workbook_seconds": 2.0,  # 10,000 schools
}


def seconds(value: float) -> str:
    if value < 0.001:
        return f"{value * 1e6:.0f} µs"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def load(path: Path) -> tuple[dict, dict[str, dict[str, dict]]]:
    """Benchmarks by group, then by contender (`extra_info["contender"]`, else the test name)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    groups: dict[str, dict[str, dict]] = {IN_PROCESS: {}, WHOLE_PROCESS: {}}
    for bench in data["benchmarks"]:
        if bench.get("stats"):
            name = bench.get("extra_info", {}).get("contender") or bench["name"]
            groups.setdefault(bench.get("group") or bench["name"], {})[name] = bench
    return data, groups


def other_group(title: str, group: dict[str, dict]) -> list[str]:
    """Any other group (the sweep, the packets): median, and per point where `extra_info["points"]` says."""
    points = {name: bench.get("extra_info", {}).get("points") for name, bench in group.items()}
    lines = [f"{title[:1].upper()}{title[1:]}:", ""]
    if any(points.values()):
        lines += ["| benchmark | median | points | per point |", "|---|--:|--:|--:|"]
    else:
        lines += ["| benchmark | median |", "|---|--:|"]
    for name, bench in group.items():
        median, n = bench["stats"]["median"], points[name]
        row = [name, seconds(median)]
        if any(points.values()):
            row += [f"{n:,}" if n else "–", seconds(median / n) if n else "–"]
        lines.append("| " + " | ".join(row) + " |")
    return [*lines, ""]


def rows(group: dict[str, dict], peaks: dict[str, float]) -> list[str]:
    if not group:
        return []
    median = {name: bench["stats"]["median"] for name, bench in group.items()}
    floor, duck = median.get("floor"), median.get("duckdb")
    lines = []
    for name in sorted(group, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        peak = peaks.get(name)
        lines.append(
            "| {} | {} | {} | {} | {} |".format(
                LABELS.get(name, name),
                seconds(median[name]),
                f"{median[name] / floor:.1f}×" if floor else "–",
                f"{median[name] / duck:.2f}×" if duck else "–",
                f"{peak:,.0f}" if peak is not None else "–",
            )
        )
    return lines


def commit(data: dict) -> str:
    info = data.get("commit_info", {})
    if info.get("id") in (None, "", "unversioned"):
        return ""
    return f" at commit {info['id'][:10]}" + (" with uncommitted changes" if info.get("dirty") else "")


def table(path: Path) -> str:
    data, groups = load(path)
    machine = data.get("machine_info", {}).get("wsf_bench", {})
    versions = machine.get("versions", {})
    whole = groups[WHOLE_PROCESS]
    peaks = {name: bench["extra_info"].get("peak_mb") for name, bench in whole.items()}
    header = ["| benchmark | median | × floor | × DuckDB | peak MB |", "|---|--:|--:|--:|--:|"]
    scale = (
        f"Measured {data.get('datetime', '')[:10]} with `make bench`: {machine.get('pupils', 0):,} pupils in "
        f"{machine.get('schools', 0):,} schools (`benchmarks/statewide.toml`: no pot, no transition)."
    )
    where = (
        f"Machine: {machine.get('cores', '?')} cores, {machine.get('cpu_model', '?')}, {machine.get('memory_gb', '?')} GiB; "
        f"Python {machine.get('python', '?')}, Polars {versions.get('polars')}, DuckDB {versions.get('duckdb')}, "
        f"pandas {versions.get('pandas')}, pyarrow {versions.get('pyarrow')}; wsf {versions.get('wsf')}{commit(data)}."
    )
    busy = machine.get("load_average")
    if busy:
        start, end, cores = busy["start"], busy["end"], machine.get("cores", 2)
        where += f" Load average (1 min): {start:.2f} at the start, {end:.2f} at the end (this run alone adds up to ~{cores})."
    lines = [
        scale,
        where,
        "",
        "In process (the call alone; peak MB is that contender's whole-process run):",
        "",
        *header,
        *rows(groups[IN_PROCESS], peaks),
        "",
        "Whole process (interpreter start, imports and output included):",
        "",
        *header,
        *rows(whole, peaks),
    ]
    lines.append("")
    for title, group in groups.items():
        if title not in (IN_PROCESS, WHOLE_PROCESS) and group:
            lines += other_group(title, group)
    return "\n".join(lines) + "\n"


def targets(groups: dict[str, dict[str, dict]]) -> list[str]:
    """The project's speed and memory targets, each with the measured figure and whether it is met
    (printed by `make bench`, kept in results.md and written into the README under the table)."""
    whole = groups[WHOLE_PROCESS]
    median = {name: bench["stats"]["median"] for name, bench in whole.items()}
    checks = []
    ours = "wsf-cli" if "wsf-cli" in median else "wsf"  # the command a user runs, when it was measured
    start = (
        f"{seconds(median['imports'])} of its {seconds(median[ours])} is the interpreter start and `import wsf.cli` alone "
        "(Polars, NumPy, pydantic, the formula model), before a row is read"
        if "imports" in median else ""
    )
    if {ours, "floor"} <= median.keys():
        ratio = median[ours] / median["floor"]
        limit = TARGETS["ratio_floor"]
        checks.append((f"roster -> allocation ≤ {limit:g}× the read floor (whole process)", f"{ratio:.1f}×", ratio <= limit, start))
    if {ours, "duckdb_checked"} <= median.keys():
        ratio = median[ours] / median["duckdb_checked"]
        limit = TARGETS["ratio_duckdb_checked"]
        checks.append((f"roster -> allocation ≤ {limit:g}× DuckDB SQL making the same checks (whole process)",
                       f"{ratio:.2f}×", ratio <= limit, start))
    if "wsf" in whole:
        peak = whole["wsf"]["extra_info"]["peak_mb"]
        checks.append((f"peak memory ≤ {TARGETS['peak_mb']:g} MB", f"{peak:,.0f} MB", peak <= TARGETS["peak_mb"]))
    if "wsf-cli" in whole:
        cli = whole["wsf-cli"]["stats"]["median"]
        checks.append((f"`wsf allocate --students` < {TARGETS['cli_seconds']:g} s", seconds(cli), cli < TARGETS["cli_seconds"]))
    sweeps = [bench for title, group in groups.items() if title.startswith("sweep:") for bench in group.values()
              if bench.get("extra_info", {}).get("contender") == "wsf sweep"]
    for bench in sweeps:
        info, median = bench["extra_info"], bench["stats"]["median"]
        checks.append((f"a {info['points']:,}-point sweep over {info['schools']:,} schools ≤ {TARGETS['sweep_seconds']:g} s ",
                       seconds(median), median <= TARGETS["sweep_seconds"]))
    checks += scale_targets(groups)
    return ["Targets:", ""] + [line(*check) for check in checks]


def line(what: str, got: str, ok: bool, why: str = "") -> str:
    """A target's line: met, or not met with the measured why when the run measured one."""
    return f"- {what}: {got} — " + ("met" if ok else f"not met: {why}" if why else "not met")


def contender(groups: dict[str, dict[str, dict]], prefix: str, name: str) -> dict | None:
    """The benchmark of contender `name` in the group whose title starts with `prefix`."""
    for title, group in groups.items():
        if title.startswith(prefix):
            for key, bench in group.items():
                if key == name or bench.get("extra_info", {}).get("contender") == name:
                    return bench
    return None


def scale_targets(groups: dict[str, dict[str, dict]]) -> list[tuple[str, str, bool]]:
    """Packets, equity and the workbook at district and state scale (issue 19)."""
    checks = []
    html = contender(groups, "packets: HTML", "write_packets: principal and council of half the schools")
    if html:
        info = html["extra_info"]
        checks.append(within(html, f"{info['packets']:,} HTML packets (principal and council of {info['schools']:,} schools)", "html_seconds")
                      + (html_why(info),))
    pdf = contender(groups, "packets: PDF", "test_pdf_per_school_per_core")
    if pdf and "ms_per_packet_per_core" in pdf["extra_info"]:
        info = pdf["extra_info"]
        got = info["ms_per_packet_per_core"]
        checks.append((f"a principal PDF ≤ {TARGETS['pdf_ms_per_core']:g} ms per core", f"{got:.1f} ms", got <= TARGETS["pdf_ms_per_core"],
                       pdf_why(info)))
    lausd = contender(groups, "packets: PDF", "lausd")
    if lausd:
        info = lausd["extra_info"]
        files, workers = info.get("files", 2932), info.get("workers", 2)
        why = (f"Typst alone takes {info['typst_ms_per_pdf']:.1f} ms of CPU a PDF, {info['typst_ms_per_pdf'] * files / workers / 1000:.1f} s "
               f"for {files:,} PDFs on {workers} cores" if "typst_ms_per_pdf" in info else "")
        checks.append(within(lausd, f"LAUSD's {files:,} PDFs", "lausd_pdf_seconds") + (why,))
    equity = contender(groups, "equity", "wsf: analyse + write_report")
    if equity:
        checks.append(within(equity, f"equity for {equity['extra_info']['schools']:,} schools", "equity_seconds"))
    whole = contender(groups, "equity", "wsf equity (whole process)")
    if whole:
        peak = whole["extra_info"]["peak_mb"]
        checks.append((f"`wsf equity` peak memory ≤ {TARGETS['equity_peak_mb']:g} MB", f"{peak:,.0f} MB", peak <= TARGETS["equity_peak_mb"]))
    book = contender(groups, "workbook", "wsf: write_workbook (the live model: every sheet, formulas, charts)")
    if book:
        checks.append(within(book, f"the workbook for {book['extra_info']['schools']:,} schools", "workbook_seconds"))
    return checks


def html_why(info: dict) -> str:
    """Where an HTML packet's time goes (benchmarks/parts.py), and what Jinja and the files alone would take."""
    if "parts" not in info:
        return ""
    p, packets, workers = info["parts"], info["packets"], info.get("workers", 2)
    alone = (p["render"] + p["file"]) * packets / workers / 1000
    return (f"timed in parts on {info.get('parts_schools', 'some')} of the schools, a packet takes {p['objects'] + p['render'] + p['file']:.2f} ms of CPU: its objects {p['objects']:.2f} ms "
            f"(`explain` included), Jinja {p['render']:.2f} ms, the file {p['file']:.2f} ms; Jinja and the files alone for "
            f"{packets:,} packets on {workers} cores would take {alone:.2f} s")


def pdf_why(info: dict) -> str:
    """Where a principal PDF's time goes, beside Typst laying out the same words as plain lines."""
    if "parts" not in info:
        return ""
    p = info["parts"]
    return (f"timed in parts on {info.get('parts_schools', 'some')} of the schools, Typst's layout and PDF export take {p['typst']:.1f} ms "
            f"a packet and wsf's part (the packet object, its JSON) {p['wsf']:.1f} ms; Typst lays out the same words as plain lines "
            f"({p['pages']:.1f} pages) in {p['plain']:.1f} ms, so the rest is the packet's tables, charts and boxes")


def within(bench: dict, what: str, target: str) -> tuple[str, str, bool]:
    """A timing target: what, the median measured, and whether it is within TARGETS[target] seconds."""
    median = bench["stats"]["median"]
    return f"{what} ≤ {TARGETS[target]:g} s", seconds(median), median <= TARGETS[target]


def rewrite(readme: Path, text: str) -> bool:
    """Replace the text between the markers; False (and nothing written) if they are absent."""
    content = readme.read_text(encoding="utf-8")
    start, end = content.find(START), content.find(END)
    if start < 0 or end < start:
        return False
    updated = content[: start + len(START)] + "\n" + text + content[end:]
    fd, temp = tempfile.mkstemp(prefix=f".{readme.name}.", suffix=".part", dir=readme.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(updated)
    shutil.copymode(readme, temp)
    os.replace(temp, readme)
    return True


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = Path(argv[0])
    readme = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "README.md"
    text = table(results)
    goals = "\n".join(targets(load(results)[1])) + "\n"
    results.with_name("results.md").write_text(text + "\n" + goals, encoding="utf-8")
    print(goals)
    if rewrite(readme, text + "\n" + goals):
        print(f"wrote the results table into {readme} (between {START} and {END})")
    else:
        print(text)
        print(f"{readme} has no {START} ... {END} markers: the table above was not written into it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

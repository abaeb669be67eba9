# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PDF packets (WeasyPrint) need Pango, fonts and HarfBuzz's subsetter (without it WeasyPrint
# subsets fonts itself and the PDF bytes differ run to run); the tests read PDFs back with poppler.
# The tradeoffs page is tested in a real headless browser: Debian's chromium and its chromedriver, driven by selenium.
# The finance workbook is recalculated in a real spreadsheet application: LibreOffice Calc, headless (no X11).
SYSTEM_PACKAGES := poppler-utils fonts-liberation fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 chromium chromium-driver \
	libreoffice-calc-nogui

.PHONY: demo test bench clean system

system:
	@if dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
	elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
	else echo "wsf needs these Debian/Ubuntu packages: $(SYSTEM_PACKAGES)"; exit 1; fi

$(STAMP): pyproject.toml | system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: system $(STAMP)
	@echo "== Hayward Unified, 2018-19: 31 real schools (CDE counts), an LCFF-shaped school formula"
	$(BIN)/wsf allocate formulas/hayward/unduplicated-2018-19.toml \
		--schools fixtures/california/hayward-2018-19-schools.csv \
		-o out/hayward/allocations.csv
	$(BIN)/wsf explain formulas/hayward/unduplicated-2018-19.toml \
		--schools fixtures/california/hayward-2018-19-schools.csv --school 01611920138339
	@echo "== San Francisco Unified, 2022-23: SFUSD's WSF as published, every line to the dollar"
	$(BIN)/wsf allocate formulas/sfusd/wsf-2022-23.toml \
		--schools fixtures/sfusd/wsf-2022-23-schools.csv \
		-o out/sfusd/allocations.csv
	$(BIN)/wsf explain formulas/sfusd/wsf-2022-23.toml \
		--schools fixtures/sfusd/wsf-2022-23-schools.csv --school 603
	@echo "== Example Unified: a synthetic district using every key of the formula contract"
	$(BIN)/wsf allocate formulas/example-district.toml \
		--schools fixtures/example-district/schools.csv \
		--prior fixtures/example-district/prior.csv \
		-o out/example-district/allocations.csv
	@echo "== Example Unified: every school's site plan (SPSA budget) checked against its allocation"
	$(BIN)/wsf plan check formulas/example-district.toml \
		--schools fixtures/example-district/schools.csv \
		--prior fixtures/example-district/prior.csv \
		--plan fixtures/example-district/plan.csv \
		-o out/example-district/plan-balances.csv
	@echo "== Example Unified: the site council's plan budget pages of one school, with what changed since it was approved"
	$(BIN)/wsf packets formulas/example-district.toml \
		--schools fixtures/example-district/schools.csv \
		--prior fixtures/example-district/prior.csv \
		--plan fixtures/example-district/plan.csv \
		--approved fixtures/example-district/approved-plan.csv \
		--kind plan --school EX104 -o out/example-district/plans
	@echo "== San Francisco Unified, 2024-25: 102 real schools staffed by rule (positions in FTE), rules fitted to SFUSD's published allocations"
	$(BIN)/wsf allocate formulas/sfusd/staffing-2024-25.toml \
		--schools fixtures/sfusd/staffing-2024-25-schools.csv \
		-o out/sfusd/staffing-2024-25.csv
	$(BIN)/wsf explain formulas/sfusd/staffing-2024-25.toml \
		--schools fixtures/sfusd/staffing-2024-25-schools.csv --school 420
	@echo "== LCAP: Hayward Unified's percentage to increase or improve services (CDE's 2018-19 grants) and action tables (illustrative actions)"
	$(BIN)/wsf lcap percentages formulas/lcff/2018-19.toml \
		--schools fixtures/california/lcff_snapshot_2018_19_sd_charter.csv \
		--mapping fixtures/california/lcff-snapshot-mapping.toml -o out/lcap/percentages.csv
	$(BIN)/wsf lcap tables fixtures/california/lcap-actions-example.csv --lea 01611920000000 \
		--percentages out/lcap/percentages.csv \
		--update fixtures/california/lcap-update-example.csv --update-percentages out/lcap/percentages.csv \
		--wsf formulas/hayward/unduplicated-2018-19.toml --schools fixtures/california/hayward-2018-19-schools.csv \
		-o out/lcap/hayward
	@echo "== San Francisco Unified's general ledger, FY2020-21 and FY2021-22: the budget tree, 31 cost-savings opportunities, a plan"
	$(BIN)/wsf tradeoffs formulas/tradeoffs/smarter-school-spending.toml \
		--ledger fixtures/sfusd/sacs/ua-fy2020-21/sfusd_usergl_fy2020-21.csv \
		--ledger fixtures/sfusd/sacs/ua-fy2021-22/sfusd_usergl_fy2021-22.csv \
		--drivers fixtures/sfusd/sacs/drivers-2021-22.toml \
		--plan formulas/tradeoffs/sfusd-plan-2021-22.toml -o out/tradeoffs
	@echo "== What each school gains when the plan's net savings raise SFUSD's WSF pot"
	$(BIN)/wsf compare formulas/sfusd/wsf-2022-23-pot.toml out/tradeoffs/formula.toml \
		--schools fixtures/sfusd/wsf-2022-23-schools.csv -o out/sfusd/plan-gains.csv
	@echo "== The tradeoffs page: open out/tradeoffs/tradeoffs.html in a browser (it works offline),"
	@echo "   tick savings and investments and watch the net move against the target"

test: system $(STAMP)
	$(BIN)/python -m pytest
	@echo "== benchmarks, small scale, run once each (no timings asserted)"
	WSF_BENCH_PUPILS=60000 WSF_BENCH_POINTS=50 WSF_BENCH_SCHOOLS=200 $(BIN)/python -m pytest benchmarks --benchmark-disable -p no:warnings

# Full scale (6,000,000 pupils; a minute or two); CI runs the small version without timing:
#   WSF_BENCH_PUPILS=60000 .venv/bin/python -m pytest benchmarks --benchmark-disable -q
bench: $(STAMP)
	mkdir -p out/bench
	$(BIN)/python -m compileall -q wsf  # as an installed package is: no process compiles wsf's modules itself
	WSF_BENCH_PUPILS=6000000 $(BIN)/python -m pytest benchmarks --benchmark-autosave \
		--benchmark-json=out/bench/results.json --benchmark-columns=min,median,max,rounds
	$(BIN)/python benchmarks/report.py out/bench/results.json README.md

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis

# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/wsf allocate formulas/example-district.toml \
		--schools fixtures/example-district/schools.csv \
		--prior fixtures/example-district/prior.csv \
		-o out/example-district/allocations.csv
	$(BIN)/wsf explain formulas/example-district.toml \
		--schools fixtures/example-district/schools.csv \
		--prior fixtures/example-district/prior.csv --school EX104

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis

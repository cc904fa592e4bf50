# Quick start: `make report` (the monthly batch on the demo data) and `make test`.
# Both create .venv on first use and refresh it whenever pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-from-pyproject
OUT    ?= output

.PHONY: setup report test lab lint demo-data bench clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/pilot-eval report --out $(OUT)

# unit tests, then every notebook run on the demo data (nbval: a cell that raises fails)
test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --nbval-lax notebooks

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# style, and the one-way layers of evaluation/ (the import contract in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Regenerate the committed demo data from the seeded simulator (a test checks it is identical).
demo-data: $(STAMP)
	$(BIN)/python -m evaluation.demo --out data/demo

bench: $(STAMP)
	$(BIN)/python benchmarks/estimators.py

clean-venv:
	rm -rf $(VENV)

# Quick start: `make report` (the monthly batch on the demo data) and `make test`.
# Both create .venv on first use from the committed lock (uv.lock) — exactly the versions the
# project was tested with — and refresh it whenever pyproject.toml or uv.lock changes.
#
# uv (https://docs.astral.sh/uv/) installs the lock. When no `uv` is on PATH, the Makefile
# installs the pinned release from PyPI into .tools/uv first (one wheel, a few seconds).
#   make lock          re-resolve the newest allowed versions into uv.lock and environment.yml
#   make test-latest   the tests on the newest allowed versions (.venv-latest; the lock untouched)
#   make test-oldest   the tests on the oldest versions pyproject.toml allows (.venv-oldest):
#                      its floors are the oldest versions tested

PYTHON     ?= python3
UV_VERSION := 0.13.10
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed-from-lock
OUT        ?= output

UV ?= $(shell command -v uv 2>/dev/null)
ifeq ($(strip $(UV)),)
UV := .tools/uv/bin/uv
endif
# uv never downloads a Python of its own here: it uses $(PYTHON)
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup report test test-latest test-oldest lock lab lint demo-data bench clean-venv messages

setup: $(STAMP)

.tools/uv/bin/uv:
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --locked: fails if uv.lock no longer matches pyproject.toml (run `make lock`), never re-resolves
$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --extra test --python $(PYTHON)
	$(BIN)/python scripts/catalogue.py compile
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/pilot-eval report --out $(OUT)

# unit tests, then every notebook run on the demo data (nbval: a cell that raises fails)
test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --nbval-lax notebooks

# The same tests on the newest releases pyproject.toml allows, in their own environment: drift
# is caught here before a user meets it. The lock and .venv are not touched.
test-latest: | $(UV)
	$(call test-in,.venv-latest,)

# Exactly the floors of pyproject.toml, its own dependencies' and the test extra's (pinned by
# scripts/floors.py; a floor that cannot be installed with the others fails here): the floors are
# versions that were actually tested.
test-oldest: | $(UV)
	$(UV) venv --allow-existing --python $(PYTHON) .venv-oldest
	$(PYTHON) scripts/floors.py > .venv-oldest/floors.txt
	$(call test-in,.venv-oldest,--resolution lowest-direct -c .venv-oldest/floors.txt)

# $(call test-in,VENV,RESOLUTION): resolve the package and its test extra (--upgrade: never the
# versions of an earlier resolution), make VENV exactly that (pip sync: a version left from an
# earlier run would not be the one tested), then run every test. The analysis cache is the
# environment's own: its key covers the data and the code, not the libraries, and the numbers
# tested here must be computed by these libraries.
define test-in
	$(UV) venv --allow-existing --python $(PYTHON) $(1)
	$(UV) pip compile --quiet --python $(1)/bin/python --upgrade $(2) --extra test \
		pyproject.toml -o $(1)/requirements.txt
	$(UV) pip sync --quiet --python $(1)/bin/python $(1)/requirements.txt
	$(UV) pip install --quiet --python $(1)/bin/python --no-deps -e .
	PILOT_EVAL_CACHE=$(CURDIR)/$(1)/analysis-cache $(1)/bin/python -m pytest -q -p no:cacheprovider
	PILOT_EVAL_CACHE=$(CURDIR)/$(1)/analysis-cache \
		$(1)/bin/python -m pytest -q -p no:cacheprovider --nbval-lax notebooks
endef

# Re-resolve every dependency to the newest allowed release, then write environment.yml from
# the lock (tests/test_environment.py checks that the two agree).
lock: | $(UV)
	$(UV) lock --upgrade --python $(PYTHON)
	$(MAKE) setup
	$(BIN)/python scripts/environment_from_lock.py

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# style, and the one-way layers of evaluation/ (the import contract in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The message catalogues (evaluation/locale): extract every say()/say_in() message, merge it into
# the vi and en catalogues, compile them, and list what is left to translate
messages: $(STAMP)
	$(BIN)/python scripts/catalogue.py update
	$(BIN)/python scripts/catalogue.py compile
	$(BIN)/python scripts/catalogue.py check

# Regenerate the committed demo data from the seeded simulator (a test checks it is identical).
demo-data: $(STAMP)
	$(BIN)/python -m evaluation.synthetic.demo --out data/demo

bench: $(STAMP)
	$(BIN)/python benchmarks/estimators.py

clean-venv:
	rm -rf $(VENV) .venv-latest .venv-oldest .tools

# The README's commands. Everything runs inside .venv, which these targets create.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The package alone (what make demo needs, on every Python the package supports); the dev tools need 3.10+.
RUN_STAMP := $(VENV)/.installed-run

.PHONY: demo test lint typecheck unit soak orb-check dist bench mutate clean

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make demo: rehearse the circleback on the embedded simulator
demo: $(RUN_STAMP)
	$(BIN)/python -m tools.orbkit pack
	$(BIN)/python -m tools.demo

## make test: lint, type check and every test
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/ruff format --check src tests tools benchmarks
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -n 2

## make soak: the full chaos soak (faulted pair runs; 50 A pipelines at once and one A fanning out to 20 Bs under a
## rate limit, each with three seeds); one table
SOAK_SEED ?= 1
soak: $(STAMP)
	$(BIN)/python -m tools.soak --seed $(SOAK_SEED) --runs 40 --rate 0.1 --baseline 5 --load 50 --fan-out 20 --seeds 3

## make orb-check: pack the orb into dist/orb.yml, validate, review, size budgets, shellcheck and yamllint it
orb-check: $(STAMP)
	$(BIN)/python -m tools.orbkit check

dist: $(STAMP)
	rm -rf dist/*.whl dist/*.tar.gz
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check dist/*.whl dist/*.tar.gz

## make mutate: mutation testing of the core modules (slow; MUTATE_JOBS=2 uses two cores, GROUPS= picks groups)
MUTATE_JOBS ?= 1
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,mutate]'
	$(BIN)/python -m tools.mutate --jobs $(MUTATE_JOBS) $(GROUPS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache .hypothesis

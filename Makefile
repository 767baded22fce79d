# The README's commands. Everything runs inside .venv, which these targets create.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit soak orb-check dist bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make demo: rehearse the circleback on the embedded simulator
demo: $(STAMP)
	$(BIN)/python -m tools.orbkit pack
	$(BIN)/python -m tools.demo

## make test: lint, type check and every test
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/ruff format --check src tests tools benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -n 2

## make soak: the full chaos soak (faulted runs, 50 A pipelines at once, one A fanning out to 20 Bs); one table
SOAK_SEED ?= 1
soak: $(STAMP)
	$(BIN)/python -m tools.soak --seed $(SOAK_SEED) --runs 40 --rate 0.1 --baseline 5 --load 50 --fan-out 20

## make orb-check: pack the orb into dist/orb.yml, validate, review, shellcheck and yamllint it
orb-check: $(STAMP)
	$(BIN)/python -m tools.orbkit check

dist: $(STAMP)
	rm -rf dist/*.whl dist/*.tar.gz
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check dist/*.whl dist/*.tar.gz

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache .hypothesis

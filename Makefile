# runlake: two commands for a new user (python3 and make are all it needs).
#   make demo   create .venv, install, run the nightly-sync flow on a sample season, query it
#   make test   create .venv, install with the dev extras, lint, type-check, run the tests
#   make bench  the benchmarks;  make fuzz  the long fuzzing run
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing runlake and its dependencies (Prefect, DuckDB, pyarrow...) into $(VENV): about a minute the first time"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@# compiled once: every flow command's processes import runlake (PYTHONDONTWRITEBYTECODE
	@# may be set, and an editable install compiles nothing)
	$(BIN)/python -m compileall -q src pipelines
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "installing runlake with its dev extras into $(VENV): a minute or two the first time"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	$(BIN)/python -m compileall -q src pipelines
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/runlake demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests pipelines bench fuzz
	$(BIN)/ruff format --check src tests pipelines bench fuzz

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test: lint typecheck pytest

# Speed figures against fitparse/fitdecode measured in the same run (bench/RESULTS.md).
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

# The long fuzz run (tens of thousands of mutated files); `make test` runs a quick variant.
fuzz: $(VENV)/.installed-dev
	$(BIN)/python -m fuzz

clean:
	rm -rf $(VENV) demo lake .pytest_cache .mypy_cache .ruff_cache

# runlake: two commands for a new user (python3 and make are all it needs).
#   make demo   create .venv, install, write a sample season, ingest it, query it
#   make test   create .venv, install with the dev extras, lint, type-check, run the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/runlake demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests pipelines
	$(BIN)/ruff format --check src tests pipelines

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test: lint typecheck pytest

clean:
	rm -rf $(VENV) demo lake .pytest_cache .mypy_cache .ruff_cache

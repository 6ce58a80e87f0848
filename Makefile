# outturn: two commands on a fresh machine.
#   make demo   builds the virtual environment, installs outturn and runs the main job
#   make test   the whole default test run: lint, type checks, layer contracts, tests
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin
DEMO_DIR ?= demo-workspace

.PHONY: demo test lint typecheck contracts pytest bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/outturn demo --out $(DEMO_DIR)

test: $(BIN)/.installed lint typecheck contracts pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench

typecheck: $(BIN)/.installed
	$(BIN)/mypy

contracts: $(BIN)/.installed
	$(BIN)/lint-imports

pytest: $(BIN)/.installed
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_position.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache

# outturn: two commands on a fresh machine.
#   make demo   builds the virtual environment, installs outturn and runs the main job
#   make test   the whole default test run: lint, type checks, layer contracts, tests
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin
DEMO_DIR ?= demo-workspace

.PHONY: demo test lint typecheck contracts pytest system-packages bench bench-web serve clean lock upgrade-check

# Installed from constraints.txt: the exact versions the tests last passed with (pyproject.toml gives the ranges).
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/outturn demo --out $(DEMO_DIR)

test: $(BIN)/.installed lint typecheck contracts pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench

# mypy checks on two worker processes (mypy 2's --num-workers): a fresh clone has no .mypy_cache, so the whole
# check runs cold. `make typecheck MYPY_WORKERS=0` checks in one process.
MYPY_WORKERS ?= 2

typecheck: $(BIN)/.installed
	$(BIN)/mypy --num-workers $(MYPY_WORKERS)

contracts: $(BIN)/.installed
	$(BIN)/lint-imports

# pytest runs the store tests on SQLite and on a throwaway PostgreSQL 15 cluster (scripts/test-postgres.sh),
# started here and always stopped afterwards, keeping pytest's exit status. An OUTTURN_TEST_POSTGRES_URL already
# set names a server of your own instead. If no cluster can be started, the PostgreSQL tests skip, loudly.
PG_TEST = bash scripts/test-postgres.sh

# pytest on every core (pytest-xdist), a module at a time (loadscope: a module's fixtures are made once), the
# costliest modules first (tests/conftest.py orders them). Not loadgroup: pytest-xdist 3.8 cannot name groups under
# pytest 9 (it sets Item._nodeid, which pytest 9 no longer reads), so groups fall back to one test at a time.
# `make pytest PYTEST_PARALLEL=` runs them in one process.
PYTEST_PARALLEL ?= -n auto --dist loadscope --no-loadscope-reorder

# Debian packages some tests need (chromium for browser tests, poppler-utils for the PDF pages), when missing.
system-packages:
	@bash scripts/system-packages.sh

pytest: $(BIN)/.installed system-packages
	@if [ -n "$$OUTTURN_TEST_POSTGRES_URL" ]; then \
	    echo "pytest: PostgreSQL store tests on OUTTURN_TEST_POSTGRES_URL=$$OUTTURN_TEST_POSTGRES_URL"; \
	    exec $(BIN)/pytest $(PYTEST_PARALLEL); \
	fi; \
	PG_TEST_STATE="$(CURDIR)/.pg-test/state.$$$$"; export PG_TEST_STATE; \
	trap '$(PG_TEST) stop' EXIT; trap 'exit 130' INT TERM; \
	if url=$$($(PG_TEST) start) && [ -n "$$url" ]; then \
	    OUTTURN_TEST_POSTGRES_URL=$$url; export OUTTURN_TEST_POSTGRES_URL; \
	    echo "pytest: PostgreSQL store tests on $$url (throwaway cluster)"; \
	else \
	    echo "" >&2; \
	    echo "**********************************************************************************" >&2; \
	    echo "** WARNING: could not start a PostgreSQL 15 cluster (scripts/test-postgres.sh).   **" >&2; \
	    echo "** The PostgreSQL store tests will be SKIPPED: the store is tested on SQLite only. **" >&2; \
	    echo "**********************************************************************************" >&2; \
	    echo "" >&2; \
	fi; \
	$(BIN)/pytest $(PYTEST_PARALLEL); status=$$?; exit $$status

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_position.py
	@PG_TEST_STATE="$(CURDIR)/.pg-test/bench.$$$$"; export PG_TEST_STATE; trap '$(PG_TEST) stop' EXIT; \
	url=$$($(PG_TEST) start) || url=""; \
	OUTTURN_TEST_POSTGRES_URL=$$url $(BIN)/python bench/bench_savings.py

# The web benchmark's load generator, hey, is a Debian package: installed here when missing.
bench-web: $(BIN)/.installed
	@bash scripts/system-packages.sh hey
	$(BIN)/python bench/bench_web.py

# The web application on the demo workspace (make demo first; add an account with
# `.venv/bin/outturn --workspace demo-workspace users add NAME --role finance`).
serve: $(BIN)/.installed
	$(BIN)/outturn --workspace $(DEMO_DIR) serve

# The newest versions pyproject.toml allows, in a virtual environment of their own (.venv-latest), through the
# whole default check; when it passes, `make lock VENV=.venv-latest` makes them the pinned versions.
upgrade-check:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade -e '.[dev]'
	.venv-latest/bin/python -m pip list --outdated --exclude-editable || true
	$(MAKE) lint typecheck contracts pytest VENV=.venv-latest

# constraints.txt from the virtual environment's installed versions (after `make test` passed in it).
lock:
	{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable --all | grep -v '^\(pip\|setuptools\|wheel\)=='; } > constraints.new
	mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) .venv-latest $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache

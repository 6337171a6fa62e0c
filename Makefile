# Every target installs what it needs first; `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: install run stop test lint format bench openapi clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "timeline needs Python 3.11 or newer ($(PYTHON) is older)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# One process (timeline/run.py), so a SIGTERM or Ctrl-C at any step stops it quietly.
run: install
	@$(BIN)/python -m timeline.run

# The embedded PostgreSQL outlives `make run`; this stops it (nothing to do when it is not running).
stop: install
	$(BIN)/timeline db stop

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src

format: install
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

# Quiet recipes: `make bench` prints the figures and the final table, not its commands.
$(BENCH_STAMP): $(STAMP)
	@$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || \
		echo "wrk could not be installed: the HTTP benchmarks will be skipped"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@$(BIN)/python -m tests.bench

openapi: install
	$(BIN)/python -m timeline.api.openapi > openapi/openapi.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Two commands on a fresh clone (Python 3.11+ needed, nothing else):
#   make run    sets up .venv, imports the demo members, runs Relais on SQLite with the console
#   make test   sets up .venv, runs ruff and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Relais needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/relais members import demo/members.csv
	$(BIN)/relais serve

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python benchmarks/lesson_schedule.py
	$(BIN)/python benchmarks/delivery.py
	$(BIN)/python benchmarks/outbox_storage.py
	$(BIN)/python benchmarks/healthz.py
	$(BIN)/python benchmarks/campaign.py
	$(BIN)/python benchmarks/triage.py

clean:
	rm -rf $(VENV) relais.db relais.db-wal relais.db-shm .pytest_cache .ruff_cache

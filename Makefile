# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: run test bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Serve the application with demo data on SQLite at http://127.0.0.1:$(PORT)
run: install
	PORT=$(PORT) $(BIN)/python -m web

## Run the whole test suite (PostgreSQL tests too when ATIENDE_TEST_POSTGRES_URL is set)
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Print the benchmarks' figures
bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/timers.py

clean:
	rm -rf $(VENV) instance .pytest_cache

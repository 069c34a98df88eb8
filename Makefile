# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: run test bench install clean debian-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Browser libraries (bpmn-js) from the npm registry, exactly as package-lock.json pins them; never committed.
ASSETS := web/assets
$(ASSETS)/node_modules/.installed: $(ASSETS)/package.json $(ASSETS)/package-lock.json
	cd $(ASSETS) && npm ci --no-audit --no-fund
	touch $@

# Debian packages first (WeasyPrint's libraries, chromium, dovecot, npm): a no-op once they are there.
install: debian-packages $(VENV)/.installed $(ASSETS)/node_modules/.installed

debian-packages:
	bash .ci/debian-packages

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
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/tasklist.py
	$(BIN)/python bench/http_cases.py

clean:
	rm -rf $(VENV) instance .pytest_cache $(ASSETS)/node_modules

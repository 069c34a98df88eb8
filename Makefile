# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: run test lint bench install lock clean debian-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the versions requirements.lock names, each checked against its hash; then Atiende itself.
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Browser libraries (bpmn-js, bpmnlint; axe-core, which the browser tests run on every page) from the npm
# registry, exactly as package-lock.json pins them; then esbuild bundles the editor's lint (web/assets/src,
# the rules in web/assets/bpmnlint-plugin-atiende) into web/assets/dist. Neither node_modules nor dist is
# committed.
ASSETS := web/assets
$(ASSETS)/node_modules/.installed: $(ASSETS)/package.json $(ASSETS)/package-lock.json
	cd $(ASSETS) && npm ci --no-audit --no-fund
	touch $@

$(ASSETS)/dist/atiende-lint.js: $(ASSETS)/node_modules/.installed $(wildcard $(ASSETS)/src/*) \
		$(wildcard $(ASSETS)/bpmnlint-plugin-atiende/*.js $(ASSETS)/bpmnlint-plugin-atiende/rules/*.js)
	cd $(ASSETS) && npm run --silent build

# Debian packages first (WeasyPrint's libraries, chromium, dovecot, PostgreSQL, npm): a no-op once they are there.
install: debian-packages $(VENV)/.installed $(ASSETS)/dist/atiende-lint.js

debian-packages:
	bash .ci/debian-packages

## Serve the application with demo data on SQLite at http://127.0.0.1:$(PORT)
run: install
	PORT=$(PORT) $(BIN)/python -m web

## Run the whole test suite, PostgreSQL included (a throwaway server unless ATIENDE_TEST_POSTGRES_URL names one)
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Format, lint, types and the layering contracts, as CI checks them
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Refresh requirements.lock after changing the dependencies in pyproject.toml
lock: $(VENV)/.installed
	$(BIN)/uv pip compile pyproject.toml --extra test --extra dev --generate-hashes --python-version 3.11 \
		--quiet --upgrade -o requirements.lock

## Print the benchmarks' figures
bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/timers.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/tasklist.py
	$(BIN)/python bench/http_cases.py
	$(BIN)/python bench/indicators.py --cases 100000
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/load.py --config sqlite1  # pg1 pg2 pg4 with DATABASE_URL=postgresql://…

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache .import_linter_cache $(ASSETS)/node_modules $(ASSETS)/dist

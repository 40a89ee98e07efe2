# Rapport: `make run` serves the app with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
ASSETS := src/rapport/ui/static/vendor/.installed
PYTEST_ARGS ?=

.PHONY: install assets run test test-fast lint format bench clean

install: $(STAMP) $(ASSETS)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(ASSETS): package.json package-lock.json scripts/vendor-assets.mjs
	npm ci --no-audit --no-fund --loglevel=error
	node scripts/vendor-assets.mjs
	touch $@

run: install
	$(BIN)/rapport migrate --no-input
	$(BIN)/rapport demo
	$(BIN)/rapport serve --port $(PORT)

test: install
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# Everything but the browser and slow property tests, for a quick local loop.
test-fast: install
	$(BIN)/pytest -n 2 -m "not browser and not slow" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src/rapport
	$(BIN)/rapport check
	$(BIN)/rapport makemigrations --check --dry-run
	RAPPORT_ENV=production RAPPORT_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))') RAPPORT_ALLOWED_HOSTS=crm.example.com \
		$(BIN)/rapport check --deploy --fail-level WARNING

format: install
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

bench: install
	$(BIN)/rapport bench

clean:
	rm -rf $(VENV) node_modules src/rapport/ui/static/vendor

# saferstreets: `make demo` sets up everything and serves the app; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
ASSETS := src/saferstreets/web/static/vendor/.installed

.PHONY: demo test test-fast bench lint format install assets migration docs serve clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev,bench]"
	@touch $(STAMP)

$(ASSETS): package.json package-lock.json scripts/vendor_assets.py
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) scripts/vendor_assets.py
	@touch $(ASSETS)

install: $(STAMP) $(ASSETS)

assets: $(ASSETS)

demo: install
	$(VENV)/bin/saferstreets demo

serve: install
	$(VENV)/bin/saferstreets serve

test: install
	$(PY) -m pytest -m "" $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

bench: install
	$(PY) -m bench $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format src tests bench scripts
	$(VENV)/bin/ruff check --fix src tests bench scripts

migration: install
	$(PY) scripts/initial_migration.py

docs: install
	$(PY) scripts/cli_docs.py

clean:
	rm -rf $(VENV) node_modules src/saferstreets/web/static/vendor var .pytest_cache

# Motorpool: `make run` starts the app (web, scheduler, delivery worker) with demo data, `make test` runs the whole suite.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi.py

.PHONY: run test install install-test system-packages migrate bench clean vendor

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Motorpool needs Python 3.11 or newer; set PYTHON=python3.11")'
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "Python's venv module is missing: install it (Debian/Ubuntu: apt-get install python3-venv) and run make again." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	@touch $@

# The example plugin is installed too: the suite proves a third-party package works end to end.
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed $(wildcard examples/motorpool-trailers/pyproject.toml examples/motorpool-trailers/src/motorpool_trailers/*.py examples/motorpool-trailers/src/motorpool_trailers/migrations/versions/*.py)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	$(BIN)/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./examples/motorpool-trailers
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

system-packages:
	bash scripts/ensure-system-packages.sh --browser

migrate: install
	$(BIN)/flask db upgrade

# The Procfile's processes to start: the delivery worker only where `flask deliveries work` exists.
PROCESSES = web scheduler $$($(BIN)/flask deliveries work --help >/dev/null 2>&1 && echo worker)

## Create the virtualenv, migrate, load demo data into an empty database, then start the web server on
## $(HOST):$(PORT), the scheduler and the delivery worker together (Procfile, honcho); Ctrl+C stops them all.
run: migrate
	$(BIN)/flask seed-demo --if-empty
	@echo "Motorpool is running on http://$(HOST):$(PORT)/  (Ctrl+C stops it)"
	@MOTORPOOL_LISTEN=$(HOST):$(PORT) BIN=$(BIN) $(BIN)/honcho start -f Procfile $(PROCESSES)

## Install what the tests need (Python packages, PostgreSQL's server) and run the whole suite,
## spread over one worker per CPU (TEST_WORKERS=1 runs it in one process).
TEST_WORKERS ?= auto
test: install-test system-packages
	$(BIN)/pytest -n $(TEST_WORKERS)

bench: install-test
	$(BIN)/python bench/seed_demo.py
	$(BIN)/python bench/pages.py

## Refresh the front-end libraries in app/static/vendor from the npm registry (versions in package.json).
vendor:
	npm install --no-audit --no-fund
	mkdir -p app/static/vendor/htmx
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx.org/LICENSE app/static/vendor/htmx/
	mkdir -p app/static/vendor/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/LICENSE app/static/vendor/swagger-ui/
	mkdir -p app/static/vendor/lucide
	cp node_modules/lucide-static/LICENSE app/static/vendor/lucide/
	$(PYTHON) scripts/icon_sprite.py node_modules/lucide-static/icons app/static/vendor/lucide/sprite.svg

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts node_modules

# Kino: `make demo` to try it, `make test` to check it. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The web pages' npm packages (package-lock.json), installed into node_modules/.
NODE_MODULES := node_modules/.installed

.PHONY: demo test lint typecheck pytest nginx chromium bench-catalog bench-upload clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_MODULES): package.json package-lock.json
	command -v npm >/dev/null || (apt-get update -q && apt-get install -y -q nodejs npm)
	npm ci --no-audit --no-fund
	touch $@

demo: $(INSTALLED) $(NODE_MODULES)
	$(BIN)/kino demo

test: lint typecheck pytest

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

typecheck: $(INSTALLED)
	$(BIN)/mypy

# pytest's processes (pytest-xdist): `auto` is one per CPU, at most 8 (each takes two of Redis's
# 16 databases, tests/parallel.py); PYTEST_WORKERS=0 runs every test in one process.
PYTEST_WORKERS ?= auto
PYTEST_DIST ?= loadfile

pytest: $(INSTALLED) $(NODE_MODULES) nginx chromium
	$(BIN)/pytest -n $(PYTEST_WORKERS) --maxprocesses 8 --dist $(PYTEST_DIST)

# tests/playback/test_nginx.py runs deploy/nginx under a real nginx (Debian's nginx-light has
# secure_link; newer releases have only the nginx package).
nginx:
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
		(apt-get update -q && apt-get install -y -q nginx-light || apt-get install -y -q nginx)

# tests/e2e drive Debian's chromium through Playwright (no browser download).
chromium:
	command -v chromium >/dev/null || test -x /usr/bin/chromium || \
		(apt-get update -q && apt-get install -y -q chromium)

bench-catalog: $(INSTALLED)
	command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk)
	$(BIN)/python -m bench.catalog

bench-upload: $(INSTALLED)
	$(BIN)/python -m bench.upload

clean:
	rm -rf $(VENV) var node_modules .mypy_cache .ruff_cache .pytest_cache

.PHONY: bench-transcode
bench-transcode: $(INSTALLED)
	$(BIN)/python -m bench.transcode

.PHONY: bench-publish
bench-publish: $(INSTALLED)
	$(BIN)/python -m bench.publish

.PHONY: bench-boxoffice
bench-boxoffice: $(INSTALLED)
	command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk)
	$(BIN)/python -m bench.boxoffice

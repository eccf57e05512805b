# The README's two commands. Each does all of its own set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.nbregistry-installed
TOOLS := $(VENV)/.nbregistry-build-tools
LABEXT_DEPS := labextension/node_modules/.nbregistry-npm-ci
LABEXT_BUILT := labextension/lib/.nbregistry-built
LABEXT_SOURCES := $(shell find labextension/src labextension/style -type f) labextension/package.json labextension/tsconfig.json
DEMO_ROOT ?= $(CURDIR)/.demo
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install labextension browser-deps chp postgres-deps test test-fast demo bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Build tools first (the editable install runs without build isolation; jupyterlab brings the
# jupyter-builder command the labextension build needs).
$(TOOLS): $(PY)
	$(PIP) install -q hatchling hatch-jupyter-builder editables "jupyterlab>=4.6,<5"
	touch $@

# The labextension (TypeScript in labextension/) is built before the editable install copies it;
# its build hook is skipped there (the Makefile already built it). `develop` then links the build
# output, so later rebuilds show up without reinstalling. Re-runs only when pyproject.toml changes.
$(STAMP): $(TOOLS) pyproject.toml | $(LABEXT_BUILT)
	HATCH_JUPYTER_BUILDER_SKIP_NPM=1 $(PIP) install -q --no-build-isolation -e ".[test]"
	$(VENV)/bin/jupyter-builder develop --overwrite .
	touch $@

# npm dependencies from the committed lock file; rebuilt when package.json or the lock changes.
$(LABEXT_DEPS): labextension/package.json $(wildcard labextension/package-lock.json)
	cd labextension && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	touch $@

# Production build into src/nbregistry/labextension; rebuilt when a source or style file changes.
$(LABEXT_BUILT): $(TOOLS) $(LABEXT_DEPS) $(LABEXT_SOURCES)
	cd labextension && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npm run build:prod
	touch $@

labextension: $(LABEXT_BUILT)

install: $(STAMP) $(LABEXT_BUILT)

# Debian's Chromium for the browser tests (never Playwright's own download). When it cannot be
# installed the browser tests fail rather than skip.
browser-deps:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

# configurable-http-proxy (npm) for the JupyterHub tests (tests/hub); installed only when missing.
chp:
	@command -v configurable-http-proxy >/dev/null || npm install -g --no-audit --no-fund configurable-http-proxy

# PostgreSQL server binaries for the pg-s3 tests (tests/pg_cluster.py runs a throwaway cluster from
# them, as the postgres user when root); Debian's package, installed only when none is present.
postgres-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		{ apt-get update -q && apt-get install -y -q postgresql; }

# Every test: unit, server, notebooks, browser. pytest's exit 5 (no tests collected) fails the run.
test: install browser-deps chp postgres-deps
	$(PY) -m pytest

# Everything except the headless-browser suite, for a quick local loop.
test-fast: install chp postgres-deps
	$(PY) -m pytest -m "not browser"

demo: install
	$(PY) -m nbregistry.demo seed "$(DEMO_ROOT)/registry"
	$(PY) -m nbregistry.demo workspace "$(DEMO_ROOT)/workspaces"
	NBREGISTRY_ROOT="$(DEMO_ROOT)/registry" $(VENV)/bin/jupyter lab $(ROOT_FLAG) \
		--LabApp.workspaces_dir="$(DEMO_ROOT)/workspaces" notebooks/quickstart.ipynb

bench: install
	$(PY) bench/bench_core.py
	$(PY) bench/load_serve.py

clean:
	rm -rf $(VENV) .demo build dist labextension/node_modules labextension/lib src/nbregistry/labextension

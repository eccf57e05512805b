# The README's two commands. Each does all of its own set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.nbregistry-installed
DEMO_ROOT ?= $(CURDIR)/.demo
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install test test-fast demo bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Build tools first (the editable install runs without build isolation), then the package with its
# test extras. Re-runs only when pyproject.toml changes.
$(STAMP): $(PY) pyproject.toml
	$(PIP) install -q hatchling hatch-jupyter-builder editables "jupyterlab>=4.6,<5"
	$(PIP) install -q --no-build-isolation -e ".[test]"
	touch $@

install: $(STAMP)

# Every test: unit, server, notebooks, browser. pytest's exit 5 (no tests collected) fails the run.
test: install
	$(PY) -m pytest

# Everything except the headless-browser suite, for a quick local loop.
test-fast: install
	$(PY) -m pytest -m "not browser"

demo: install
	$(PY) -m nbregistry.demo seed "$(DEMO_ROOT)/registry"
	NBREGISTRY_ROOT="$(DEMO_ROOT)/registry" $(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/quickstart.ipynb

bench: install
	$(PY) bench/bench_core.py

clean:
	rm -rf $(VENV) .demo build dist labextension/node_modules labextension/lib src/nbregistry/labextension

# pdmigrate developer commands. `make help` lists them.
# `make test` and `make demo` work on a fresh machine with Python 3.11: they create
# .venv (unless a virtualenv is already active) and install everything they need.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
ifdef VIRTUAL_ENV
  VENV := $(VIRTUAL_ENV)
else
  VENV := .venv
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.pdmigrate-installed
NODE_DIR := tests/node
PIP_FLAGS := --quiet --disable-pip-version-check --no-warn-script-location

.PHONY: help install node-deps browser-deps lint typecheck test test-fast demo bench bench-quick clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip 2>/dev/null
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import pdmigrate, pytest, ruff, mypy"
	touch $(STAMP)

install: $(STAMP) ## Create the venv (if none is active) and install pdmigrate with its dev tools

node-deps: ## Install the pinned Node packages the conformance tests use
	@if [ -f $(NODE_DIR)/package.json ]; then \
	  if command -v npm >/dev/null; then \
	    [ -d $(NODE_DIR)/node_modules ] || npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error; \
	  else echo "npm not found: the Node SDK conformance test will fail" >&2; fi; \
	fi

browser-deps: ## Install headless Chromium from Debian's packages (the browser test uses /usr/bin/chromium)
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing (apt-get install chromium as root): the browser test will fail" >&2; fi; fi

lint: install ## ruff (lint + format check) and mypy strict on src/
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: install node-deps browser-deps lint ## Install, lint, and run the whole test suite (slow tests included)
	$(BIN)/pytest

test-fast: install ## Run the tests not marked slow
	$(BIN)/pytest -m "not slow"

demo: install ## Run the whole flow on synthetic exports against the embedded sandbox
	$(BIN)/python -m pdmigrate.demo

bench: install ## Run the benchmarks in bench/ and print their figures
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done

bench-quick: install ## The benchmarks at small sizes (a few minutes)
	$(BIN)/python bench/throughput.py --records 500 --baseline-records 100
	$(BIN)/python bench/synth_scale.py --patients 10000
	$(BIN)/python bench/mapping_accuracy.py
	$(BIN)/python bench/migrate.py --patients 40

clean: ## Remove build and test leftovers (keeps .venv)
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis

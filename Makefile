# gpuwarden — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
# Debian packages the test suite drives for real: binary → package
SYSTEM_TOOLS := prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager chromium:chromium

.PHONY: run test venv system-deps lint unit integration lock clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

run: venv  ## create the venv, install, start the local world (sandbox + bot + simulated fleet)
	$(BIN)/gpuwarden demo

test: venv system-deps lint  ## install what the tests need and run them all
	$(BIN)/pytest

venv: $(STAMP)  ## create .venv and install gpuwarden with pinned dependencies

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

system-deps:  ## install Prometheus, Alertmanager and Chromium from Debian when missing
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

lint: venv  ## ruff, mypy (strict) and import-linter
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv  ## only the fast unit tests
	$(BIN)/pytest tests/unit

lock:  ## re-resolve the newest versions and rewrite constraints.txt
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet -e '.[dev]'
	{ echo "# Pinned versions of every package gpuwarden installs (runtime + dev)."; \
	  echo "# Regenerate with: make lock"; \
	  .lockenv/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lockenv

clean:  ## remove the venv, caches and the demo's data
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache data/demo

# Two commands: `make run` starts the whole switch on loopback; `make test` runs every test.
# Both install what they need first (Debian packages as root, a virtualenv, the project).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Data plane (see ../shared/KAMAILIO_NOTES.md) and the tools the project runs.
APT_RUN := kamailio kamailio-extra-modules kamailio-json-modules kamailio-sqlite-modules \
	kamailio-postgres-modules kamailio-utils-modules kamailio-xml-modules \
	kamailio-cnxcc-modules rtpengine-daemon sip-tester python3-venv
# Tests also drive a real browser.
APT_TEST := chromium

.PHONY: run test install apt-run apt-test lint typecheck unit integration web bench bench-data clean help

help:
	@echo "make run    install everything and start the switch (Ctrl-C stops it)"
	@echo "make test   install everything and run ruff, mypy and all tests"
	@echo "make bench  run the data-plane benchmarks: call rate (bench/cps.py), 1M-prefix apply (bench/apply.py)"
	@echo "make bench-data  list pages, rate deck import/export, card build (bench/lists.py, ratecards_*.py)"

run: apt-run $(STAMP)
	$(BIN)/orchestrator stack up

test: apt-run apt-test $(STAMP) lint typecheck
	$(BIN)/pytest -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

web: $(STAMP)
	$(BIN)/pytest tests/web

bench: apt-run $(STAMP)
	$(BIN)/python bench/cps.py
	$(BIN)/python bench/apply.py

bench-data: $(STAMP)
	$(BIN)/python bench/lists.py
	$(BIN)/python bench/ratecards_io.py
	$(BIN)/python bench/ratecards_build.py

install: apt-run apt-test $(STAMP)

# Installs the missing Debian packages only; the packaged services are disabled so
# that they do not hold the ports of the switch that `make run` starts.
define apt_ensure
	@missing=$$(for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "Missing Debian packages:" $$missing; \
	    echo "Run make as root (or install them with sudo apt-get install)."; exit 1; \
	  fi; \
	  echo "Installing Debian packages:" $$missing; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then \
	    systemctl disable --now kamailio rtpengine-daemon 2>/dev/null || true; \
	  fi; \
	fi
endef

apt-run:
	$(call apt_ensure,$(APT_RUN))

apt-test:
	$(call apt_ensure,$(APT_TEST))

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --config-settings editable_mode=compat -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Two commands do all set-up on a fresh Debian/Ubuntu machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# System packages: Python's venv, and what Qt needs offscreen (the HMI), plus the test brokers/databases.
SYSTEM_PACKAGES := python3-venv python3-dev libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 \
	libglib2.0-0 fonts-dejavu-core mosquitto mosquitto-clients postgresql

.PHONY: run test lint typecheck contracts unit bench system-packages clean

# The demo: a virtual plant speaking Modbus TCP, OPC UA, S7 and MTConnect on this computer, read by the real drivers.
run: $(STAMP)
	$(BIN)/linesight demo

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py
	$(BIN)/python bench/memory.py

# As root (CI containers, fresh machines) install whatever system package is missing; otherwise say what is.
system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing system packages: $$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "note: missing system packages (install them as root): $$missing"; \
	fi

$(STAMP): pyproject.toml constraints.txt | system-packages
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

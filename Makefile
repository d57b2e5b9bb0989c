# Two commands do all set-up on a fresh Debian/Ubuntu machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# System packages: Python's venv, and what Qt needs offscreen (the HMI), plus the test brokers/databases.
SYSTEM_PACKAGES := python3-venv python3-dev libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 \
	libglib2.0-0 fonts-dejavu-core mosquitto mosquitto-clients postgresql openssl chromium

.PHONY: run test lint typecheck contracts unit bench package translations screenshots system-packages clean

# The demo: a virtual plant speaking Modbus TCP, OPC UA, S7 and MTConnect on this computer, read by the real drivers.
run: $(STAMP)
	$(BIN)/linesight demo

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests bench packaging
	$(BIN)/mypy
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/drivers.py
	$(BIN)/python bench/alarms.py
	$(BIN)/python bench/ui.py --db bench/out/query.duckdb
	$(BIN)/python bench/cloud/forward.py
	$(BIN)/python bench/cloud/ingest.py
	$(BIN)/python bench/package.py

# The installer's bundle: dist/linesight/ (PyInstaller one-folder), checked by its self-test, plus the Linux
# tarball dist/linesight-<version>-linux-<arch>.tar.gz. Windows: docs/integrator-guide.md.
package: $(STAMP)
	$(BIN)/python packaging/build.py --self-test --tarball

# After changing a visible string: collect the strings into the .ts (translations kept), translate the
# new ones (pyside6-linguist, or by hand: every <translation> filled), then compile the .qm. Both are
# checked in; tests/app/test_translations.py fails while either is behind the code.
TRANSLATIONS := src/linesight/resources/translations
translations: $(STAMP)
	$(BIN)/pyside6-lupdate $$(find src/linesight/app src/linesight/widgets -name '*.py' | sort) \
		-locations none -no-obsolete -source-language en -target-language pt_BR -ts $(TRANSLATIONS)/linesight_pt_BR.ts
	$(BIN)/pyside6-lrelease $(TRANSLATIONS)/linesight_pt_BR.ts -qm $(TRANSLATIONS)/linesight_pt_BR.qm

# Every HMI screen in both themes and both languages, on the demo plant with its history, drawn
# offscreen into docs/screenshots/hmi/ (see tools/screenshots.py for what the data is).
screenshots: $(STAMP)
	$(BIN)/python tools/screenshots.py
	LINESIGHT_DOC_SHOTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/cloud/backend/test_web.py -k page_shows

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
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,cloud]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

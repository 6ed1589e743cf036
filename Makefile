# gapwatch: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: run test system lint bench clean

# The Python packages (pip's output goes to .venv/install.log, shown when it fails); the
# machine's own needs come from scripts/setup-system.
$(STAMP): setup.cfg pyproject.toml
	@PYTHON=$(PYTHON) scripts/setup-system venv fonts
	@echo "Setting up $(VENV) (the first time takes a minute or two)"
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e '.[test]'; } > $(VENV)/install.log 2>&1 \
	  || { tail -n 15 $(VENV)/install.log; echo "pip could not set up $(VENV): all its output is in $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

# Today's scan, so the dashboard opens on today's flags (a second scan the same day changes
# nothing): the findings go to instance/scan.txt, the one-line summary to the screen. The
# address and the demo logins come last.
run: $(STAMP)
	@$(BIN)/gapwatch init
	@$(BIN)/gapwatch demo --if-empty --no-logins
	@$(BIN)/gapwatch scan > instance/scan.txt && echo "$$(tail -n 1 instance/scan.txt) (the list: instance/scan.txt)"
	@$(BIN)/gapwatch serve --host 127.0.0.1 --port $(PORT) --demo-logins

# Debian's chromium for the browser tests, redis-server for the throttle's, wrk for bench/web_bench.py and
# fonts-dejavu-core for the PDF export, installed if missing.
system:
	@PYTHON=$(PYTHON) scripts/setup-system

test: system $(STAMP)
	$(BIN)/ruff check gapwatch tests $(wildcard bench)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check gapwatch tests $(wildcard bench)

# The import, scan and web benchmarks at 100,000 (docs/import.md keeps the latest numbers), on
# SQLite, or on PostgreSQL where GAPWATCH_TEST_DATABASE_URL is set; wrk comes from `make system`.
bench: $(STAMP)
	@PYTHON=$(PYTHON) scripts/setup-system wrk
	$(BIN)/python bench/run_all.py $(if $(GAPWATCH_TEST_DATABASE_URL),--postgresql $(GAPWATCH_TEST_DATABASE_URL))

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache

# gapwatch: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gapwatch init
	$(BIN)/gapwatch demo --if-empty
	# Today's scan, so the dashboard opens on today's flags (a second scan the same day changes nothing).
	$(BIN)/gapwatch scan
	$(BIN)/gapwatch serve --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/ruff check gapwatch tests $(wildcard bench)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check gapwatch tests $(wildcard bench)

# The import benchmark (docs/import.md); PostgreSQL too where GAPWATCH_TEST_DATABASE_URL is set.
bench: $(STAMP)
	$(BIN)/python bench/import_bench.py --events 100000 $(if $(GAPWATCH_TEST_DATABASE_URL),--postgresql $(GAPWATCH_TEST_DATABASE_URL))

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache

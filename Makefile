# The README's two commands: `make up` runs the whole system, `make test` runs the tests.
# Both create and use the virtual environment in .venv (so .venv/bin/finpulse is the CLI).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PGURL  := $(shell scripts/postgres.sh url)

.PHONY: install up test test-fast broker postgres lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

up: install
	$(BIN)/finpulse up

# Starts a throw-away PostgreSQL (scripts/postgres.sh) so the PostgreSQL tests run too;
# the Kafka broker is started by the test session itself if none is up.
test: install
	@scripts/postgres.sh start || echo "warning: no PostgreSQL server: its tests will be skipped"
	FINPULSE_TEST_POSTGRES_URL=$${FINPULSE_TEST_POSTGRES_URL:-$(PGURL)} $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "unit" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

broker: install
	$(BIN)/finpulse broker start

postgres:
	scripts/postgres.sh start

clean:
	rm -rf var .pytest_cache test-artifacts

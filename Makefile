# Guildhall: `make run` starts a development node, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CONFIG := guildhall.toml
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

.PHONY: run test install browser peers lint test-sqlite test-postgres clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required (looked for '$(PYTHON)')"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

$(CONFIG): | install
	mkdir -p var
	$(BIN)/guildhall init --dev --base-url http://127.0.0.1:8000 \
	    --database sqlite+aiosqlite:///var/guildhall.db --first-admin admin

run: install $(CONFIG)
	$(BIN)/guildhall serve --host 127.0.0.1 --port 8000

# Debian's chromium drives the browser tests; never a downloaded browser build.
browser:
	@command -v chromium >/dev/null || { \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	    else echo "chromium is missing: run 'sudo apt-get install -y chromium'"; exit 1; fi; }

# The independent ActivityPub and Verifiable Credential implementations the interop tests run
# (tests/peers: Fedify, Digital Bazaar), installed from npm exactly as package-lock.json says.
peers: tests/peers/node_modules/.package-lock.json

tests/peers/node_modules/.package-lock.json: tests/peers/package.json tests/peers/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	    echo "Node.js 20+ and npm are missing (needed by tests/peers): run 'apt-get install -y nodejs npm'"; exit 1; }
	cd tests/peers && npm ci --no-audit --no-fund
	touch $@

lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check node storage federation web tests

test-sqlite: install browser peers
	$(BIN)/pytest -q --durations=10

test-postgres: install peers
	@if $(BIN)/python -m tests.pg_available "$(PG_URL)"; then \
	    GUILDHALL_TEST_DATABASE_URL="$(PG_URL)" $(BIN)/pytest -q -m database --durations=10; \
	else echo "PostgreSQL is not answering at $(PG_URL): SKIPPING the PostgreSQL half of the suite"; fi

test: lint test-sqlite test-postgres

clean:
	rm -rf $(VENV) .pytest_cache

# energiepost — `make run` starts everything, `make test` proves it. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres test-e2e test-browser install up down bench clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m ops.run

test: $(STAMP)
	$(BIN)/python -m ops.test_setup
	$(MAKE) test-sqlite test-postgres test-e2e test-browser

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/integration

test-postgres: $(STAMP)
	TEST_DATABASE=postgresql $(BIN)/python -m pytest tests/unit tests/integration

test-e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

# Own pytest root: Playwright must not run in the eventlet-patched process of the other suites.
test-browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser --confcutdir=tests/browser -p no:pytest_nameko

bench: $(STAMP)
	$(BIN)/python -m bench.run $(ONLY)

up:
	docker compose -p energiepost -f compose.yaml up --build

down:
	docker compose -p energiepost -f compose.yaml down

clean:
	rm -rf var

# energiepost — `make run` starts everything, `make test` proves it. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres test-e2e test-browser install up up-dev down certs secrets bench clean

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
	$(BIN)/python -m pytest -rs tests/e2e

# Own pytest root: Playwright must not run in the eventlet-patched process of the other suites.
test-browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser --confcutdir=tests/browser -p no:pytest_nameko

# The same setup as the tests (broker management API, PostgreSQL, nginx for the download baseline).
bench: $(STAMP)
	$(BIN)/python -m ops.test_setup
	$(BIN)/python -m bench.run $(ONLY)

# The compose stack (see README, "Production"): `make certs secrets` first.
COMPOSE := docker compose -p energiepost -f compose.yaml
CERTS := deploy/certs

up:
	$(COMPOSE) up --build --detach --wait

# The same with Mailpit and the SMS sink in place of the real relay and provider.
up-dev:
	$(COMPOSE) --env-file deploy/dev.env --profile dev up --build --detach --wait

down:
	$(COMPOSE) --profile dev down

# A self-signed certificate for trying the TLS edge locally (a real one goes in TLS_CERT_DIR).
certs: $(CERTS)/fullchain.pem

$(CERTS)/fullchain.pem:
	mkdir -p $(CERTS)
	openssl req -x509 -newkey rsa:3072 -sha256 -days 365 -nodes -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout $(CERTS)/privkey.pem -out $(CERTS)/fullchain.pem
	chmod 600 $(CERTS)/privkey.pem   # nginx's master process (root) reads it before dropping privileges

# Every secret the stack needs, one file each under deploy/secrets/ (existing ones are kept).
secrets: $(STAMP)
	$(BIN)/python -m ops.make_secrets

clean:
	rm -rf var

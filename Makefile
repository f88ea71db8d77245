# Two commands on a fresh machine: `make run` and `make test`.  Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test fuzz lint typecheck check schema bench lock db-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the lock file or the project metadata changes.
$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the locked dependencies

# GraphiQL's browser files (React, GraphiQL), pinned by their package-lock.json and served by the
# API itself: no CDN, so /graphql works without internet and under a strict CSP.
GRAPHIQL := backend/api/static/graphiql
GRAPHIQL_STAMP := $(GRAPHIQL)/node_modules/.installed

$(GRAPHIQL_STAMP): $(GRAPHIQL)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo >&2 "npm is missing: it installs GraphiQL's pinned files" \
		"(Node.js 18+ with npm; on Debian: apt-get install nodejs npm), then run make again"; exit 1; }
	cd $(GRAPHIQL) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: graphiql
graphiql: $(GRAPHIQL_STAMP) ## install GraphiQL's pinned files with npm (run and test do it)

# The browser tests (tests/browser): Debian's chromium, installed with apt-get when missing
# (Playwright's own browser download cannot work here), and axe-core, pinned by its
# package-lock.json, for the accessibility checks.
AXE := tests/browser/axe
AXE_STAMP := $(AXE)/node_modules/.installed

$(AXE_STAMP): $(AXE)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo >&2 "npm is missing: it installs axe-core for the" \
		"browser tests (Node.js 18+ with npm; on Debian: apt-get install nodejs npm), then run make again"; exit 1; }
	cd $(AXE) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: browser
browser: $(AXE_STAMP) ## install chromium (apt-get, when missing) and axe-core for the browser tests (test does it)
	@infra/browser/ensure-chromium.sh

# The observability tests (tests/observability): Debian's prometheus (a real one scrapes the
# API and the worker) and its promtool (checks and unit-tests infra/prometheus/alerts.yml).
.PHONY: prometheus
prometheus: ## install prometheus and promtool (apt-get, when missing) for the observability tests (test does it)
	@infra/ensure-prometheus.sh

run: $(STAMP) $(GRAPHIQL_STAMP) ## start PostgreSQL, migrate, load the demo country once, serve the API
	$(BIN)/mhi dev

test: $(STAMP) $(GRAPHIQL_STAMP) browser prometheus ## run the whole test suite against a real PostgreSQL
	$(BIN)/python -m pytest

fuzz: $(STAMP) ## generated GraphQL input as every kind of caller: no HTTP 5xx, no INTERNAL (~3 min)
	$(BIN)/python -m pytest -m fuzz tests/fuzz

# The backup drill (tests/drill) also runs in `make test` (about 20 s at its default size on a
# quiet machine); this runs it alone and prints its figures.  DRILL_PEOPLE=30000 measures them
# on a bigger demo.
.PHONY: drill
drill: $(STAMP) ## back up (full, incremental, WAL archive), verify, restore to a point in time, compare every table; prints sizes and times
	DRILL_PEOPLE=$(or $(DRILL_PEOPLE),300) $(BIN)/python -m pytest -s -q tests/drill

lint: $(STAMP) ## ruff
	$(BIN)/ruff check backend auth notifications tests bench

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy backend auth notifications tests bench

check: lint typecheck test fuzz ## everything CI cares about

schema: $(STAMP) ## export graphql/schema.graphql from the code
	$(BIN)/mhi export-schema

bench: $(STAMP) ## benchmarks (print their figures): demo load, HomeScreen vs a raw floor, HomeScreen read from a streaming replica vs the primary, HomeScreen under a cost attack, sign-in timing, bulk ingestion vs COPY, the contribution table unpartitioned vs by person vs by month, the verifiable log (1M leaves appended vs the ingestion's rate, proofs at 1M and 10M, bytes per leaf), the public figures (publicStats, open data, /transparency) vs a raw floor, pushes vs fcm-local, the day's warnings over 1M people, 10M push deliveries pruned while HomeScreen is served, the monthly peak (payroll files, HomeScreen and pushes at once)
	$(BIN)/python bench/demo_load.py
	$(BIN)/python bench/home_screen.py
	$(BIN)/python bench/replica.py
	$(BIN)/python bench/cost.py
	$(BIN)/python bench/sign_in.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/partitioning.py
	$(BIN)/python bench/tlog.py
	$(BIN)/python bench/public_stats.py
	$(BIN)/python bench/notify.py
	$(BIN)/python bench/warnings.py
	$(BIN)/python bench/prune.py
	$(BIN)/python bench/peak.py

lock: $(STAMP) ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" -o requirements.lock

db-stop: $(STAMP) ## stop the embedded PostgreSQL
	$(BIN)/mhi db stop

clean: ## remove the virtualenv and the node_modules of GraphiQL and axe (the database under .data/ stays)
	rm -rf $(VENV) $(GRAPHIQL)/node_modules $(AXE)/node_modules

token: $(STAMP) ## print an access token for the first demo citizen
	@$(BIN)/mhi token --demo 1

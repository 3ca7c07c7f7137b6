# The two commands: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean index

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

index: $(STAMP)
	$(BIN)/neuraltalk ingest

run: index
	$(BIN)/neuraltalk serve --hint

test: $(STAMP)
	$(BIN)/ruff check bot index tests bench
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot index tests bench
	$(BIN)/ruff format --check bot index tests bench

format: $(STAMP)
	$(BIN)/ruff format bot index tests bench
	$(BIN)/ruff check --fix bot index tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_archive.py
	$(BIN)/python bench/bench_webhook.py
	$(BIN)/python bench/bench_broadcast.py

clean:
	rm -rf $(VENV) data .pytest_cache

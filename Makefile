# The two commands: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean index

$(STAMP): pyproject.toml
	@echo "installing neuraltalk and its dependencies into $(VENV) (once, or when pyproject.toml changes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

index: $(STAMP)
	@echo "indexing the issues (only new and changed ones are parsed)"
	@$(BIN)/neuraltalk ingest

run: index
	@echo "starting the webhook server"
	@$(BIN)/neuraltalk serve --hint

test: $(STAMP)
	$(BIN)/ruff check bot index tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot index tests bench
	$(BIN)/mypy
	$(BIN)/ruff format --check bot index tests bench

format: $(STAMP)
	$(BIN)/ruff format bot index tests bench
	$(BIN)/ruff check --fix bot index tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_archive.py
	$(BIN)/python bench/bench_webhook.py
	$(BIN)/python bench/bench_broadcast.py
	$(BIN)/python bench/bench_web.py
	$(BIN)/python bench/bench_reload.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache

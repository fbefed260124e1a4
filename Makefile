# The two entry points of the README: `make run` and `make test`. Both build their own venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned: it is the CPU build on local disk; anything else pulls a CUDA build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/pitchmap demo --host $(HOST) --port $(PORT)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/select.py
	$(BIN)/python bench/index.py
	$(BIN)/python bench/assemble.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) .pitchmap

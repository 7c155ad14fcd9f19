# Two commands on a fresh machine: `make demo` and `make test`. Both create the virtualenv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench bench-crawl bench-extraction bench-dedup clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[embedded,dev]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/newscrawler demo

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check newscrawler tests benchmarks

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[embedded,dev,bench]'
	touch $@

bench: bench-crawl bench-extraction bench-dedup

bench-crawl: setup
	$(BIN)/python benchmarks/crawl.py

bench-extraction: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/extraction.py

bench-dedup: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/dedup.py

clean:
	rm -rf $(VENV) var

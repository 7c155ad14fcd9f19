# Two commands on a fresh clone: `make demo` and `make test`. Both create the development virtualenv on first use.
# A production machine runs `make install` instead (see the README's "Running it from cron").
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Every version that `make setup`, `make install`, CI and the Docker image install; refreshed by `make lock`.
LOCK := requirements.lock
PIP := $(BIN)/pip install -q -c $(LOCK)
# What `make clean-data` deletes (the default data directory; pass DATA_DIR=… for another).
DATA_DIR ?= var

.PHONY: setup compiled install demo test test-fast lint browser lock bench bench-crawl bench-extraction bench-dedup bench-console clean clean-data

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# The development install: newscrawler and the replay (replay/, development only) editable, the embedded
# MongoDB-wire server and the test tools, at the locked versions.
$(VENV)/.installed: pyproject.toml replay/pyproject.toml $(LOCK) | $(BIN)/activate
	$(PIP) --upgrade pip
	$(PIP) -e '.[embedded,dev]' -e ./replay
	touch $@

# An editable install compiles nothing, and where PYTHONDONTWRITEBYTECODE is set (CI containers) nothing is ever
# cached: every `newscrawler` process would compile the package again (0.3-0.4 s of CPU each, measured). compileall
# skips what is up to date.
compiled: $(VENV)/.installed
	@$(BIN)/python -m compileall -q newscrawler replay/newscrawler_replay

setup: $(VENV)/.installed compiled

# The production install for cron: newscrawler alone at the locked versions, no test tools, no replay, and the
# embedded server only when MONGO_URI is not set. Re-creates $(VENV) from scratch (a development install there
# is replaced; `make setup` brings it back).
install:
	$(PYTHON) -m venv --clear $(VENV)
	$(PIP) --upgrade pip
	$(PIP) '.$(if $(MONGO_URI),,[embedded])'
	@echo "installed newscrawler$(if $(MONGO_URI), (no embedded server: MONGO_URI is set),) into $(abspath $(VENV));" \
	      "cron runs: $(abspath $(BIN))/newscrawler --data-dir DATA_DIR crawl"

demo: setup
	$(BIN)/newscrawler demo

# Test workers (pytest-xdist): most of the suite waits on child processes, sockets and deadlines, so more workers
# than cores overlap those waits (2-core machine, idle, before the last fork-server changes: 4 workers 5 min 11 s,
# 6 workers 4 min 22 s, 8 workers 4 min 17 s; with them, 6 workers 3 min 37 s). TEST_WORKERS=0 runs it in this
# process.
TEST_WORKERS ?= 6

# CI runs this: lint first, then the whole suite. `--dist loadscope` is tests/conftest.py's scheduler: the tests of
# a file whose module fixture crawls stay in one worker (the crawl runs once), every other test goes to whichever
# worker is free, the longest first.
test: lint tests/__pycache__/.rewritten
	$(TESTS_WRITE_BYTECODE) $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope

# pytest rewrites every test module's asserts when it imports it, and caches the result in tests/__pycache__
# unless PYTHONDONTWRITEBYTECODE is set (CI containers set it): then each of the six workers rewrote all of them
# again, ~3 s of CPU each (collection 5.7 s of CPU cold, 2.8 s cached, measured). So the test commands let pytest
# write, and a fresh checkout has the modules rewritten once, before the workers start.
TESTS_WRITE_BYTECODE := PYTHONDONTWRITEBYTECODE=
tests/__pycache__/.rewritten: tests/*.py $(VENV)/.installed
	@$(TESTS_WRITE_BYTECODE) $(BIN)/python -m pytest --collect-only -q -p no:cacheprovider >/dev/null \
	  && touch $@ || true  # a module that does not import: the suite itself reports it

# While working: lint and the tests that start no child process, browser or slow set-up (markers in
# pyproject.toml; README "Tests"). Under a minute here.
test-fast: lint
	$(TESTS_WRITE_BYTECODE) $(BIN)/python -m pytest -q -m "not e2e and not browser and not slow"

# The console's browser tests drive Debian's chromium (and need CJK fonts): installed here when missing and the
# machine allows it (root with apt-get); otherwise those tests skip, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "browser: installing Debian's chromium and fonts-wqy-microhei for the console's browser tests"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei; } \
	      >/dev/null || echo "browser: chromium could not be installed; the browser tests will skip"; \
	  else echo "browser: no chromium, and no apt-get as root to install it; the browser tests will skip"; fi; }

# The suite needs that browser first (a second prerequisite line for `test`, merged by make with the first).
test: browser

lint: setup
	$(BIN)/ruff check newscrawler tests benchmarks replay

# Refresh the lock file: resolve the newest versions pyproject.toml allows (every extra, and the replay) in a
# scratch virtualenv and pin them. Then `make test` (setup re-installs from the new lock) and commit both.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q --upgrade pip
	.lock-venv/bin/pip install -q '.[embedded,dev,bench,parquet]' ./replay
	{ echo "# Versions tested together (make test), for pip install -c: make setup, make install, CI, Dockerfile."; \
	  echo "# Made by \`make lock\` with $$(.lock-venv/bin/python --version); do not edit by hand."; \
	  .lock-venv/bin/pip freeze --all | grep -v -i -e '^newscrawler' -e '^wheel=='; } > $(LOCK)
	rm -rf .lock-venv

$(VENV)/.bench-installed: $(VENV)/.installed
	$(PIP) -e '.[embedded,dev,bench]' -e ./replay
	touch $@

bench: bench-crawl bench-extraction bench-dedup

bench-crawl: setup
	$(BIN)/python benchmarks/crawl.py

bench-extraction: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/extraction.py

# ARTICLES=1000000: the cost curve up to a million stored fingerprints (the fill ran at ~160 articles/s on the
# loaded 2-core machine: about 1 h 45 min).
bench-dedup: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/dedup.py $(if $(ARTICLES),--articles $(ARTICLES))

# ARTICLES=1000000 for the large store (takes about an hour to fill here).
bench-console: setup
	$(BIN)/python benchmarks/console.py --articles $(or $(ARTICLES),100000)

# Build and tool leftovers only. Never the data directory ($(DATA_DIR): the database, logs, spill files): that
# is `make clean-data`.
clean:
	rm -rf $(VENV) .lock-venv build replay/build *.egg-info replay/*.egg-info .pytest_cache .ruff_cache benchmarks/out
	find newscrawler replay tests benchmarks -name __pycache__ -type d -prune -exec rm -rf {} +

# Deletes the data directory and says what is in it first. Refuses while its embedded database server runs.
clean-data:
	@if [ ! -e "$(DATA_DIR)" ]; then echo "clean-data: $(DATA_DIR) does not exist; nothing deleted"; exit 0; fi; \
	pid=$$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' "$(DATA_DIR)/db/server.json" 2>/dev/null); \
	if [ -n "$$pid" ] && kill -0 "$$pid" 2>/dev/null; then \
	  echo "clean-data: the embedded database server (pid $$pid) is running on $(DATA_DIR)/db; stop it first" \
	       "(end \`newscrawler db serve\` or wait for the crawl); nothing deleted" >&2; exit 1; fi; \
	echo "clean-data: deleting $(abspath $(DATA_DIR)) ($$(du -sh "$(DATA_DIR)" | cut -f1)):"; \
	[ -d "$(DATA_DIR)/db" ] && echo "  $(DATA_DIR)/db: the embedded database, every stored article and run record"; \
	[ -n "$$(ls -A "$(DATA_DIR)/spill" 2>/dev/null)" ] && \
	  echo "  $(DATA_DIR)/spill: $$(ls "$(DATA_DIR)/spill" | wc -l) spill file(s): fetched articles never stored"; \
	du -sh "$(DATA_DIR)"/* 2>/dev/null | sed 's/^/  /'; \
	rm -rf -- "$(DATA_DIR)"; echo "clean-data: deleted $(DATA_DIR)"

# Procomún: `make run` to try it, `make test` to check it. Nothing else needs installing by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
CATALOGS := app notifications moderation pacts councils procurement vouchers accountability
LANGUAGES := es it ca
HOST ?= 127.0.0.1
PORT ?= 5000
AXE := tests/trust/node_modules/axe-core/axe.min.js

.PHONY: run setup test lint browser nginx i18n i18n-compile db demo bench check-slow clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Compiled catalogs are build output (not committed): rebuilt whenever a .po changes.
i18n-compile: $(BIN)/python $(VENV)/.installed
	@for c in $(CATALOGS); do \
	  if [ -d translations/$$c ]; then $(BIN)/pybabel -q compile -f -d translations/$$c; fi; \
	done

setup: $(VENV)/.installed i18n-compile

db: setup
	$(FLASK) db upgrade

demo: db
	$(FLASK) demo

# The outbox worker runs beside the web server (notifications, email) and stops with it.
run: demo
	@echo "Procomún is serving on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	@$(FLASK) outbox work & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# One test process per core (pytest-xdist; each has its own PostgreSQL database), a file per process at a time.
WORKERS ?= auto
test: $(VENV)/.installed-test i18n-compile $(AXE) browser lint
	$(BIN)/python -m pytest -m "not slow" -n $(WORKERS) --dist loadfile $(PYTEST_ARGS)

# The slow checks (each may take up to 30 minutes: the many-inputs form fuzzing on PostgreSQL is
# the longest) include the shipped proxy (deploy/nginx) in front of gunicorn: Debian's nginx.
# One process per core, a test at a time each; then the checks that time answers, with the
# machine to themselves (marked `alone`), so another test's load never reads as a slow server.
check-slow: $(VENV)/.installed-test i18n-compile $(AXE) browser nginx
	$(BIN)/python -m pytest -m "slow and not alone" -n $(WORKERS) --dist load --timeout 1800 $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m "slow and alone" --timeout 1800 $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# The browser tests drive Debian's Chromium (never a bundled download). On Debian as root it is
# installed here; anywhere else the run stops before any test, saying what to install.
browser:
	@if [ -n "$$CHROMIUM_PATH" ] && [ -x "$$CHROMIUM_PATH" ]; then :; \
	elif command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests (once)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "The browser tests need Chromium: run 'sudo apt-get install chromium' (Debian/Ubuntu) or set CHROMIUM_PATH to a Chromium binary, then 'make test' again." >&2; \
	  exit 1; \
	fi

nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { echo "Installing nginx from Debian"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

# Extract the strings of each catalog (the core and each module) and merge them into es, it, ca.
# Sorted, without source locations or a dated header: two changes that add different strings merge cleanly.
i18n: $(VENV)/.installed
	@for c in $(CATALOGS); do \
	  if [ "$$c" = app ]; then srcs="app templates/*.html templates/accounts templates/organisations templates/audit templates/books"; \
	    ignore=".* ._ notifications moderation"; \
	  elif [ "$$c" = notifications ] || [ "$$c" = moderation ]; then srcs="app/$$c templates/$$c"; ignore=".* ._"; \
	  else srcs="$$c templates/$$c"; ignore=".* ._"; fi; \
	  mkdir -p translations/$$c; \
	  $(BIN)/pybabel -q extract --no-location --sort-output --omit-header -F babel.cfg -k _l -k lazy_gettext -k _nl:1,2 -k lazy_ngettext:1,2 --ignore-dirs="$$ignore" -o translations/$$c/messages.pot $$srcs; \
	  for l in $(LANGUAGES); do \
	    if [ -f translations/$$c/$$l/LC_MESSAGES/messages.po ]; then \
	      $(BIN)/pybabel -q update -N --ignore-pot-creation-date -i translations/$$c/messages.pot -d translations/$$c -l $$l; \
	    else $(BIN)/pybabel -q init -i translations/$$c/messages.pot -d translations/$$c -l $$l; fi; \
	  done; \
	done

# axe-core (accessibility checks run inside the browser tests), from the npm registry, pinned and
# checked, once; no Node.js needed.
$(AXE): $(BIN)/python
	$(BIN)/python tests/trust/fetch_axe.py

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

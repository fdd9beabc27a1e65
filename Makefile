# Pacte — two commands: `make run` (install and serve the demo) and `make test` (install and run every test).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
POLICY ?= policies/plusuite.toml

.PHONY: run test install install-test system-deps system-deps-run lint typecheck bench messages clean help

help:
	@echo "make run    install into .venv, migrate and serve the demo at http://$(HOST):$(PORT)/"
	@echo "make test   install what the tests need and run the whole suite (SQLite, PostgreSQL, browser, ruff, mypy)"
	@echo "make bench  run every benchmark (bench/run)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

.make-install: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

.make-install-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ .make-install

install: system-deps-run .make-install messages
install-test: .make-install-test messages

# Debian packages the project needs; installed only when missing.
# WeasyPrint (invoice PDFs) loads Pango, HarfBuzz (with its subsetter) and fontconfig; DejaVu is the font
# the invoice stylesheet names (installed locally, never fetched).
PDF_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libfontconfig1 fonts-dejavu-core
system-deps-run:
	@scripts/system-deps.sh gettext sqlite3 $(PDF_DEBS)

system-deps:
	@scripts/system-deps.sh gettext sqlite3 chromium wrk postgresql-15 $(PDF_DEBS)

messages: .make-install
	@cd src/pacte && PACTE_HOME=$(CURDIR)/var ../../$(BIN)/pacte compilemessages --verbosity 0

run: install
	@for db in default keys telemetry; do PACTE_POLICY=$(POLICY) $(BIN)/pacte migrate --database $$db --verbosity 0; done
	@PACTE_POLICY=$(POLICY) $(BIN)/pacte demo seed --customers 5 --staff
	$(BIN)/pacte serve --policy $(POLICY) --host $(HOST) --port $(PORT)

test: system-deps install-test
	scripts/test.sh

bench: system-deps install-test
	bench/run

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-test
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .make-install .make-install-test test-artifacts

#!/usr/bin/env bash
# The whole test suite, as `make test` runs it: ruff, mypy, pytest on SQLite (with the browser
# journeys), then pytest on a throwaway PostgreSQL 15 that scripts/with-pg.sh starts on loopback and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONDONTWRITEBYTECODE=1
mkdir -p test-artifacts

echo "== ruff"
$BIN/ruff check src tests bench conftest.py
$BIN/ruff format --check src tests bench conftest.py
echo "== mypy"
$BIN/mypy
echo "== import contracts (lint-imports)"
$BIN/lint-imports

# Each run gets its own PACTE_HOME so nothing of a developer's var/ is touched.
WORK=$(mktemp -d /tmp/pacte-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "== pytest on SQLite"
PACTE_HOME="$WORK/home-sqlite" $BIN/pytest "$@"

echo "== pytest on PostgreSQL"
PACTE_HOME="$WORK/home-pg" scripts/with-pg.sh $BIN/pytest -m "not browser" "$@"

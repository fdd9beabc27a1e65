#!/usr/bin/env bash
# The whole test suite, as `make test` runs it: ruff, mypy, pytest on SQLite (with the browser
# journeys), then pytest on a throwaway PostgreSQL 15 that this script starts on loopback and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONDONTWRITEBYTECODE=1
mkdir -p test-artifacts

echo "== ruff"
$BIN/ruff check src tests bench
$BIN/ruff format --check src tests bench
echo "== mypy"
$BIN/mypy

# Each run gets its own PACTE_HOME so nothing of a developer's var/ is touched.
WORK=$(mktemp -d /tmp/pacte-test.XXXXXX)
PGDIR="$WORK/pg"
cleanup() {
  if [ -f "$PGDIR/postmaster.pid" ]; then
    pg_as_owner "$PGBIN/pg_ctl" -D "$PGDIR" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

echo "== pytest on SQLite"
PACTE_HOME="$WORK/home-sqlite" $BIN/pytest "$@"

echo "== starting PostgreSQL ($PGBIN) in $PGDIR"
mkdir -p "$PGDIR"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK" "$PGDIR"
chmod 700 "$PGDIR"
PGPORT=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_as_owner "$PGBIN/initdb" -D "$PGDIR" -A trust -U pacte --no-sync >/dev/null
pg_as_owner "$PGBIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
export PGBIN
export DATABASE_URL="postgres://pacte@127.0.0.1:$PGPORT/pacte"
export PACTE_KEYS_DATABASE_URL="postgres://pacte@127.0.0.1:$PGPORT/pacte_keys"
export PACTE_TELEMETRY_DATABASE_URL="postgres://pacte@127.0.0.1:$PGPORT/pacte_telemetry"
for db in pacte pacte_keys pacte_telemetry; do "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U pacte "$db"; done

echo "== pytest on PostgreSQL (port $PGPORT)"
PACTE_HOME="$WORK/home-pg" $BIN/pytest -m "not browser" "$@"

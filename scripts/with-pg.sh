#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL 15: initdb in a temporary folder, loopback only, a free
# port; DATABASE_URL, PACTE_KEYS_DATABASE_URL and PACTE_TELEMETRY_DATABASE_URL point at it; the server
# is stopped and its folder removed when the command ends.
#   scripts/with-pg.sh .venv/bin/pytest src/pacte/vault
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] || { echo "PostgreSQL is not installed (make test installs postgresql-15)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/pacte-pg.XXXXXX)
PGDIR="$WORK/pg"
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -f "$PGDIR/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$PGDIR" -m fast -w stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$PGDIR"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK" "$PGDIR"
chmod 700 "$PGDIR"
PYTHON=${PYTHON:-$(dirname "$0")/../.venv/bin/python}
PGPORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner "$PGBIN/initdb" -D "$PGDIR" -A trust -U pacte --no-sync >/dev/null
as_owner "$PGBIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
export PGBIN PGPORT PGHOST=127.0.0.1 PGUSER=pacte
export DATABASE_URL="postgres://pacte@127.0.0.1:$PGPORT/pacte"
export PACTE_KEYS_DATABASE_URL="postgres://pacte@127.0.0.1:$PGPORT/pacte_keys"
export PACTE_TELEMETRY_DATABASE_URL="postgres://pacte@127.0.0.1:$PGPORT/pacte_telemetry"
for db in pacte pacte_keys pacte_telemetry; do "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U pacte "$db"; done
echo "PostgreSQL on 127.0.0.1:$PGPORT" >&2
set +e
"$@"
rc=$?
exit $rc

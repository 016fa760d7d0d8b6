#!/usr/bin/env bash
# Starts (or reuses) a PostgreSQL server for the tests: Debian's package, its own cluster, listening
# on 127.0.0.1:${PGPORT:-54329}, with role/database "market".
# Prints the DATABASE_URL to use on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PGPORT=${PGPORT:-54329}
# As root the cluster belongs to the postgres user, which may not be able to enter this checkout
# (CI clones anywhere), so its files live in that user's home; otherwise under .tools/.
if [ "$(id -u)" = 0 ]; then DATA=${PG_TEST_DATA:-/var/lib/postgresql/koogallery-test-$PGPORT}; else DATA=${PG_TEST_DATA:-$PWD/.tools/pg/data}; fi
URL="postgres://market:market@127.0.0.1:$PGPORT/market"
log() { echo "[postgres] $*" >&2; }

PGBIN=$(bash scripts/postgres-bin.sh)

# PostgreSQL refuses to run as root, so the cluster belongs to the postgres user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then
  log "reusing the server on port $PGPORT"
else
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "creating a cluster in $DATA"
    mkdir -p "$DATA"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DATA"; chmod 700 "$DATA"; fi
    as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # fsync off: this cluster holds only disposable test data, and it halves the tests' database time.
  as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PGPORT -k $DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
fi

psql_admin() { "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_admin -c "select 1 from pg_roles where rolname='market'")" != 1 ]; then
  psql_admin -c "create role market login createdb password 'market'"
fi
# Each test file drops its own database `with (force)`, which must end an autovacuum worker that may be in it:
# PostgreSQL lets only members of pg_signal_backend do that (the worker belongs to no role). Idempotent.
psql_admin -c "set client_min_messages = warning; grant pg_signal_backend to market" >/dev/null
if [ "$(psql_admin -c "select 1 from pg_database where datname='market'")" != 1 ]; then
  psql_admin -c "create database market owner market"
fi
echo "$URL"

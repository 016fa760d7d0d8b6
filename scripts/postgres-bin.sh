#!/usr/bin/env bash
# Prints the bin directory of a PostgreSQL server (Debian's package), installing the package first
# when none is there. The test server (scripts/test-postgres.sh) and `make cluster` both use it.
set -euo pipefail
find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}
if ! find_bin; then
  echo "[postgres] installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  find_bin
fi

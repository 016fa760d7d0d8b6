#!/usr/bin/env bash
# Everything CI runs, in order: toolchain, typecheck, lint, then unit, workflow (time-skipping) and
# integration (PostgreSQL + dev server + HTTP) and end-to-end (make start, the README's walkthroughs) tests, then the
# cluster's chaos run. `make test` and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# The cluster's Temporal server, SQL tool and UI build meanwhile (minutes when .tools/ lacks them, nothing
# otherwise), at the lowest priority: they take only the CPU the tests leave idle. Its own process group,
# so a failing run stops it too.
mkdir -p .tools
setsid nice -n 19 bash scripts/cluster/build-temporal.sh > .tools/temporal-build.log 2>&1 &
TEMPORAL_BUILD=$!
trap 'kill -- -$TEMPORAL_BUILD 2>/dev/null || true' EXIT
# The end-to-end test runs the README's commands, which use curl and jq (Debian's packages).
missing=$(for t in curl jq; do command -v "$t" >/dev/null || echo "$t"; done)
if [ -n "$missing" ]; then
  echo "[tools] installing Debian's" $missing >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
DATABASE_URL=$(bash scripts/test-postgres.sh)
export DATABASE_URL
echo "== typecheck"; npx tsc --noEmit
echo "== lint"; npx eslint . --max-warnings=0
echo "== tests"; npx vitest run --project '!cluster'
# The production topology (docker-compose.yml) as local processes under a short chaos run (tests/cluster/).
echo "== cluster"
wait "$TEMPORAL_BUILD" || { cat .tools/temporal-build.log; echo "building the Temporal server failed" >&2; exit 1; }
cat .tools/temporal-build.log
npx vitest run --project cluster

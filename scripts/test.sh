#!/usr/bin/env bash
# Everything CI runs, in order: toolchain, typecheck, lint, then unit, workflow (time-skipping) and
# integration (PostgreSQL + dev server + HTTP) tests, then the cluster's chaos run. `make test` and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
DATABASE_URL=$(bash scripts/test-postgres.sh)
export DATABASE_URL
echo "== typecheck"; npx tsc --noEmit
echo "== lint"; npx eslint . --max-warnings=0
echo "== tests"; npx vitest run --project '!cluster'
# The production topology (docker-compose.yml) as local processes under a short chaos run; the first
# run on a machine builds the Temporal server into .tools/ (scripts/cluster/build-temporal.sh).
echo "== cluster"; bash scripts/cluster/build-temporal.sh; npx vitest run --project cluster

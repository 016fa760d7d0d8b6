#!/usr/bin/env bash
# Everything CI runs, in order: toolchain, typecheck, lint, then unit, workflow (time-skipping) and
# integration (PostgreSQL + dev server + HTTP) tests. `make test` and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
DATABASE_URL=$(bash scripts/test-postgres.sh)
export DATABASE_URL
echo "== typecheck"; npx tsc --noEmit
echo "== lint"; npx eslint . --max-warnings=0
echo "== tests"; npx vitest run

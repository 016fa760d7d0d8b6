#!/usr/bin/env bash
# Installs schemathesis (the API fuzzer make test runs, tests/fuzz/) into .tools/schemathesis when missing:
# hash-pinned wheels from PyPI, every dependency listed in scripts/toolchain/schemathesis-requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .tools/schemathesis/bin/st ]; then
  echo "[fuzz-tools] installing schemathesis into .tools/schemathesis" >&2
  [ -x .tools/schemathesis/bin/python ] || python3 -m venv .tools/schemathesis
  .tools/schemathesis/bin/pip install --quiet --disable-pip-version-check --only-binary=:all: --no-deps \
    --require-hashes -r scripts/toolchain/schemathesis-requirements.txt
fi

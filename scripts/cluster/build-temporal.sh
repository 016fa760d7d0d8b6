#!/usr/bin/env bash
# Builds, once, the Temporal software that docker-compose.yml runs as images, at the same versions
# (the image tags there are the one pin), from the Go module proxy, into .tools/temporal/:
#   server-<v>/temporal-server, server-<v>/temporal-sql-tool   go.temporal.io/server cmd/server, cmd/tools/sql
#   ui-<v>/ui-server + ui-<v>/config/                          github.com/temporalio/ui-server/v2 cmd/server
# The `temporal` CLI the admin-tools image also carries is the one scripts/bootstrap.sh installs.
# A cold build on a 2-core machine takes several minutes (README, "The cluster"); later calls return at once.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/.tools/temporal
mkdir -p "$OUT"
log() { echo "[temporal-build] $*" >&2; }

tag_of() { # the tag of an image in docker-compose.yml; every use of it must agree
  local tags
  tags=$(sed -n "s|^ *image: $1:\([^ ]*\) *\$|\1|p" docker-compose.yml | sort -u)
  [ "$(printf '%s\n' "$tags" | grep -c .)" = 1 ] || { log "docker-compose.yml must name exactly one tag of $1 (found: ${tags:-none})"; exit 1; }
  echo "$tags"
}
SERVER_V=$(tag_of temporalio/server)
ADMIN_V=$(tag_of temporalio/admin-tools)
UI_V=$(tag_of temporalio/ui)
[ "$SERVER_V" = "$ADMIN_V" ] || { log "temporalio/server:$SERVER_V and temporalio/admin-tools:$ADMIN_V must be the same version"; exit 1; }

SERVER_DIR=$OUT/server-$SERVER_V
UI_DIR=$OUT/ui-$UI_V
ready() { [ -x "$SERVER_DIR/temporal-server" ] && [ -x "$SERVER_DIR/temporal-sql-tool" ] && [ -x "$UI_DIR/ui-server" ] && [ -f "$UI_DIR/config/docker.yaml" ]; }
ready && exit 0

# One build at a time (make cluster and a test may both ask); the second finds the result.
exec 9>"$OUT/.build.lock"
flock 9
ready && exit 0

command -v go >/dev/null || { log "Go is needed to build the Temporal server (https://go.dev/doc/install); this machine has none"; exit 1; }
# The machine's own Go, never a downloaded toolchain; a module that needs a newer Go says so here.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath"
started=$(date +%s)
work=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -x "$SERVER_DIR/temporal-sql-tool" ] || [ ! -x "$SERVER_DIR/temporal-server" ]; then
  log "building go.temporal.io/server v$SERVER_V (temporal-server, temporal-sql-tool)"
  GOBIN=$work/server go install -ldflags='-s -w' \
    "go.temporal.io/server/cmd/server@v$SERVER_V" "go.temporal.io/server/cmd/tools/sql@v$SERVER_V"
  mkdir -p "$work/server-out"
  mv "$work/server/server" "$work/server-out/temporal-server"
  mv "$work/server/sql" "$work/server-out/temporal-sql-tool"
  rm -rf "$SERVER_DIR" && mv "$work/server-out" "$SERVER_DIR"
fi

if [ ! -x "$UI_DIR/ui-server" ] || [ ! -f "$UI_DIR/config/docker.yaml" ]; then
  log "building github.com/temporalio/ui-server/v2 v$UI_V (the Web UI, its assets built in)"
  GOBIN=$work/ui go install -ldflags='-s -w' "github.com/temporalio/ui-server/v2/cmd/server@v$UI_V"
  # The image's configuration template (environment variables in, YAML out) comes with the module.
  moddir=$(go mod download -json "github.com/temporalio/ui-server/v2@v$UI_V" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  mkdir -p "$work/ui-out/config"
  mv "$work/ui/server" "$work/ui-out/ui-server"
  cp "$moddir/config/docker.yaml" "$work/ui-out/config/docker.yaml"
  # Loaded before docker.yaml: listen on loopback only (the image listens on its container's interface).
  printf 'host: 127.0.0.1\n' > "$work/ui-out/config/base.yaml"
  chmod -R u+w "$work/ui-out"
  rm -rf "$UI_DIR" && mv "$work/ui-out" "$UI_DIR"
fi
log "done in $(( $(date +%s) - started )) s"

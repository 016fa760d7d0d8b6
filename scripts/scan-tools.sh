#!/usr/bin/env bash
# Installs what the image-asset tests and runs need, when missing:
#   - moto in server mode (the S3-compatible store on loopback), hash-pinned, in .tools/moto
#   - ClamAV (Debian's clamav and clamav-daemon: clamd and clamscan). No signature database is
#     downloaded: tests install their own small one, operators install theirs (freshclam or files).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[scan-tools] $*" >&2; }
if [ ! -x .tools/moto/bin/moto_server ]; then
  log "installing moto (server mode) into .tools/moto"
  [ -x .tools/moto/bin/python ] || python3 -m venv .tools/moto
  .tools/moto/bin/pip install --quiet --disable-pip-version-check --only-binary=:all: \
    --require-hashes -r scripts/toolchain/moto-requirements.txt
fi
if ! command -v clamd >/dev/null 2>&1 && [ ! -x /usr/sbin/clamd ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing Debian's clamav and clamav-daemon"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends clamav clamav-daemon >/dev/null
  else
    log "ClamAV is missing and this is not root: apt-get install clamav clamav-daemon (the scan runs without ClamAV until then)"
  fi
fi

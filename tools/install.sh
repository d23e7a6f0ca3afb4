#!/usr/bin/env bash
# All the set-up a fresh machine needs, idempotent: npm dependencies, then the
# Docker toolchain (engine, local registry, base image). Called by demo.sh and
# test.sh, so each of them works alone on a new machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

stamp=node_modules/.ml-docker-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[install] npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
bash tools/toolchain/setup.sh

#!/usr/bin/env bash
# Every test: unit tests of the plugin, then the e2e suites on the real engine
# and registry. Ends with the line "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/install.sh || { echo "0 passed, 1 failed"; exit 1; }
# shellcheck disable=SC1091
. tmp/toolchain.env
export NX_DAEMON=false NX_NO_CLOUD=true

results=tmp/test-results
rm -rf "$results" && mkdir -p "$results"
status=0
npx nx run docker:test --skip-nx-cache --outputStyle=stream --json --outputFile="$root/$results/unit.json" || status=1
npx nx run docker-e2e:e2e --skip-nx-cache --outputStyle=stream --json --outputFile="$root/$results/e2e.json" || status=1
node tools/test-summary.mjs "$results"/*.json || status=1
exit $status

#!/usr/bin/env bash
# Everything the demo and the tests need on a fresh machine: the engine, the
# local registry, a base image, podman (runs containers here) and buildx in a
# config folder of its own. Writes the choices twice:
# - tmp/toolchain.env, sourced by the scripts (demo.sh, test.sh);
# - the workspace's .env (git-ignored), which Nx loads into every task it
#   runs, so an nx command typed by hand sees the same base image and registry.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

command -v curl >/dev/null 2>&1 || apt_install curl
bash "$here/engine.sh"
bash "$here/registry.sh"
base=$(bash "$here/base-image.sh" | tail -n 1)
registry="${ML_DOCKER_LOCAL_REGISTRY_ADDR:-127.0.0.1:5000}"
# Podman and buildx serve only the tests of those paths: a failure there is
# reported, and the rest of the set-up (and of the tests) goes on.
bash "$here/podman.sh" || printf '[toolchain] warning: podman is not usable; the Podman tests will fail\n' >&2
buildx_config=$(bash "$here/buildx.sh" | tail -n 1) \
  || { buildx_config=; printf '[toolchain] warning: no docker-buildx; the buildx tests will fail\n' >&2; }

mkdir -p "$root/tmp"
cat >"$root/tmp/toolchain.env" <<ENV
export ML_DOCKER_BASE_IMAGE='$base'
export ML_DOCKER_REGISTRY='$registry'
export ML_DOCKER_BUILDX_CONFIG='$buildx_config'
ENV

# .env: only our keys are rewritten; a user's own lines stay as they are.
marker='# Written by tools/toolchain/setup.sh (@ml/docker), which rewrites only the ML_DOCKER_BASE_IMAGE and ML_DOCKER_REGISTRY lines; Nx loads this file into every task.'
dotenv="$root/.env"
tmp=$(mktemp "$root/.env.XXXXXX")
trap 'rm -f "$tmp"' EXIT
if [ -f "$dotenv" ]; then
  grep -vE '^[[:space:]]*(export[[:space:]]+)?(ML_DOCKER_BASE_IMAGE|ML_DOCKER_REGISTRY)[[:space:]]*=' "$dotenv" \
    | grep -vF -x "$marker" >"$tmp" || true
  chmod --reference="$dotenv" "$tmp"
  # A user's last line without its newline must not run into our marker.
  [ -s "$tmp" ] && [ -n "$(tail -c 1 "$tmp")" ] && echo >>"$tmp"
else
  chmod 644 "$tmp"
fi
printf '%s\nML_DOCKER_BASE_IMAGE=%s\nML_DOCKER_REGISTRY=%s\n' "$marker" "$base" "$registry" >>"$tmp"
mv -f "$tmp" "$dotenv"

say "ready: engine, registry $registry, base image $base${buildx_config:+, buildx in $buildx_config}"

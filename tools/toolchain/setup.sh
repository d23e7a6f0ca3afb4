#!/usr/bin/env bash
# Everything the demo and the tests need on a fresh machine: the engine, the
# local registry and a base image. Writes tmp/toolchain.env for the callers.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

command -v curl >/dev/null 2>&1 || apt_install curl
bash "$here/engine.sh"
bash "$here/registry.sh"
base=$(bash "$here/base-image.sh" | tail -n 1)

mkdir -p "$root/tmp"
cat >"$root/tmp/toolchain.env" <<ENV
export ML_DOCKER_BASE_IMAGE='$base'
export ML_DOCKER_REGISTRY='${ML_DOCKER_LOCAL_REGISTRY_ADDR:-127.0.0.1:5000}'
ENV
say "ready: engine, registry ${ML_DOCKER_LOCAL_REGISTRY_ADDR:-127.0.0.1:5000}, base image $base"

# Shared helpers for the toolchain scripts: one place for logging and for the
# state folder, so every script reports the same way.
set -euo pipefail

TOOLCHAIN_STATE="${ML_DOCKER_STATE_DIR:-/var/lib/ml-docker}"
mkdir -p "$TOOLCHAIN_STATE"

say() { printf '[toolchain] %s\n' "$*"; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

# apt-get update only once per run of the scripts: it is the slow part.
apt_install() {
  if [ ! -f "$TOOLCHAIN_STATE/.apt-updated" ] || [ -n "$(find "$TOOLCHAIN_STATE/.apt-updated" -mmin +360 2>/dev/null)" ]; then
    apt-get update -qq >/dev/null || die "apt-get update failed; check that Debian's mirror is reachable"
    touch "$TOOLCHAIN_STATE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# One rule for the scripts, the e2e harness and the benchmarks: ML_DOCKER_CLIENT,
# else Debian's /usr/bin/docker (the 20.10 client from docker.io builds with the
# engine's BuildKit; the machine's docker 28 client cannot without buildx),
# else docker on PATH.
docker_cli() {
  if [ -n "${ML_DOCKER_CLIENT:-}" ]; then "$ML_DOCKER_CLIENT" "$@"
  elif [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"
  else docker "$@"; fi
}

#!/usr/bin/env bash
# Puts the docker-buildx CLI plugin into a config folder of its own, for the
# tests of the plugin's buildx path, and prints that folder on the last line
# of stdout. Use it per command: DOCKER_CONFIG=<folder> docker buildx ...
#
# It never goes into ~/.docker/cli-plugins or /usr/libexec/docker/cli-plugins:
# with buildx found there, every docker client on the machine would switch its
# build mode, and every other test would silently test something else.
#
# Debian 12 has no docker-buildx package; Debian 13's (0.13.1, a static Go
# binary) runs on this host with the docker 28 client against the 20.10
# engine. Its .deb is found through the trixie Packages index on the mirror,
# checked against the index's SHA256, and only the binary is kept.
# Idempotent: a folder whose plugin answers `docker buildx version` is reused.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

CONFIG="${ML_DOCKER_BUILDX_CONFIG:-$root/tmp/buildx-config}"
MIRROR="${ML_DOCKER_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="${ML_DOCKER_BUILDX_SUITE:-trixie}"
PLUGIN="$CONFIG/cli-plugins/docker-buildx"

# Any docker client finds the plugin in $DOCKER_CONFIG/cli-plugins; the one
# first on PATH (28) is what the tests use.
client() { DOCKER_CONFIG="$CONFIG" docker "$@"; }

if [ -x "$PLUGIN" ] && client buildx version >/dev/null 2>&1; then
  say "buildx: $(client buildx version | head -n 1) already in $CONFIG" >&2
  echo "$CONFIG"
  exit 0
fi

for tool in curl xz dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "buildx.sh needs $tool"
done

work=$(mktemp -d /tmp/ml-docker-buildx.XXXXXX)
trap 'rm -rf "$work"' EXIT

say "buildx: looking up docker-buildx in $SUITE's Packages index on $MIRROR" >&2
curl -fsS -m 120 -o "$work/Packages.xz" "$MIRROR/dists/$SUITE/main/binary-amd64/Packages.xz" \
  || die "cannot download $MIRROR/dists/$SUITE/main/binary-amd64/Packages.xz"
read -r filename sha256 version < <(xz -dc "$work/Packages.xz" | awk '
  $0 == "Package: docker-buildx" { p = 1; next }
  p && /^Filename: / { f = $2 }
  p && /^SHA256: / { s = $2 }
  p && /^Version: / { v = $2 }
  p && /^$/ { print f, s, v; exit }') || true
[ -n "${filename:-}" ] && [ -n "${sha256:-}" ] || die "no docker-buildx in $SUITE's Packages index"

say "buildx: downloading $MIRROR/$filename ($version)" >&2
curl -fsS -m 300 -o "$work/buildx.deb" "$MIRROR/$filename" || die "cannot download $MIRROR/$filename"
echo "$sha256  $work/buildx.deb" | sha256sum -c --quiet - >&2 || die "$filename does not match the index's SHA256"
dpkg-deb -x "$work/buildx.deb" "$work/x"
binary="$work/x/usr/libexec/docker/cli-plugins/docker-buildx"
[ -x "$binary" ] || die "the .deb has no usr/libexec/docker/cli-plugins/docker-buildx"

mkdir -p "$CONFIG/cli-plugins"
install -m 0755 "$binary" "$PLUGIN"
client buildx version >/dev/null 2>&1 || die "DOCKER_CONFIG=$CONFIG docker buildx version fails"
say "buildx: $(client buildx version | head -n 1) installed in $CONFIG (use DOCKER_CONFIG=$CONFIG)" >&2
echo "$CONFIG"

#!/usr/bin/env bash
# Ensures podman can run containers here, for the tests of the plugin's
# Podman path: installs Debian's podman (4.3.1 on Debian 12) when it is
# missing, then checks that `podman run` starts a container at all.
#
# Podman (rootful) asks the runtime for RLIMIT_NOFILE and RLIMIT_NPROC of
# 1048576 in every container unless containers.conf says otherwise, and only
# caps them at the caller's hard limits when rootless. A root without
# CAP_SYS_RESOURCE whose hard limits are lower (this sandbox: `ulimit -Hn`
# 20000; podman itself also runs with RLIMIT_NPROC 32768) cannot raise them,
# and every `podman run` fails with
#   error setting rlimits for ready process: error setting rlimit type 7: operation not permitted
# (type 7 is RLIMIT_NOFILE; with only nofile fixed, type 6, RLIMIT_NPROC).
# That is a property of the machine, not of a project, so the fix is the
# machine's: a containers.conf drop-in with default_ulimits within the hard
# limits, written only when the probe below fails (a machine where podman's
# defaults work is left alone). A command-line `--ulimit` still overrides it.
# Idempotent.
. "$(dirname "$0")/lib.sh"

DROPIN=/etc/containers/containers.conf.d/50-ml-docker-ulimits.conf
PROBE="$TOOLCHAIN_STATE/podman-probe-rootfs"

if ! command -v podman >/dev/null 2>&1; then
  say "installing Debian's podman"
  apt_install podman
fi

# A root file system of one binary (/usr/bin/true and its libraries): the
# probe needs no image and no registry. Same machine, same libraries.
make_probe() {
  rm -rf "$PROBE"
  mkdir -p "$PROBE/usr/bin"
  cp /usr/bin/true "$PROBE/usr/bin/true"
  ldd /usr/bin/true | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$PROBE$(dirname "$lib")"
    cp -L "$lib" "$PROBE$lib"
  done
}
probe() { podman run --rm --network none --rootfs "$PROBE" /usr/bin/true >"$TOOLCHAIN_STATE/podman-probe.log" 2>&1; }

[ -x "$PROBE/usr/bin/true" ] || make_probe
if probe; then
  say "podman: $(podman version -f '{{.Client.Version}}') runs containers"
  exit 0
fi
if ! grep -q 'error setting rlimit' "$TOOLCHAIN_STATE/podman-probe.log"; then
  cat "$TOOLCHAIN_STATE/podman-probe.log" >&2
  die "podman run fails here, and not because of its rlimits; see above"
fi

nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=1048576
# Podman lowers its own RLIMIT_NPROC to 32768 before it starts conmon, so
# nothing above that can be set in the container either.
[ "$nproc" -gt 32768 ] && nproc=32768
write_dropin() {
  mkdir -p "$(dirname "$DROPIN")"
  cat >"$DROPIN" <<CONF
# Written by tools/toolchain/podman.sh (@ml/docker): podman's default
# RLIMIT_NOFILE/RLIMIT_NPROC of 1048576 are above this machine's hard limits
# (ulimit -Hn $(ulimit -Hn), ulimit -Hu $(ulimit -Hu)) and root here cannot
# raise them, so every podman run failed with "error setting rlimit".
# Delete this file to get podman's defaults back.
[containers]
default_ulimits = [
  "nofile=$1:$1",
  "nproc=$2:$2",
]
CONF
}
for _ in 1 2 3 4 5 6; do
  write_dropin "$nofile" "$nproc"
  if probe; then
    say "podman: default_ulimits nofile=$nofile nproc=$nproc set in $DROPIN; podman run works"
    exit 0
  fi
  nproc=$((nproc / 2))
  nofile=$((nofile / 2))
done
rm -f "$DROPIN"
cat "$TOOLCHAIN_STATE/podman-probe.log" >&2
die "podman run still fails with lowered default_ulimits; see above"

#!/usr/bin/env bash
# Ensures a Docker engine answers on the default socket: installs Debian's
# docker.io when dockerd is missing and starts dockerd when nothing answers.
# Idempotent: a running engine is left alone.
. "$(dirname "$0")/lib.sh"

LOG="${ML_DOCKER_ENGINE_LOG:-/var/log/ml-docker-dockerd.log}"
PIDFILE=/var/run/docker.pid

if ! command -v dockerd >/dev/null 2>&1 || [ ! -x /usr/bin/docker ]; then
  say "installing Docker Engine from Debian's packages (docker.io)"
  apt_install docker.io
fi

if docker_cli info >/dev/null 2>&1; then
  # A running engine whose default bridge went missing (deleted by another
  # dockerd sharing the host, or by hand) starts no container until docker0
  # exists again; recreate it from the engine's own network settings.
  if command -v ip >/dev/null 2>&1 && ! ip link show docker0 >/dev/null 2>&1; then
    gateway=$(docker_cli network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}' 2>/dev/null || true)
    subnet=$(docker_cli network inspect bridge -f '{{(index .IPAM.Config 0).Subnet}}' 2>/dev/null || true)
    if [ -n "$gateway" ] && [ -n "$subnet" ]; then
      say "engine: default bridge docker0 was missing; recreating it ($gateway/${subnet#*/})"
      ip link add docker0 type bridge && ip addr add "$gateway/${subnet#*/}" dev docker0 && ip link set docker0 up
    fi
  fi
  say "engine: already running ($(docker_cli version -f '{{.Server.Version}}'))"
  exit 0
fi

# A dockerd killed at the end of an earlier session leaves its pid file, and
# the next dockerd refuses to start while it exists.
if [ -f "$PIDFILE" ]; then
  oldpid=$(cat "$PIDFILE" 2>/dev/null || true)
  if [ -z "$oldpid" ] || ! kill -0 "$oldpid" 2>/dev/null; then
    rm -f "$PIDFILE"
  fi
fi
rm -f /var/run/docker.sock 2>/dev/null || true
# containerd's own stale pid/socket state is rebuilt by dockerd when it spawns it.

say "starting dockerd (log: $LOG)"
nohup dockerd >"$LOG" 2>&1 </dev/null &

for _ in $(seq 1 120); do
  if docker_cli info >/dev/null 2>&1; then
    say "engine: running ($(docker_cli version -f '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 0.5
done
tail -n 20 "$LOG" >&2 || true
die "dockerd did not answer 'docker info' within 60 s; see $LOG"

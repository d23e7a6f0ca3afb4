#!/usr/bin/env bash
# A second Docker engine, reached like a remote one: over TCP on loopback.
#
#   bash tools/toolchain/remote-engine.sh start [PORT]   # prints DOCKER_HOST=tcp://127.0.0.1:PORT last
#   bash tools/toolchain/remote-engine.sh stop  [PORT]   # keeps its data root (images, build cache)
#   bash tools/toolchain/remote-engine.sh purge [PORT]   # stop, then delete its data root
#   bash tools/toolchain/remote-engine.sh status [PORT]
#
# PORT defaults to $ML_DOCKER_REMOTE_ENGINE_PORT, else 23750. Use it with
#   DOCKER_HOST=tcp://127.0.0.1:23750 docker info
# It listens on 127.0.0.1 only, without TLS (loopback: nothing else can reach
# it). It has no images at first: pull the base from the local registry
# (127.0.0.1:5000, which it reaches through the host's loopback).
#
# It shares nothing with the main engine (unix:///var/run/docker.sock): its own
# --data-root, --exec-root, --pidfile, config file, containerd namespaces and
# its own bridge interface with a subnet of its own. Never --bridge=none: a
# dockerd with the bridge disabled deletes the host's docker0 at start-up and
# cuts the main engine's containers off. It never touches the main engine's
# iptables chains either (--iptables=false: a dockerd with iptables on
# re-creates the DOCKER chains, removing the other engine's rules); the only
# rules it adds are a MASQUERADE and two FORWARD accepts for its own subnet,
# tagged with a comment and removed by stop, so RUN steps and containers can
# still reach Debian's mirror (apt-get update in a generated Dockerfile).
# Published ports work through docker-proxy on 127.0.0.1.
#
# Idempotent: start on a running engine, or stop on a stopped one, does
# nothing; a pid file or bridge left by a killed engine is cleaned up.
. "$(dirname "$0")/lib.sh"

cmd="${1:-}"
PORT="${2:-${ML_DOCKER_REMOTE_ENGINE_PORT:-23750}}"
case "$PORT" in '' | *[!0-9]*) die "port must be a number, got '$PORT'" ;; esac
HOST="tcp://127.0.0.1:$PORT"
DIR="$TOOLCHAIN_STATE/remote-engine-$PORT"
EXEC="/run/ml-docker-remote-$PORT"
PIDFILE="$DIR/docker.pid"
LOG="$DIR/dockerd.log"
BRIDGE="mlremote$PORT" # at most 15 characters: mlremote + 5 digits
NS="ml-remote-$PORT"
TAG="ml-docker-remote-engine-$PORT"

remote() { DOCKER_HOST="$HOST" docker_cli "$@"; }
answers() { remote info >/dev/null 2>&1; }

cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# The pid in our pid file, if that process is alive and is our dockerd.
our_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  case "$(cmdline "$pid")" in *"--pidfile $PIDFILE "*) echo "$pid" ;; *) return 1 ;; esac
}

# Each port has its own subnet, 10.214.(PORT mod 254 + 1).0/24 (23750:
# 10.214.129.0/24), so engines started at the same time on different ports
# never pick the same one. ML_DOCKER_REMOTE_ENGINE_SUBNET=10.x.y overrides it.
pick_subnet() {
  local prefix="${ML_DOCKER_REMOTE_ENGINE_SUBNET:-10.214.$((PORT % 254 + 1))}" other
  [[ "$prefix" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "ML_DOCKER_REMOTE_ENGINE_SUBNET must look like 10.214.3, got '$prefix'"
  other=$(ip -4 route show "$prefix.0/24" | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }' | grep -vx "$BRIDGE" || true)
  [ -z "$other" ] || die "subnet $prefix.0/24 is already routed to $other; pick another port or set ML_DOCKER_REMOTE_ENGINE_SUBNET"
  if ip -4 route show | grep -v " dev $BRIDGE " | awk '{ print $1 }' | grep -q "^$prefix\."; then
    die "part of $prefix.0/24 is already routed on this host; pick another port or set ML_DOCKER_REMOTE_ENGINE_SUBNET"
  fi
  echo "$prefix"
}

setup_bridge() {
  local prefix="$1"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip -4 addr show dev "$BRIDGE" | grep -q "inet $prefix.1/24" || {
      ip link delete "$BRIDGE"
      setup_bridge "$prefix"
      return
    }
  else
    ip link add "$BRIDGE" type bridge
    ip addr add "$prefix.1/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
}

# Rules for our subnet only, each added once (-C checks before -A/-I).
rule() {
  local table="$1" op="$2" chain="$3"
  shift 3
  iptables -w -t "$table" -C "$chain" "$@" -m comment --comment "$TAG" 2>/dev/null && return 0
  iptables -w -t "$table" "$op" "$chain" "$@" -m comment --comment "$TAG"
}

setup_nat() {
  local prefix="$1"
  command -v iptables >/dev/null 2>&1 || { say "remote engine: no iptables; its containers get no outbound network" >&2; return 0; }
  rule nat -A POSTROUTING -s "$prefix.0/24" ! -o "$BRIDGE" -j MASQUERADE
  rule filter -I FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j ACCEPT
  rule filter -I FORWARD -o "$BRIDGE" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
}

remove_nat() {
  command -v iptables >/dev/null 2>&1 || return 0
  local table line
  for table in nat filter; do
    # iptables -S prints each rule as the arguments that added it.
    { iptables -w -t "$table" -S | grep -E -- "--comment $TAG( |$)" || true; } | while read -r line; do
      # shellcheck disable=SC2086
      eval "iptables -w -t $table ${line/-A /-D }" || true
    done
  done
}

start() {
  if our_pid >/dev/null && answers; then
    say "remote engine: already running on $HOST ($(remote version -f '{{.Server.Version}}'))" >&2
    echo "DOCKER_HOST=$HOST"
    return 0
  fi
  if answers; then
    die "something else already answers as a Docker engine on $HOST"
  fi
  if curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
    die "port $PORT on 127.0.0.1 is taken by another program"
  fi
  command -v dockerd >/dev/null 2>&1 || die "dockerd is missing: run tools/toolchain/engine.sh first"
  mkdir -p "$DIR" "$EXEC"
  rm -f "$DIR/subnet" # written by earlier versions of this script
  # A dockerd killed earlier (every process of a session ends with it) leaves
  # its pid file, and the next one refuses to start while it exists.
  if [ -f "$PIDFILE" ] && ! our_pid >/dev/null; then
    rm -f "$PIDFILE"
  fi
  local prefix
  prefix=$(pick_subnet)
  setup_bridge "$prefix"
  # dockerd keeps its default bridge network's subnet in its network store and
  # re-addresses the bridge from it at start: an older store (another subnet)
  # would override the address set above. The default network is re-created
  # at every start anyway, so the store is dropped.
  rm -f "$DIR/data/network/files/local-kv.db"
  setup_nat "$prefix"
  echo '{}' >"$DIR/daemon.json" # never /etc/docker/daemon.json

  say "remote engine: starting dockerd on $HOST (bridge $BRIDGE $prefix.1/24, data root $DIR/data, log $LOG)" >&2
  nohup dockerd \
    --config-file "$DIR/daemon.json" \
    --data-root "$DIR/data" \
    --exec-root "$EXEC" \
    --pidfile "$PIDFILE" \
    --host "$HOST" \
    --bridge "$BRIDGE" \
    --iptables=false \
    --ip-masq=false \
    --ip-forward=false \
    --containerd-namespace "$NS" \
    --containerd-plugins-namespace "$NS-plugins" \
    >"$LOG" 2>&1 </dev/null &
  local pid=$!
  for _ in $(seq 1 120); do
    if answers; then
      say "remote engine: running on $HOST ($(remote version -f '{{.Server.Version}}'), pid $pid)" >&2
      echo "DOCKER_HOST=$HOST"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 20 "$LOG" >&2 || true
  stop >/dev/null 2>&1 || true
  die "the remote engine did not answer 'docker info' on $HOST within 60 s; see $LOG"
}

wait_gone() { # pid, tenths of a second
  local i
  for i in $(seq 1 "$2"); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

stop() {
  local pid ctr was=stopped
  if pid=$(our_pid); then
    was=running
    say "remote engine: stopping dockerd (pid $pid) on $HOST" >&2
    kill -TERM "$pid"
    wait_gone "$pid" 300 || { kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" 50 || true; }
  fi
  # Its own containerd (dockerd starts one under the exec root), if it outlived it.
  ctr=$(cat "$EXEC/containerd/containerd.pid" 2>/dev/null || true)
  if [ -n "$ctr" ] && kill -0 "$ctr" 2>/dev/null && [[ "$(cmdline "$ctr")" == *"$EXEC/"* ]]; then
    kill -KILL "$ctr" 2>/dev/null || true
    wait_gone "$ctr" 50 || true
  fi
  rm -f "$PIDFILE"
  # A killed engine can leave overlay and shm mounts behind.
  awk -v d="$DIR/" -v e="$EXEC/" 'index($5, d) == 1 || index($5, e) == 1 { print $5 }' /proc/self/mountinfo \
    | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  remove_nat
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link delete "$BRIDGE"
  fi
  rm -rf "$EXEC"
  if [ "$was" = running ]; then
    say "remote engine: stopped ($HOST); bridge $BRIDGE removed, data root kept in $DIR" >&2
  else
    say "remote engine: not running ($HOST); nothing of it left behind" >&2
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  purge)
    stop
    rm -rf "$DIR"
    say "remote engine: data root $DIR deleted" >&2
    ;;
  status)
    if our_pid >/dev/null && answers; then
      echo "running: DOCKER_HOST=$HOST ($(remote version -f '{{.Server.Version}}'))"
    else
      echo "stopped: $HOST"
      exit 1
    fi
    ;;
  *) die "usage: remote-engine.sh start|stop|purge|status [PORT]" ;;
esac

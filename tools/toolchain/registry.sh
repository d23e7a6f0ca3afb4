#!/usr/bin/env bash
# Ensures an OCI distribution registry answers on 127.0.0.1:5000, the plugin's
# default push target. Debian's packaged config demands htpasswd auth, so we
# run the binary with a small config of our own.
. "$(dirname "$0")/lib.sh"

ADDR="${ML_DOCKER_LOCAL_REGISTRY_ADDR:-127.0.0.1:5000}"
DIR="$TOOLCHAIN_STATE/registry"
LOG="${ML_DOCKER_REGISTRY_LOG:-/var/log/ml-docker-registry.log}"

if curl -fsS -m 2 "http://$ADDR/v2/" >/dev/null 2>&1; then
  say "registry: already answering on $ADDR"
  exit 0
fi

if ! command -v docker-registry >/dev/null 2>&1; then
  say "installing Debian's docker-registry"
  apt_install docker-registry
fi

mkdir -p "$DIR/storage"
cat >"$DIR/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DIR/storage
  delete:
    enabled: true
http:
  addr: $ADDR
YAML

say "starting registry on $ADDR (log: $LOG)"
nohup docker-registry serve "$DIR/config.yml" >"$LOG" 2>&1 </dev/null &

for _ in $(seq 1 60); do
  if curl -fsS -m 2 "http://$ADDR/v2/" >/dev/null 2>&1; then
    say "registry: answering on $ADDR"
    exit 0
  fi
  sleep 0.25
done
tail -n 20 "$LOG" >&2 || true
die "the registry did not answer on http://$ADDR/v2/ within 15 s; see $LOG"

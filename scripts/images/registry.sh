#!/usr/bin/env bash
# Starts a registry (Debian's docker-registry, the distribution registry v2) on 127.0.0.1 at a
# free port, with its configuration and storage in DIR, for a release pushed and pulled on this
# machine. Installs docker-registry when missing (as root). Prints the address (127.0.0.1:PORT)
# and writes DIR/registry.pid; stop it with `kill "$(cat DIR/registry.pid)"`.
# Usage: scripts/images/registry.sh DIR
set -euo pipefail
[ $# = 1 ] || { echo "usage: scripts/images/registry.sh DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir/storage"
if ! command -v docker-registry >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$dir/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CONFIG
setsid docker-registry serve "$dir/config.yml" </dev/null >"$dir/registry.log" 2>&1 &
echo $! >"$dir/registry.pid"
for _ in $(seq 40); do
  if curl -fsS --max-time 2 "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
    echo "127.0.0.1:$port"
    exit 0
  fi
  sleep 0.25
done
echo "registry: no answer at http://127.0.0.1:$port/v2/ within 10s; its log:" >&2
tail -n 20 "$dir/registry.log" >&2
kill "$(cat "$dir/registry.pid")" 2>/dev/null || true
exit 1

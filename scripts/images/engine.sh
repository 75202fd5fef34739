#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io when there is no docker
# client or daemon (as root), and starts dockerd in the background when none runs.
# Safe to run again. Log of a dockerd started here: /var/log/sidecars-dockerd.log.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "engine: no Docker engine answers and installing one needs root" >&2
    exit 1
  fi
  echo "engine: installing docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io ca-certificates iptables >/dev/null
fi
if ! pgrep -x dockerd >/dev/null; then
  echo "engine: starting dockerd"
  # In its own session, holding no terminal or pipe of the caller's, so it outlives the script.
  setsid dockerd </dev/null >/var/log/sidecars-dockerd.log 2>&1 &
fi
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "engine: dockerd did not answer within 60s; last lines of /var/log/sidecars-dockerd.log:" >&2
tail -n 20 /var/log/sidecars-dockerd.log >&2 || true
exit 1

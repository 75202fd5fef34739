#!/usr/bin/env bash
# Chooses the images of the trial's peers (NGINX_IMAGE, REDIS_IMAGE) and writes them to
# build/peers.env for `docker compose --env-file`. A variable already set is kept; otherwise the
# official image (nginx:1.27-alpine, redis:7-alpine) when it is present or can be pulled;
# otherwise, on a machine that cannot reach a registry, a stand-in built from
# images/peers/<name>.Dockerfile (Debian's package) on the locally built base
# (scripts/images/local-base.sh, which needs root and debootstrap).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p build/images
out=build/peers.env

pullable() { # image
  docker image inspect "$1" >/dev/null 2>&1 || timeout 60 docker pull -q "$1" >/dev/null 2>&1
}

local_peer() { # name: builds sidecars-peer/<name>:<recipe> and prints its name
  local name=$1 recipe base image log
  recipe=bookworm-$(cat scripts/images/local-base.sh "images/peers/$name.Dockerfile" | sha256sum | cut -c1-12)
  image=sidecars-peer/$name:$recipe
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    base=sidecars/debian-python:bookworm-$(sha256sum scripts/images/local-base.sh | cut -c1-12)
    bash scripts/images/local-base.sh "$base" "sidecars/debian-python-git:${base#*:}" >&2 ||
      { echo "peers: FAILED: local base image (scripts/images/local-base.sh)" >&2; return 1; }
    log=build/images/peer-$name.log
    echo "peers: building $image from images/peers/$name.Dockerfile" >&2
    docker build -f "images/peers/$name.Dockerfile" -t "$image" --build-arg BASE_IMAGE="$base" \
      images/peers >"$log" 2>&1 ||
      { tail -n 20 "$log" >&2; echo "peers: FAILED: docker build of $image (log: $log)" >&2; return 1; }
  fi
  echo "$image"
}

choose() { # variable official name
  local variable=$1 official=$2 name=$3 image=${!1:-}
  if [ -z "$image" ]; then
    if [ "${SIDECARS_LOCAL_BASE:-0}" != 1 ] && pullable "$official"; then
      image=$official
    else
      image=$(local_peer "$name")
    fi
  fi
  echo "$variable=$image" >>"$out.new"
  echo "peers: $variable=$image" >&2
}

rm -f "$out.new"
choose NGINX_IMAGE nginx:1.27-alpine nginx
choose REDIS_IMAGE redis:7-alpine redis
mv "$out.new" "$out"

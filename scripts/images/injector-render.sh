#!/usr/bin/env bash
# examples/kubernetes/injector/example-app.yaml rendered by `sidecars injector render`, then run
# under `podman kube play`: the injected Pod starts, waitfor exits 0, gitsync serves /readyz and
# publishes the repository into its volume, and nginx serves the published page from it. Then
# torn down, and nothing may be left.
# What a cluster would provide is put in place first: the Deployment is renamed web-injected
# (no clash with other checks), waitfor waits for dns://localhost instead of the example's git
# host, nginx gets a server block serving gitsync's published tree (the stand-in nginx image
# has none), and scripts/images/podman-kube.py adapts the rendered Pod (local images, the repository
# as a local bare repository, published ports, emptyDirs as host directories).
# Needs podman, the images sidecars/waitfor:VERSION and sidecars/gitsync:VERSION and
# $NGINX_IMAGE (default nginx:1.27) in podman's store or docker's (they are copied over).
# Usage: scripts/images/injector-render.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-$(python3 -c 'import runpy; print(runpy.run_path("sidecars/_version.py")["__version__"])')}
nginx_image=${NGINX_IMAGE:-nginx:1.27}
work=$(mktemp -d /var/tmp/sidecars-injector-render.XXXXXX)
chmod 755 "$work"
name=web-injected

fail() {
  echo "injector-render: FAIL: $*" >&2
  echo "--- podman containers" >&2
  podman ps -a --filter "name=^$name" --format '{{.Names}} {{.Status}}' >&2 || true
  local c
  for c in $(podman ps -a --filter "name=^$name" --format '{{.Names}}' 2>/dev/null); do
    echo "--- $c" >&2
    podman logs --tail 20 "$c" >&2 2>&1 || true
  done
  exit 1
}
cleanup() {
  [ -f "$work/kube.yaml" ] && podman kube play --down "$work/kube.yaml" >/dev/null 2>&1 || true
  podman volume rm -f "$name-nginx" >/dev/null 2>&1 || true # the ConfigMap's; --down keeps it
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

for image in "sidecars/waitfor:$version" "sidecars/gitsync:$version" "$nginx_image"; do
  if command -v docker >/dev/null && docker image inspect "$image" >/dev/null 2>&1; then
    docker save "$image" | podman load -q >/dev/null || fail "docker save $image | podman load"
  fi
  podman image exists "$image" || fail "image $image is in neither docker's nor podman's store"
done

.venv/bin/python - "$work" <<'EOF' || fail "preparing the templates and the app"
import sys
from pathlib import Path

import yaml

work = Path(sys.argv[1])
examples = Path("examples/kubernetes/injector")
configmap = yaml.safe_load((examples / "configmap.yaml").read_text())
(work / "templates.yaml").write_text(configmap["data"]["templates.yaml"])
docs = [d for d in yaml.safe_load_all((examples / "example-app.yaml").read_text()) if d]
server = "server { listen 80; root /usr/share/nginx/html/current; index index.html; }\n"
for doc in docs:
    if doc["kind"] == "Deployment":
        doc["metadata"]["name"] = "web-injected"
        template = doc["spec"]["template"]
        template["metadata"]["annotations"]["sidecars.io/waitfor.WAITFOR_TARGETS"] = "dns://localhost"
        spec = template["spec"]
        spec["containers"][0]["volumeMounts"] = [{"name": "conf", "mountPath": "/etc/nginx/conf.d"}]
        spec["volumes"] = [{"name": "conf", "configMap": {"name": "web-injected-nginx"}}]
docs.append(
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-injected-nginx"},
        "data": {"default.conf": server},
    }
)
(work / "app.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
EOF

.venv/bin/sidecars injector render -f "$work/app.yaml" --templates "$work/templates.yaml" \
  >"$work/rendered.yaml" 2>"$work/render.err" || fail "render: $(cat "$work/render.err")"
grep -q "Deployment/$name: injected waitfor, gitsync" "$work/render.err" ||
  fail "render did not inject waitfor and gitsync: $(cat "$work/render.err")"
! grep -q warning "$work/render.err" || fail "render warned: $(cat "$work/render.err")"
echo "injector-render: PASS render: $(cat "$work/render.err")"

git init -q -b main "$work/site"
cp -R examples/compose/demo-site/. "$work/site"
git -C "$work/site" add -A
git -C "$work/site" -c user.name=check -c user.email=check@sidecars.invalid commit -qm "Demo site"
mkdir -m 755 "$work/repo" "$work/volumes"
git clone -q --bare "$work/site" "$work/repo/site.git"

web_port=$(free_port) gitsync_port=$(free_port)
.venv/bin/python scripts/images/podman-kube.py --image "nginx:1.27=$nginx_image" \
  --repo "$work/repo" --volumes "$work/volumes" --port "80=$web_port" --port "9400=$gitsync_port" \
  "$work/rendered.yaml" >"$work/kube.yaml" || fail "adapting the rendered app"
chmod 0777 "$work"/volumes/* # an emptyDir is world-writable; the helpers run as 65532

podman volume rm -f "$name-nginx" >/dev/null 2>&1 || true
t0=$(date +%s)
# podman 4.3 now and then loses the pod it is creating ("does not exist in database"):
# one more try after tearing down what the first left.
if ! out=$(podman kube play "$work/kube.yaml" 2>&1); then
  echo "injector-render: podman kube play failed, once more: $out"
  podman kube play --down "$work/kube.yaml" >/dev/null 2>&1 || true
  out=$(podman kube play "$work/kube.yaml" 2>&1) || fail "podman kube play: $out"
fi
ready=
for _ in $(seq 1 60); do
  if curl -fsS --max-time 5 "http://127.0.0.1:$gitsync_port/readyz" >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 1
done
[ -n "$ready" ] || fail "gitsync never answered /readyz 200 on port $gitsync_port"
echo "injector-render: PASS the injected Pod runs; gitsync ready in $(($(date +%s) - t0))s"

# podman removes an init container once it has run: its exit is read from the events.
since=$(date -d "@$t0" --iso-8601=seconds)
waitfor=$(podman events --stream=false --since "$since" --filter event=died \
  --format '{{.Name}} {{.ContainerExitCode}}' | grep -- "^$name.*-waitfor " || true)
[ "${waitfor##* }" = "0" ] || fail "waitfor did not exit 0 (died events: '$waitfor')"
echo "injector-render: PASS waitfor ran first and exited 0"

served=
for _ in $(seq 1 30); do
  if curl -fsS --max-time 5 "http://127.0.0.1:$web_port/" -o "$work/served.html" 2>/dev/null &&
    cmp -s "$work/served.html" "$work/site/index.html"; then
    served=1
    break
  fi
  sleep 1
done
[ -n "$served" ] || fail "nginx does not serve the repository's index.html from gitsync's volume:
$(curl -sS -i --max-time 5 "http://127.0.0.1:$web_port/" 2>&1 | head -5)"
echo "injector-render: PASS nginx serves the page gitsync published into the shared volume"

podman kube play --down "$work/kube.yaml" >/dev/null 2>&1 || fail "podman kube play --down"
left=$(podman ps -aq --filter "name=^$name"; podman pod ls -q --filter "name=^$name")
[ -z "$left" ] || fail "left behind after podman kube play --down: $left"
rm -f "$work/kube.yaml"
echo "injector-render: all checks passed"

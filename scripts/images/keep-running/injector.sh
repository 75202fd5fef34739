#!/usr/bin/env bash
# Usage: injector.sh IMAGE DIR. Writes a throwaway serving certificate (made by the image's
# own `certs` command) and a minimal templates file into DIR for the SIGTERM check.
set -euo pipefail
image=$1 dir=$2
docker run --rm --network none --user "$(id -u):$(id -g)" -v "$dir:/out" "$image" \
  certs --service sidecars-injector --namespace sidecars-check --out /out >/dev/null
cat >"$dir/templates.yaml" <<'TEMPLATES'
helpers:
  waitfor:
    role: init
    envPrefix: WAITFOR_
    container:
      image: sidecars/waitfor:check
TEMPLATES
chmod -R a+rX "$dir"

#!/usr/bin/env bash
# Builds every image and checks each one for real (the container stage of CI, part 1):
#   config   non-root user 65532, ENTRYPOINT sidecars <helper>, PATH, HEALTHCHECK with
#            sidecars probe, the OCI labels
#   help     --help works as UID 65532 and as an arbitrary UID, with a read-only root
#            filesystem, a tmpfs at /tmp, no capabilities and no-new-privileges
#   contents the gitsync image has git, ssh and tini; the others have no git, ssh or curl;
#            none has pip, ensurepip, setuptools, test suites, apt, dpkg, perl, bash or docs
#   sigterm  run as PID 1, locked down as above, with the settings that keep it running
#            (scripts/images/keep-running/<helper>.env): the health check passes, then
#            SIGTERM stops it with exit 0 in under 2 seconds
#   reap     gitsync (which runs git and ssh) reaps orphaned children: tini is its PID 1
#   size     each image within its budget, in MB as `docker image ls` counts them (10^6 bytes):
#            IMAGE_BUDGET_MB (default 110) for a helper, GITSYNC_IMAGE_BUDGET_MB (150) for gitsync;
#            on another Python base than the local Debian one, only when IMAGE_BUDGET_MB is set
#   hadolint every Dockerfile, with the OCI labels required (.hadolint.yaml)
# Installs docker.io and debootstrap when missing and starts dockerd when none runs (as root).
# Usage: scripts/check-images.sh [VERSION]. Exit 1 if any check failed; each failure names
# its step and image.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

version=${1:-$(python3 -c 'import runpy; print(runpy.run_path("sidecars/_version.py")["__version__"])')}
helpers=(gitsync nginxlog ambassador waitfor injector)
# gitsync runs git (and git runs ssh): its image has tini as PID 1 to reap their orphans.
entrypoint() {
  if [ "$1" = gitsync ]; then echo '["tini","--","sidecars","gitsync"]'; else echo "[\"sidecars\",\"$1\"]"; fi
}
admin_port() {
  case $1 in
    gitsync) echo 9400 ;; ambassador) echo 9401 ;; injector) echo 9402 ;;
    waitfor) echo 9403 ;; nginxlog) echo 4040 ;;
  esac
}
results=()
failures=0
record() { # status step image detail
  results+=("$(printf '%-5s %-9s %-28s %s' "$1" "$2" "$3" "$4")")
  echo "check-images: $1 $2 $3 $4"
  if [ "$1" = FAIL ]; then failures=$((failures + 1)); fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# What a Pod under the "restricted" Pod Security Standard gets, plus a read-only root.
locked=(--network none --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges)

echo "== engine"
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
bash scripts/images/engine.sh || { echo "check-images: FAIL engine: no Docker engine" >&2; exit 1; }

echo "== hadolint"
[ -x .venv/bin/hadolint ] || bash scripts/setup.sh
if out=$(.venv/bin/hadolint --no-color --config .hadolint.yaml images/*.Dockerfile 2>&1); then
  record PASS hadolint "images/*.Dockerfile" ""
else
  echo "$out" >&2
  record FAIL hadolint "images/*.Dockerfile" "see the lines above"
fi

echo "== build"
build_started=$(date +%s)
bash scripts/build-images.sh "$version" || { echo "check-images: FAIL build (see above)" >&2; exit 1; }
echo "check-images: build took $(($(date +%s) - build_started))s"

check_config() { # helper image
  local helper=$1 image=$2 got
  got=$(docker image inspect -f '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Healthcheck.Test}}' "$image")
  local want="65532:65532|$(entrypoint "$helper")|[\"CMD\",\"sidecars\",\"probe\",\"http://127.0.0.1:$(admin_port "$helper")/healthz\"]"
  if [ "$got" != "$want" ]; then
    record FAIL config "$image" "user|entrypoint|healthcheck is $got, expected $want"
    return
  fi
  if ! docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image" | grep -q '^PATH=/opt/sidecars/bin:'; then
    record FAIL config "$image" "PATH does not start with /opt/sidecars/bin"
    return
  fi
  local label missing=()
  for label in source version revision created licenses title description; do
    [ -n "$(docker image inspect -f "{{index .Config.Labels \"org.opencontainers.image.$label\"}}" "$image")" ] ||
      missing+=("$label")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    record FAIL config "$image" "OCI labels missing: ${missing[*]}"
    return
  fi
  record PASS config "$image" ""
}

check_size() { # helper image
  local helper=$1 image=$2 bytes budget=${IMAGE_BUDGET_MB:-110} python_base
  [ "$helper" = gitsync ] && budget=${GITSYNC_IMAGE_BUDGET_MB:-150}
  bytes=$(docker image inspect -f '{{.Size}}' "$image")
  python_base=$(cat build/images/python-base 2>/dev/null || echo unknown)
  if [[ "$python_base" != sidecars/debian-python:* ]] && [ -z "${IMAGE_BUDGET_MB:-}" ]; then
    # The budgets are for the locally built Debian base; another base has its own size.
    record PASS size "$image" "$((bytes / 1000000)) MB on $python_base (budgets apply to the local base, or set IMAGE_BUDGET_MB)"
  elif [ "$bytes" -gt $((budget * 1000000)) ]; then
    record FAIL size "$image" "$((bytes / 1000000)) MB, over its budget of $budget MB"
  else
    record PASS size "$image" "$((bytes / 1000000)) MB (budget $budget MB)"
  fi
}

check_help() { # helper image
  local helper=$1 image=$2 user out
  for user in 65532:65532 1000650000:0; do
    if ! out=$(docker run --rm "${locked[@]}" --user "$user" "$image" --help 2>&1) ||
      ! grep -q "^sidecars $helper:" <<<"$out"; then
      record FAIL help "$image" "--help as $user with a read-only root: $(head -c 300 <<<"$out")"
      return
    fi
  done
  record PASS help "$image" "as 65532 and 1000650000, read-only root"
}

check_contents() { # helper image
  local helper=$1 image=$2 out
  if [ "$helper" = gitsync ]; then
    out=$(docker run --rm --network none --entrypoint sh "$image" -c 'git --version && ssh -V && tini --version' 2>&1) ||
      { record FAIL contents "$image" "git, ssh or tini missing: $out"; return; }
    record PASS contents "$image" "git, ssh and tini present"
  else
    out=$(docker run --rm --network none --entrypoint sh "$image" -c \
      'for t in git ssh curl wget; do if command -v "$t"; then exit 1; fi; done' 2>&1) ||
      { record FAIL contents "$image" "carries $out"; return; }
    record PASS contents "$image" "no git, ssh, curl or wget"
  fi
  # The slim final stage (images/slim.py): no installer, package manager, docs or test suites.
  out=$(docker run --rm --network none --entrypoint python "$image" -c '
import importlib.util, shutil, sys, sysconfig
from pathlib import Path
found = [m for m in ("pip", "ensurepip", "setuptools", "idlelib", "lib2to3", "test") if importlib.util.find_spec(m)]
found += [t for t in ("apt-get", "dpkg", "perl", "bash", "pip", "pip3") if shutil.which(t)]
found += [str(p) for p in (Path("/usr/share/doc"), Path("/usr/share/man")) if p.exists()]
print(" ".join(found))
sys.exit(1 if found else 0)' 2>&1) ||
    { record FAIL contents "$image" "the slim stage left: $out"; return; }
  record PASS contents "$image" "no pip, ensurepip, setuptools, test suites, apt, dpkg, perl, bash or docs"
  if [ "$helper" = ambassador ]; then # compiled when build-images made a compiled wheel
    local want=".py sidecars.ambassador.tcp.poller"
    compgen -G "images/wheels/sidecars-*-linux_*.whl" >/dev/null && want=".so sidecars.ambassador.tcp._poller"
    out=$(docker run --rm --network none --entrypoint python "$image" -c \
      'import sidecars.ambassador.http.client as h, sidecars.ambassador.tcp.poller as p; print(h.__file__, p.Poller.__module__)' 2>&1) &&
      [[ "$out" == *"$want" ]] ||
      { record FAIL contents "$image" "the ambassador's http module and Poller are not the $want expected: $out"; return; }
    record PASS contents "$image" "sidecars.ambassador.http.client and Poller from $out"
  fi
}

check_sigterm() { # helper image
  local helper=$1 image=$2 dir=scripts/images/keep-running files="" out
  local run_args=()
  [ -f "$dir/$helper.env" ] && run_args=(--env-file "$dir/$helper.env")
  if [ -f "$dir/$helper.sh" ]; then
    files=$(mktemp -d)
    run_args+=(-v "$files:/etc/sidecars-check:ro")
    if ! out=$(bash "$dir/$helper.sh" "$image" "$files" 2>&1); then
      record FAIL sigterm "$image" "$dir/$helper.sh failed: $(tail -n 5 <<<"$out" | tr '\n' ' ')"
      rm -rf "$files"
      return
    fi
  fi
  run_and_stop "$helper" "$image" "${run_args[@]}"
  [ -z "$files" ] || rm -rf "$files"
}

run_and_stop() { # helper image [docker run argument ...]
  local helper=$1 image=$2 cid status="" pid1 t0 elapsed code
  shift 2
  cid=$(docker run -d "${locked[@]}" --health-interval 1s "$@" "$image")
  for _ in $(seq 60); do
    status=$(docker inspect -f '{{.State.Status}} {{.State.Health.Status}}' "$cid")
    [ "$status" = "running healthy" ] && break
    [ "${status%% *}" = running ] || break
    sleep 0.5
  done
  if [ "$status" != "running healthy" ]; then
    record FAIL sigterm "$image" "not running and healthy before SIGTERM ($status, exit $(docker inspect -f '{{.State.ExitCode}}' "$cid")); settings: scripts/images/keep-running/$helper.env; log: $(docker logs "$cid" 2>&1 | tail -n 5 | tr '\n' ' ')"
    docker rm -f "$cid" >/dev/null
    return
  fi
  pid1=$(docker exec "$cid" cat /proc/1/cmdline | tr '\0' ' ')
  if [[ "$pid1" != *"sidecars $helper"* ]]; then
    record FAIL sigterm "$image" "PID 1 is '$pid1', not sidecars $helper"
    docker rm -f "$cid" >/dev/null
    return
  fi
  if [ "$helper" = gitsync ]; then
    check_reaping "$image" "$cid"
  fi
  # Timed from the signal to the process's exit as the engine recorded it, so that the
  # engine's own teardown of the container (slow on a busy machine) is not counted.
  t0=$(now_ms)
  docker kill --signal TERM "$cid" >/dev/null
  if ! code=$(timeout 15 docker wait "$cid"); then
    record FAIL sigterm "$image" "still running 15s after SIGTERM; log: $(docker logs "$cid" 2>&1 | tail -n 5 | tr '\n' ' ')"
    docker rm -f "$cid" >/dev/null
    return
  fi
  elapsed=$(($(date -d "$(docker inspect -f '{{.State.FinishedAt}}' "$cid")" +%s%N) / 1000000 - t0))
  if [ "$code" != 0 ] || [ "$elapsed" -ge 2000 ]; then
    record FAIL sigterm "$image" "exited ${elapsed}ms after SIGTERM with exit $code (want < 2000ms, exit 0); log: $(docker logs "$cid" 2>&1 | tail -n 5 | tr '\n' ' ')"
  else
    record PASS sigterm "$image" "healthy as PID 1, exited ${elapsed}ms after SIGTERM, exit 0"
  fi
  docker rm "$cid" >/dev/null
}

check_reaping() { # image container: an orphan that exits must not stay a zombie
  local image=$1 cid=$2 pid state=""
  pid=$(docker exec "$cid" sh -c 'sleep 0.1 & echo $!')
  for _ in $(seq 40); do
    state=$(docker exec "$cid" sh -c "cut -d' ' -f3 /proc/$pid/stat 2>/dev/null || echo gone")
    [ "$state" = gone ] && break
    sleep 0.25
  done
  if [ "$state" = gone ]; then
    record PASS reap "$image" "an orphaned child was reaped"
  else
    record FAIL reap "$image" "an orphaned child is still there in state $state after 10s (zombie: no init reaps it)"
  fi
}

echo "== images"
installed=$(docker run --rm --network none "sidecars/base:$version" sidecars list | awk '{print $1}')
for helper in "${helpers[@]}"; do
  image=sidecars/$helper:$version
  if ! grep -qx "$helper" <<<"$installed"; then
    record SKIP all "$image" "the package has no $helper helper yet (sidecars list)"
    continue
  fi
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    record FAIL build "$image" "the package has $helper but its image was not built"
    continue
  fi
  check_config "$helper" "$image"
  check_size "$helper" "$image"
  check_help "$helper" "$image"
  check_contents "$helper" "$image"
  check_sigterm "$helper" "$image"
done

echo "== summary ($(($(date +%s) - started))s)"
printf '%s\n' "${results[@]}"
if [ "$failures" -gt 0 ]; then
  echo "check-images: $failures check(s) failed"
  exit 1
fi
echo "check-images: all checks passed"

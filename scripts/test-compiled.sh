#!/usr/bin/env bash
# The ambassador's tests again, on its data path compiled (mypyc, and the C poller): the wheel that
# SIDECARS_COMPILE=1 builds, its compiled modules put next to their sources for the run and
# removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
wheels=$(mktemp -d)
trap 'rm -rf "$wheels" ./*__mypyc*.so; find sidecars/ambassador -name "*.so" -delete' EXIT
SIDECARS_COMPILE=1 .venv/bin/python -m pip wheel -q --no-deps -w "$wheels" . >"$wheels/build.log" 2>&1 ||
  { tail -n 30 "$wheels/build.log" >&2; exit 1; }
.venv/bin/python -m zipfile -e "$wheels"/sidecars-*.whl "$wheels/tree"
cp "$wheels"/tree/*.so .
(cd "$wheels/tree" && find sidecars/ambassador -name "*.so") | while read -r so; do
  cp "$wheels/tree/$so" "$so"
done
SIDECARS_COMPILED=1 .venv/bin/python -m pytest tests/ambassador "$@"

#!/usr/bin/env bash
# The ambassador's tests again, on its data path compiled (mypyc, and the C poller), and
# nginxlog's C row counting and C scanner against their Python twins, as pip
# users get it: the manylinux wheel that scripts/build-wheels.sh makes (SIDECARS_COMPILE=1,
# from the sdist, repaired by auditwheel), installed in a fresh virtual environment, and the
# tests run from a copy outside the checkout, so that `import sidecars` can only find the wheel.
# SIDECARS_WHEEL=path.whl tests that wheel instead of building one (SIDECARS_TEST_PYTHON=python3.12
# for a wheel of another CPython). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wheel=${SIDECARS_WHEEL:-}
if [ -z "$wheel" ]; then
  SIDECARS_PYTHONS= bash scripts/build-wheels.sh "$work/dist" >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; exit 1; }
  wheel=$(echo "$work"/dist/sidecars-*-manylinux*.whl)
fi
[ -f "$wheel" ] || { echo "test-compiled: no wheel at $wheel" >&2; exit 1; }
echo "test-compiled: $(basename "$wheel") in a fresh venv"
"${SIDECARS_TEST_PYTHON:-python3}" -m venv "$work/venv"
# The wheel and what the ambassador's tests import; the versions pyproject.toml's dev extra names.
"$work/venv/bin/python" -m pip install -q "$wheel" \
  "$(grep -o '"pytest>=[^"]*"' pyproject.toml | tr -d '"')" \
  "$(grep -o '"pytest-asyncio>=[^"]*"' pyproject.toml | tr -d '"')" \
  "$(grep -o '"hypothesis>=[^"]*"' pyproject.toml | tr -d '"')" \
  "$(grep -o '"httptools>=[^"]*"' pyproject.toml | tr -d '"')" \
  "$(grep -o '"llhttp>=[^"]*"' pyproject.toml | tr -d '"')"
mkdir "$work/tests"
cp tests/__init__.py tests/promtool.py "$work/tests/"
cp -R tests/ambassador "$work/tests/"
mkdir "$work/tests/nginxlog"
cp tests/nginxlog/__init__.py tests/nginxlog/conftest.py tests/nginxlog/test_tally_twins.py \
  tests/nginxlog/test_scan_twins.py "$work/tests/nginxlog/"
python3 - "$work/pyproject.toml" <<'PY'
import sys, tomllib
options = tomllib.load(open("pyproject.toml", "rb"))["tool"]["pytest"]["ini_options"]
lines = ["[tool.pytest.ini_options]"]
lines += [f"{key} = {value!r}".replace("'", '"') for key, value in options.items() if key != "testpaths"]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
cd "$work"
where=$("$work/venv/bin/python" -c 'import sidecars.ambassador.http.client as m; print(m.__file__)')
case $where in
  "$work"/venv/*.so) echo "test-compiled: sidecars.ambassador.http.client is $where" ;;
  *) echo "test-compiled: the compiled module is not the wheel's: $where (checkout: $root)" >&2; exit 1 ;;
esac
SIDECARS_COMPILED=1 "$work/venv/bin/python" -m pytest -p no:cacheprovider \
  tests/ambassador tests/nginxlog/test_tally_twins.py tests/nginxlog/test_scan_twins.py "$@"

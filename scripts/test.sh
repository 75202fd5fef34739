#!/usr/bin/env bash
# The whole test suite, set-up included: scripts/setup.sh, then pytest with any arguments given.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"

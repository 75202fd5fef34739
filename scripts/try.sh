#!/usr/bin/env bash
# A first look: installs the project into .venv, then runs the waitfor helper against a
# web server that starts two seconds later, with human-readable logs.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q -e .

port=${TRY_PORT:-18080}
(sleep 2 && exec .venv/bin/python -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT

echo "== sidecars waitfor, waiting for http://127.0.0.1:$port/ (up in about 2s)"
WAITFOR_TARGETS="http://127.0.0.1:$port/,dns://localhost" \
WAITFOR_LOG_FORMAT=text WAITFOR_ADMIN_ADDR=127.0.0.1:0 \
  .venv/bin/sidecars waitfor
echo "== exit code $? : the dependency answered. Next: .venv/bin/sidecars list, .venv/bin/sidecars waitfor --help"

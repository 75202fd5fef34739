#!/usr/bin/env bash
# Installs everything the tests and benchmarks need on a fresh Debian machine (as root):
# the real peers they run (git, sshd, nginx, haproxy, redis, tinyproxy, promtool, mtail, wrk)
# and the project itself, with its dev tools, in .venv. Safe to run again: it installs only
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  git openssh-server openssh-client libnss-wrapper curl
  nginx-light haproxy redis-server redis-tools
  prometheus mtail wrk openssl tinyproxy
  gcc libc6-dev  # scripts/test-compiled.sh compiles the ambassador's data path with mypyc
  kubectl  # tests/examples render the Pod examples with kubectl kustomize
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]' -e examples/custom-helper

#!/usr/bin/env bash
# Builds the Python base images locally, for machines that cannot pull from a registry:
# `debootstrap --variant=minbase bookworm` plus Debian's python3 (3.11), imported as
#   $1 (default sidecars/debian-python:bookworm)      python3, python3-venv, ca-certificates, netbase
#   $2 (default sidecars/debian-python-git:bookworm)  the same plus git, openssh-client, libnss-wrapper
#      and tini, for gitsync (see git.Dockerfile)
# Needs root, debootstrap and Debian's package mirror (MIRROR). Skips images that already exist
# unless REBUILD=1.
set -euo pipefail

python_image=${1:-sidecars/debian-python:bookworm}
git_image=${2:-sidecars/debian-python-git:bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
security_mirror=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

exists() { docker image inspect "$1" >/dev/null 2>&1; }
if [ "${REBUILD:-0}" != 1 ] && exists "$python_image" && exists "$git_image"; then
  echo "local-base: $python_image and $git_image already built"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "local-base: debootstrap is missing (apt-get install debootstrap)" >&2
  exit 1
}

work=$(mktemp -d /var/tmp/sidecars-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root

echo "local-base: debootstrap bookworm into $root"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,netbase \
  bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  echo "local-base: debootstrap failed; last lines of its log:" >&2
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security_mirror bookworm-security main
SOURCES

log=$work/apt.log
in_root() {
  DEBIAN_FRONTEND=noninteractive chroot "$root" "$@" >>"$log" 2>&1 || {
    echo "local-base: '$*' in the new root failed; last lines of its output:" >&2
    tail -n 30 "$log" >&2
    exit 1
  }
}
in_root apt-get update -qq
in_root apt-get upgrade -y -qq

# Leaves out what a container never reads: package caches, documentation (but not the
# copyright files), translations.
import_root() {
  in_root apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old "$root"/var/log/* \
    "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  tar -C "$root" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - "$1" >/dev/null
  echo "local-base: imported $1"
}

import_root "$python_image"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends git openssh-client libnss-wrapper tini
import_root "$git_image"

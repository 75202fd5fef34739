#!/bin/sh
# The trial's git server: a bare repository, site.git, made from the demo site on first start,
# served read-write over git:// so that a push changes what gitsync publishes.
set -eu
repos=/srv/git
if [ ! -d "$repos/site.git" ]; then
  work=$(mktemp -d)
  git init -q -b main "$work"
  cp -R /demo-site/. "$work"
  git -C "$work" add -A
  git -C "$work" -c user.name=sidecars -c user.email=demo@sidecars.invalid commit -q -m "Demo site"
  git clone -q --bare "$work" "$repos/site.git"
  rm -rf "$work"
fi
exec git daemon --reuseaddr --export-all --enable=receive-pack --base-path="$repos" \
  --listen=0.0.0.0 --port=9418 --informative-errors "$repos"

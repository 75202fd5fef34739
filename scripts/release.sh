#!/usr/bin/env bash
# Publishes a release's images: builds them (scripts/build-images.sh: version, git revision and
# the OCI labels source, version, revision, created), pushes each one for this machine's
# architecture as <registry>/<name>:VERSION-<arch>, then makes <registry>/<name>:VERSION a
# manifest list of every architecture pushed so far, and writes the digests to pin:
#   build/release/digests.txt   <name> <registry>/<name>@sha256:...   (one line per image)
#   build/release/digests.json  {"<name>": {"image": ..., "tag": ..., "digest": ...}}
# Images: base (the base for your own helpers), base-git, and one per helper. The Python
# distributions (sdist, pure wheel, compiled manylinux wheel: scripts/build-wheels.sh) go to
# build/release/dist; uploading them to PyPI is left to the release workflow.
#
# Settings:
#   SIDECARS_REGISTRY  registry host and path (default ghcr.io/sidecars-dev/sidecars); log in
#                      first (docker login). A registry on 127.0.0.0/8 is reached over plain http.
#   SIDECARS_ARCHES    the architectures the manifest lists name (default: this machine's);
#                      set on the last of several machines, each of which ran this script.
#   SOURCE             the source label (default https://github.com/sidecars-dev/sidecars)
#   SIDECARS_RELEASE_BUILD=0  no wheels, and push the images scripts/build-images.sh built for
#                      VERSION before (CI builds them once, in scripts/check-images.sh)
#   SIDECARS_RELEASE_STEP  all (default), push (build and push this architecture only) or
#                      merge (manifest lists and digests only, of images already pushed).
# Usage: scripts/release.sh VERSION   (VERSION: the package's version, sidecars/_version.py)
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { # message [exit code]
  echo "release: $1" >&2
  exit "${2:-1}"
}
[ $# = 1 ] || fail "usage: scripts/release.sh VERSION" 2
version=$1
package_version=$(python3 -c 'import runpy; print(runpy.run_path("sidecars/_version.py")["__version__"])')
[ "$version" = "$package_version" ] ||
  fail "VERSION '$version' is not the package's version '$package_version' (sidecars/_version.py)" 2
registry=${SIDECARS_REGISTRY:-ghcr.io/sidecars-dev/sidecars}
[[ "$registry" =~ ^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$ ]] ||
  fail "SIDECARS_REGISTRY '$registry' is not a registry host and path such as ghcr.io/org/sidecars" 2
# The project's public source, for the images' source label.
export SOURCE=${SOURCE:-https://github.com/sidecars-dev/sidecars}
step=${SIDECARS_RELEASE_STEP:-all}
case $step in all | push | merge) ;; *) fail "SIDECARS_RELEASE_STEP '$step' is not all, push or merge" 2 ;; esac

docker info >/dev/null 2>&1 || bash scripts/images/engine.sh || fail "no Docker engine"
arch=$(docker version -f '{{.Server.Arch}}')
read -r -a arches <<<"${SIDECARS_ARCHES:-$arch}"
insecure=()
[[ "$registry" =~ ^(127\.[0-9.]+|localhost)(:|/) ]] && insecure=(--insecure)
names=(base base-git gitsync nginxlog ambassador waitfor injector)
out=build/release
mkdir -p "$out"

if [ "$step" != merge ]; then
  if [ "${SIDECARS_RELEASE_BUILD:-1}" = 1 ]; then
    bash scripts/build-wheels.sh "$out/dist" || fail "scripts/build-wheels.sh $out/dist"
    bash scripts/build-images.sh "$version" || fail "scripts/build-images.sh $version"
  fi
  for name in "${names[@]}"; do
    docker image inspect "sidecars/$name:$version" >/dev/null 2>&1 || fail "sidecars/$name:$version was not built"
    docker tag "sidecars/$name:$version" "$registry/$name:$version-$arch"
    echo "release: pushing $registry/$name:$version-$arch"
    docker push -q "$registry/$name:$version-$arch" >/dev/null || fail "docker push $registry/$name:$version-$arch"
  done
fi
[ "$step" != push ] || exit 0

: >"$out/digests.txt.partial"
for name in "${names[@]}"; do
  list=$registry/$name:$version
  parts=()
  for a in "${arches[@]}"; do parts+=("$list-$a"); done
  docker manifest rm "$list" >/dev/null 2>&1 || true
  docker manifest create "${insecure[@]}" "$list" "${parts[@]}" >/dev/null ||
    fail "docker manifest create $list from ${parts[*]}"
  digest=$(docker manifest push "${insecure[@]}" --purge "$list") || fail "docker manifest push $list"
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "docker manifest push $list answered '$digest', not a digest"
  echo "release: $list is $registry/$name@$digest (${arches[*]})"
  echo "$name $registry/$name@$digest" >>"$out/digests.txt.partial"
done
python3 - "$out/digests.txt.partial" "$registry" "$version" >"$out/digests.json.partial" <<'PY'
import json, sys
lines, registry, version = sys.argv[1], sys.argv[2], sys.argv[3]
images = {}
for line in open(lines, encoding="utf-8"):
    name, pinned = line.split()
    images[name] = {"image": f"{registry}/{name}", "tag": version, "digest": pinned.split("@")[1]}
print(json.dumps(images, indent=2))
PY
mv "$out/digests.txt.partial" "$out/digests.txt"
mv "$out/digests.json.partial" "$out/digests.json"
echo "release: digests in $out/digests.txt and $out/digests.json"

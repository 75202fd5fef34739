#!/usr/bin/env bash
# Builds one container image per helper, tagged sidecars/<helper>:VERSION (default: the
# project's version), from images/*.Dockerfile. The builds need no network: the project and
# its dependencies are put in a wheelhouse (images/wheels) on this machine first.
#
# The Python base comes from BASE_IMAGE (default python:3.11-slim-bookworm, pulled when
# missing); when no registry can be reached, a base is built locally with debootstrap
# (scripts/images/local-base.sh; SIDECARS_LOCAL_BASE=1 forces that). The gitsync image starts
# from GIT_BASE_IMAGE, a base that carries git and ssh (default: git.Dockerfile on BASE_IMAGE).
#
# Other settings: HELPERS (default: every helper that has a Dockerfile and is in the package),
# TARGET_PYTHON (default 3.11: the base's Python, for the binary wheels), PYTHON (this
# machine's Python for pip, default python3), SOURCE (image source URL label, default the
# origin remote). Build logs: build/images/<image>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
version=${1:-$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')}
target_python=${TARGET_PYTHON:-3.11}
official_base=python:3.11-slim-bookworm
all_helpers=(gitsync nginxlog ambassador waitfor injector)
logs=build/images
mkdir -p "$logs"

step() { echo "build-images: $*"; }
fail() {
  echo "build-images: FAILED: $*" >&2
  exit 1
}

docker info >/dev/null 2>&1 || bash scripts/images/engine.sh || fail "no Docker engine"

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$revision" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
source_url=${SOURCE:-$(git remote get-url origin 2>/dev/null || echo unknown)}
source_url=$(echo "$source_url" | sed -E 's#^git@([^:]+):#https://\1/#; s#\.git$##')

# 1. The wheelhouse: the project as a wheel (reproducible, so an unchanged tree hits the
# build cache), then its dependencies as binary wheels for the base's Python and platform.
step "wheelhouse for Python $target_python"
mkdir -p images/wheels
rm -f images/wheels/sidecars-*.whl
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
"$python" -m pip wheel -q --no-deps -w images/wheels . >"$logs/wheelhouse.log" 2>&1 ||
  { tail -n 30 "$logs/wheelhouse.log" >&2; fail "pip wheel of the project (log: $logs/wheelhouse.log)"; }
# Debian bookworm has glibc 2.36; pip does not expand that tag to the older ones by itself.
platforms=()
for glibc in $(seq 36 -1 17); do platforms+=(--platform "manylinux_2_${glibc}_$(uname -m)"); done
platforms+=(--platform "manylinux2014_$(uname -m)")
"$python" -m pip download -q --only-binary=:all: -d images/wheels \
  --python-version "$target_python" --implementation cp \
  "${platforms[@]}" \
  images/wheels/sidecars-*.whl >>"$logs/wheelhouse.log" 2>&1 ||
  { tail -n 30 "$logs/wheelhouse.log" >&2; fail "pip download of the dependencies (log: $logs/wheelhouse.log)"; }

# 2. The Python bases.
if [ -n "${BASE_IMAGE:-}" ]; then
  base=$BASE_IMAGE
elif [ "${SIDECARS_LOCAL_BASE:-0}" != 1 ] && {
  docker image inspect "$official_base" >/dev/null 2>&1 ||
    timeout 120 docker pull -q "$official_base" >/dev/null 2>&1
}; then
  base=$official_base
else
  step "no registry reachable: building the base locally with debootstrap"
  bash scripts/images/local-base.sh sidecars/debian-python:bookworm sidecars/debian-python-git:bookworm ||
    fail "local base image (scripts/images/local-base.sh)"
  base=sidecars/debian-python:bookworm
  GIT_BASE_IMAGE=${GIT_BASE_IMAGE:-sidecars/debian-python-git:bookworm}
fi
step "Python base $base"

build() { # image dockerfile [build-arg ...]
  local image=$1 dockerfile=$2
  shift 2
  local log="$logs/${image//[\/:]/_}.log"
  step "building $image"
  docker build -f "images/$dockerfile" -t "$image" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --build-arg SOURCE="$source_url" "$@" images >"$log" 2>&1 ||
    { tail -n 30 "$log" >&2; fail "docker build of $image from images/$dockerfile (log: $log)"; }
}

build "sidecars/base:$version" base.Dockerfile --build-arg BASE_IMAGE="$base"
installed=$(docker run --rm --network none "sidecars/base:$version" sidecars list | awk '{print $1}')
has() { grep -qx "$1" <<<"$installed"; }
helpers=(${HELPERS:-${all_helpers[@]}})

if has gitsync && [[ " ${helpers[*]} " == *" gitsync "* ]]; then
  if [ -z "${GIT_BASE_IMAGE:-}" ]; then
    build "sidecars/python-git:$version" git.Dockerfile --build-arg BASE_IMAGE="$base"
    GIT_BASE_IMAGE=sidecars/python-git:$version
  fi
  build "sidecars/base-git:$version" base.Dockerfile --build-arg BASE_IMAGE="$GIT_BASE_IMAGE"
fi

# 3. One image per helper that the package provides.
built=()
for helper in "${helpers[@]}"; do
  [ -f "images/$helper.Dockerfile" ] || fail "no Dockerfile images/$helper.Dockerfile"
  if ! has "$helper"; then
    step "skipping $helper: not in this version of the package (sidecars list)"
    continue
  fi
  parent=sidecars/base:$version
  [ "$helper" = gitsync ] && parent=sidecars/base-git:$version
  build "sidecars/$helper:$version" "$helper.Dockerfile" --build-arg SIDECARS_BASE="$parent"
  built+=("sidecars/$helper:$version")
done
step "built ${built[*]:-nothing}"

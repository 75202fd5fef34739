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
# PYTHON (this machine's Python, for pip; the wheels are chosen for the base's Python),
# SOURCE (the image source URL label, default the origin remote). Logs: build/images/.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
version=${1:-$("$python" -c 'import runpy; print(runpy.run_path("sidecars/_version.py")["__version__"])')}
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
# The source label: SOURCE, else the origin remote when it is a public address.
source_url=${SOURCE:-$(git remote get-url origin 2>/dev/null || true)}
source_url=$(echo "$source_url" | sed -E 's#^git@([^:]+):#https://\1/#; s#\.git$##')
[[ "$source_url" == https://* ]] || source_url=unknown

# 1. The Python bases.
if [ -n "${BASE_IMAGE:-}" ]; then
  base=$BASE_IMAGE
elif [ "${SIDECARS_LOCAL_BASE:-0}" != 1 ] && {
  docker image inspect "$official_base" >/dev/null 2>&1 ||
    timeout 120 docker pull -q "$official_base" >/dev/null 2>&1
}; then
  base=$official_base
else
  step "no registry reachable: building the base locally with debootstrap"
  # Tagged by the recipe, so a changed local-base.sh builds new bases rather than reusing old ones.
  recipe=bookworm-$(sha256sum scripts/images/local-base.sh | cut -c1-12)
  bash scripts/images/local-base.sh "sidecars/debian-python:$recipe" "sidecars/debian-python-git:$recipe" ||
    fail "local base image (scripts/images/local-base.sh)"
  base=sidecars/debian-python:$recipe
  GIT_BASE_IMAGE=${GIT_BASE_IMAGE:-sidecars/debian-python-git:$recipe}
fi
# The binary wheels must fit the base's Python, C library and machine, not this machine's.
read -r target_python glibc machine < <(docker run --rm --network none --entrypoint python3 "$base" -c \
  'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.libc_ver()[1] or "none", platform.machine())') ||
  fail "cannot run python3 in the base $base"
[ "$glibc" != none ] || fail "the base $base has no glibc; the wheels need a manylinux (glibc) base"
step "Python base $base: Python $target_python, glibc $glibc, $machine"
echo "$base" >"$logs/python-base"  # for builds of other images on the same Python

# 2. The wheelhouse, made afresh: the project as a wheel (reproducible, so an unchanged tree
# hits the build cache), then its dependencies as binary wheels for the base.
step "wheelhouse"
rm -rf images/wheels
mkdir -p images/wheels
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
# The created label: the commit's time, so that a rebuild of one commit labels it the same.
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
"$python" -m pip wheel -q --no-deps -w images/wheels . >"$logs/wheelhouse.log" 2>&1 ||
  { tail -n 30 "$logs/wheelhouse.log" >&2; fail "pip wheel of the project (log: $logs/wheelhouse.log)"; }
# pip does not expand a manylinux_2_N tag to the older glibc versions by itself.
platforms=()
for minor in $(seq "${glibc#2.}" -1 17); do platforms+=(--platform "manylinux_2_${minor}_$machine"); done
platforms+=(--platform "manylinux2014_$machine")
"$python" -m pip download -q --only-binary=:all: -d images/wheels \
  --python-version "$target_python" --implementation cp "${platforms[@]}" \
  images/wheels/sidecars-*.whl >>"$logs/wheelhouse.log" 2>&1 ||
  { tail -n 30 "$logs/wheelhouse.log" >&2; fail "pip download of the dependencies for Python $target_python (log: $logs/wheelhouse.log)"; }
# The ambassador's data path compiled with mypyc (setup.py), when the compiled modules can run
# on the base: the same Python version and machine, and a glibc no older than this machine's.
read -r host_python host_glibc < <("$python" -c \
  'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.libc_ver()[1])')
if [ "$host_python" = "$target_python" ] && [ "$(uname -m)" = "$machine" ] &&
  [ "$(printf '%s\n' "$host_glibc" "$glibc" | sort -V | head -n 1)" = "$host_glibc" ]; then
  step "compiling the ambassador's data path with mypyc for Python $target_python"
  rm images/wheels/sidecars-*.whl
  SIDECARS_COMPILE=1 "$python" -m pip wheel -q --no-deps -w images/wheels . >>"$logs/wheelhouse.log" 2>&1 ||
    { tail -n 30 "$logs/wheelhouse.log" >&2; fail "pip wheel with SIDECARS_COMPILE=1 (log: $logs/wheelhouse.log)"; }
else
  step "the ambassador stays pure Python: the base has Python $target_python/glibc $glibc, this machine $host_python/$host_glibc"
fi
# Debug symbols out of the extension modules: uvloop alone carries 12 MB of them.
if command -v strip >/dev/null; then
  "$python" scripts/images/strip-wheels.py images/wheels || fail "scripts/images/strip-wheels.py images/wheels"
else
  step "no strip (binutils) on this machine: the extension modules keep their debug symbols"
fi

build() { # image dockerfile [build-arg ...]
  local image=$1 dockerfile=$2
  shift 2
  local log="$logs/${image//[\/:]/_}.log"
  step "building $image"
  docker build -f "images/$dockerfile" -t "$image" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --build-arg SOURCE="$source_url" --build-arg CREATED="$created" "$@" images >"$log" 2>&1 ||
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

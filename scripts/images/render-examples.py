"""Renders Pod examples with `kubectl kustomize` for the images of one release, pinned by digest.

The examples' own component (examples/kubernetes/images) names the public images; a
kustomization made here in a temporary directory takes the pattern overlays as resources and
maps each of those names to the image in DIGESTS (the file scripts/release.sh writes, lines
`<name> <registry>/<name>@sha256:...`), and any other image with --image NAME=REFERENCE
(e.g. nginx=127.0.0.1:5000/peers/nginx:1.27-alpine).
Usage: render-examples.py --digests FILE [--image NAME=REF]... PATTERN... > OUT.yaml
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kubernetes"


def pinned(digests: Path) -> dict[str, str]:
    found = {}
    for number, line in enumerate(digests.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if len(fields) != 2 or "@sha256:" not in fields[1]:
            sys.exit(f"{digests}:{number}: expected '<name> <image>@sha256:<digest>', got {line!r}")
        found[fields[0]] = fields[1]
    return found


def entry(name: str, reference: str) -> dict[str, str]:
    if "@" in reference:
        image, digest = reference.split("@", 1)
        return {"name": name, "newName": image, "digest": digest}
    image, _, tag = reference.rpartition(":")
    if not image or "/" in tag:
        return {"name": name, "newName": reference}
    return {"name": name, "newName": image, "newTag": tag}


def images(digests: dict[str, str], extra: list[str]) -> list[dict[str, str]]:
    component = yaml.safe_load((EXAMPLES / "images" / "kustomization.yaml").read_text())
    mapped: list[dict[str, str]] = []
    for image in component["images"]:
        helper = image["name"].rsplit("/", 1)[1]
        if helper in digests:
            mapped.append(entry(image.get("newName", image["name"]), digests[helper]))
    for pair in extra:
        name, sep, reference = pair.partition("=")
        if not sep:
            sys.exit(f"--image {pair!r}: expected NAME=REFERENCE")
        mapped.append(entry(name, reference))
    return mapped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--digests", type=Path, required=True)
    parser.add_argument("--image", action="append", default=[])
    parser.add_argument("patterns", nargs="+")
    args = parser.parse_args()
    for pattern in args.patterns:
        if not (EXAMPLES / pattern / "kustomization.yaml").is_file():
            sys.exit(f"no pattern overlay examples/kubernetes/{pattern}/kustomization.yaml")
    with tempfile.TemporaryDirectory() as work:
        # kustomize takes a directory resource only as a relative path.
        overlay: dict[str, Any] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(EXAMPLES / p, work) for p in args.patterns],
            "images": images(pinned(args.digests), args.image),
        }
        (Path(work) / "kustomization.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
        done = subprocess.run(
            ["kubectl", "kustomize", work], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        sys.exit(f"kubectl kustomize: {done.stderr.strip()}")
    sys.stdout.write(done.stdout)


if __name__ == "__main__":
    main()

"""Adapts Pod examples for ``podman kube play`` on one machine, for the container checks.

What a cluster provides and podman does not is put in place: images come from the local
store (``--image OLD=NEW``; with ``--pull``, from the registries the file names instead),
gitsync's repository is a bare repository on this machine mounted read-only (``--repo DIR``:
GITSYNC_REPO becomes file:///srv/repo/site.git), the ports named in
``--port CONTAINERPORT=HOSTPORT`` are published on 127.0.0.1, and a Pod with init containers
restarts only on failure (podman would otherwise rerun them for ever).
Usage: podman-kube.py [--image A=B]... [--pull] [--repo DIR] [--port C=H]... FILE... > OUT.yaml
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import yaml


def pairs(values: list[str]) -> dict[str, str]:
    return dict(v.split("=", 1) for v in values)


def adapt_pod(name: str, spec: dict[str, Any], images: dict[str, str], repo: str | None,
              ports: dict[str, str], volumes: str | None, pull: bool) -> None:  # fmt: skip
    group = spec.get("securityContext", {}).get("fsGroup")
    for volume in spec.get("volumes", []):
        if "emptyDir" in volume and volumes:
            path = os.path.join(volumes, f"{name}-{volume['name']}")
            os.makedirs(path, exist_ok=True)
            if group is not None:
                os.chown(path, group, group)
            del volume["emptyDir"]
            volume["hostPath"] = {"path": path, "type": "Directory"}
    containers = spec.get("initContainers", []) + spec.get("containers", [])
    for container in containers:
        container["image"] = images.get(container["image"], container["image"])
        if not pull:
            container["imagePullPolicy"] = "Never"
        for port in container.get("ports", []):
            host = ports.get(str(port["containerPort"]))
            if host:
                port["hostPort"], port["hostIP"] = int(host), "127.0.0.1"
        for env in container.get("env", []):
            if env["name"] == "GITSYNC_REPO" and repo:
                env["value"] = "file:///srv/repo/site.git"
                container.setdefault("volumeMounts", []).append(
                    {"name": "repo", "mountPath": "/srv/repo", "readOnly": True}
                )
                if not any(v["name"] == "repo" for v in spec["volumes"]):
                    spec["volumes"].append(
                        {"name": "repo", "hostPath": {"path": repo, "type": "Directory"}}
                    )
    if spec.get("initContainers"):
        spec["restartPolicy"] = "OnFailure"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", action="append", default=[])
    parser.add_argument("--port", action="append", default=[])
    parser.add_argument("--pull", action="store_true")
    parser.add_argument("--repo")
    parser.add_argument("--volumes")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    docs = []
    for name in args.files:
        with open(name) as f:
            docs += [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        spec = doc["spec"]["template"]["spec"] if doc["kind"] == "Deployment" else doc.get("spec")
        if doc["kind"] in ("Deployment", "Pod"):
            name = doc["metadata"]["name"]
            adapt_pod(
                name, spec, pairs(args.image), args.repo, pairs(args.port), args.volumes, args.pull
            )
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()

"""The Pod examples in examples/kubernetes/ are valid for the Kubernetes versions they name,
as `kubectl kustomize` renders them, and hold the promises their comments make (probes on the
admin ports, grace for drains)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate.utils
import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kubernetes"
PATTERNS = ["sidecar", "adapter", "ambassador", "init", "native-sidecars"]
ADMIN_PORTS = {"gitsync": 9400, "ambassador": 9401, "waitfor": 9403, "nginxlog": 4040}
AMBASSADOR_DRAIN = 45  # AMBASSADOR_DRAIN_TIMEOUT's default: 5 s delay + up to 30 s, bounded


def pods(pattern: str) -> dict[str, dict[str, Any]]:
    found = {}
    for doc in yaml.safe_load_all((EXAMPLES / pattern / f"{pattern}.yaml").read_text()):
        if doc and doc["kind"] in ("Deployment", "StatefulSet"):
            found[doc["metadata"]["name"]] = doc["spec"]["template"]["spec"]
        elif doc and doc["kind"] == "Pod":
            found[doc["metadata"]["name"]] = doc["spec"]
    return found


def helpers(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(helper name, container) for every container that runs one of this project's images."""
    found = []
    for container in spec.get("initContainers", []) + spec["containers"]:
        image = container["image"]
        if image.startswith("sidecars/"):
            found.append((image.split("/")[1].split(":")[0], container))
    return found


def kustomize(directory: Path) -> str:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing (Debian's kubectl package; scripts/setup.sh installs it)"
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("rendered")
    files = {}
    for pattern in PATTERNS:
        files[pattern] = out / f"{pattern}.yaml"
        files[pattern].write_text(kustomize(EXAMPLES / pattern))
    return files


@pytest.mark.parametrize("version", ["1.29.0", kubernetes_validate.utils.latest_version()])
def test_every_rendered_example_passes_kubernetes_validate_strict(
    version: str, rendered: dict[str, Path]
) -> None:
    tool = Path(sys.executable).with_name("kubernetes-validate")
    done = subprocess.run(
        [str(tool), "--strict", "-k", version, *map(str, rendered.values())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    documents = sum(1 for f in rendered.values() for d in yaml.safe_load_all(f.read_text()) if d)
    assert done.stdout.count(" passed ") == documents, done.stdout


def test_the_images_component_sets_every_helper_image_of_every_pattern(
    rendered: dict[str, Path],
) -> None:
    component = yaml.safe_load((EXAMPLES / "images" / "kustomization.yaml").read_text())
    published = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in component["images"]}
    seen = set()
    for pattern, file in rendered.items():
        wanted = [
            published[c["image"].split(":")[0]]
            for s in pods(pattern).values()
            for _, c in helpers(s)
        ]
        images = [
            c["image"]
            for d in yaml.safe_load_all(file.read_text())
            if d and d["kind"] == "Deployment"
            for c in d["spec"]["template"]["spec"].get("initContainers", [])
            + d["spec"]["template"]["spec"]["containers"]
        ]
        assert not [i for i in images if i.startswith("sidecars/")], pattern
        assert set(wanted) <= set(images), pattern
        seen.update(wanted)
    assert len(seen) == 4  # gitsync, nginxlog, ambassador, waitfor


def test_a_pinned_digest_set_in_one_place_reaches_the_pods(tmp_path: Path) -> None:
    digest = "sha256:" + "1" * 64
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [os.path.relpath(EXAMPLES / "sidecar", overlay)],
                "images": [
                    {
                        "name": "ghcr.io/sidecars-dev/sidecars/gitsync",
                        "newName": "registry.example.com/sidecars/gitsync",
                        "digest": digest,
                    }
                ],
            }
        )
    )
    out = kustomize(overlay)
    assert f"image: registry.example.com/sidecars/gitsync@{digest}" in out


@pytest.mark.parametrize("pattern", PATTERNS)
def test_long_running_helpers_are_probed_on_their_admin_port(pattern: str) -> None:
    probed = 0
    for spec in pods(pattern).values():
        for helper, container in helpers(spec):
            ports = {p["containerPort"] for p in container.get("ports", [])}
            names = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            one_shot = container in spec.get("initContainers", []) and (
                container.get("restartPolicy") != "Always"
            )
            if one_shot:
                assert not ports, f"{pattern}: init container {container['name']} has ports"
                continue
            assert ports == {ADMIN_PORTS[helper]}, f"{pattern}: {container['name']}"
            for kind in ("readinessProbe", "startupProbe", "livenessProbe"):
                probe = container.get(kind)
                if probe:
                    port = probe["httpGet"]["port"]
                    assert names.get(port, port) == ADMIN_PORTS[helper]
                    assert probe["httpGet"]["path"] in ("/readyz", "/healthz")
                    probed += 1
            assert "livenessProbe" in container
    if pattern != "init":
        assert probed >= 2


@pytest.mark.parametrize("pattern", PATTERNS)
def test_helpers_run_locked_down_with_a_writable_tmp(pattern: str) -> None:
    for spec in pods(pattern).values():
        for _, container in helpers(spec):
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, container["name"]


def test_pods_with_an_ambassador_wait_for_its_drain() -> None:
    checked = 0
    for pattern in PATTERNS:
        for name, spec in pods(pattern).items():
            if any(helper == "ambassador" for helper, _ in helpers(spec)):
                assert spec["terminationGracePeriodSeconds"] > AMBASSADOR_DRAIN, name
                checked += 1
    assert checked == 2


def test_native_variant_runs_long_running_helpers_as_restartable_init_containers() -> None:
    for name, spec in pods("native-sidecars").items():
        init = spec["initContainers"]
        restartable = [c["name"] for c in init if c.get("restartPolicy") == "Always"]
        assert restartable, name
        assert all(not c["image"].startswith("sidecars/") for c in spec["containers"]), name
        for container in init:
            if container.get("restartPolicy") == "Always":
                assert "startupProbe" in container, container["name"]


def test_classic_variants_have_no_native_sidecars() -> None:
    for pattern in ("sidecar", "adapter", "ambassador", "init"):
        for spec in pods(pattern).values():
            assert all("restartPolicy" not in c for c in spec.get("initContainers", []))


def test_sidecar_and_its_app_share_the_content_volume() -> None:
    spec = pods("sidecar")["web-sidecar"]
    mounts = {c["name"]: {m["name"]: m for m in c["volumeMounts"]} for c in spec["containers"]}
    assert mounts["gitsync"]["content"]["mountPath"] == "/srv/content"
    assert mounts["nginx"]["content"]["readOnly"] is True
    assert spec["securityContext"]["fsGroup"] == 65532

"""Kubernetes-side helpers for the injector tests: Pods, AdmissionReviews, patch, validate."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any

import jsonpatch
import kubernetes_validate
import yaml

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kubernetes" / "injector"
KUBERNETES = "1.30.0"  # native sidecars on by default since 1.29


def pod(name: str) -> dict[str, Any]:
    """A fixture as the API server sends it: a Deployment's template becomes a Pod."""
    doc: dict[str, Any] = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    if doc["kind"] == "Deployment":
        template = doc["spec"]["template"]
        metadata = dict(template["metadata"])
        metadata["generateName"] = f"{doc['metadata']['name']}-7d4b9c-"
        metadata["namespace"] = doc["metadata"]["namespace"]
        doc = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}
    return doc


def review(
    obj: dict[str, Any], *, dry_run: bool = False, operation: str = "CREATE"
) -> dict[str, Any]:
    kind = obj.get("kind", "Pod")
    metadata = obj.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": kind},
            "resource": {"group": "", "version": "v1", "resource": kind.lower() + "s"},
            "requestKind": {"group": "", "version": "v1", "kind": kind},
            "requestResource": {"group": "", "version": "v1", "resource": kind.lower() + "s"},
            "namespace": namespace or "default",
            "operation": operation,
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": copy.deepcopy(obj),
            "oldObject": None,
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


def patch_of(answer: dict[str, Any]) -> list[dict[str, Any]] | None:
    response = answer["response"]
    if "patch" not in response:
        return None
    assert response["patchType"] == "JSONPatch"
    ops: list[dict[str, Any]] = json.loads(base64.b64decode(response["patch"]))
    return ops


def apply(obj: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    patched: dict[str, Any] = jsonpatch.apply_patch(obj, ops)
    return patched


def validate(obj: dict[str, Any]) -> None:
    """Strict schema validation: unknown fields and wrong types fail."""
    kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def names(containers: list[dict[str, Any]] | None) -> list[str]:
    return [c["name"] for c in containers or []]

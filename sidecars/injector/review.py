"""One AdmissionReview in, one AdmissionReview (or a clear HTTP error) out.

Anything the API server could send is answered: a Pod this code cannot read, or a bug
here, lets the Pod through unchanged with a warning, so the injector never becomes the
reason a Deployment cannot scale.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

from .metrics import InjectorStats
from .patch import build_patch
from .plan import read_plan
from .templates import Template

__all__ = ["Admission", "Answer"]

_API_VERSION = "admission.k8s.io/v1"
_MAX_WARNINGS = 16
_MAX_WARNING_CHARS = 256


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    outcome: str
    content_type: str = "application/json"


class NotUnderstood(Exception):
    """The object is not a Pod this code can read; the message says which part."""


class Admission:
    """Decides every request; ``templates`` is swapped whole when the file changes."""

    def __init__(
        self,
        templates: dict[str, Template],
        stats: InjectorStats,
        log: logging.Logger,
        *,
        prefix: str,
        native: bool,
        volume: str,
    ) -> None:
        self.templates = templates
        self.stats = stats
        self.log = log
        self.prefix = prefix
        self.native = native
        self.volume = volume
        self.label = f"{prefix}/inject"
        self.status_key = f"{prefix}/status"

    def answer(self, body: bytes) -> Answer:
        try:
            review = json.loads(body)
        except (ValueError, RecursionError) as exc:
            return _error(f"the body is not JSON: {exc}")
        if not isinstance(review, dict):
            return _error("expected a JSON object: an AdmissionReview")
        kind, version = review.get("kind"), review.get("apiVersion")
        if kind != "AdmissionReview" or version != _API_VERSION:
            return _error(
                f"expected kind AdmissionReview, apiVersion {_API_VERSION}; "
                f"got kind {kind!r}, apiVersion {version!r}"
            )
        request = review.get("request")
        uid = request.get("uid") if isinstance(request, dict) else None
        if not isinstance(request, dict) or not isinstance(uid, str) or not uid:
            return _error("the AdmissionReview has no request.uid")
        warnings: list[str] = []
        try:
            outcome, patch = self._decide(request, warnings)
        except NotUnderstood as exc:
            outcome, patch = "not_understood", None
            warnings.append(f"Pod not understood ({exc}); allowed unchanged")
        except Exception:
            self.log.exception("admission failed", extra={"uid": uid})
            outcome, patch = "error", None
            warnings.append("internal error in the sidecar injector; Pod allowed unchanged")
        return self._respond(uid, outcome, patch, warnings)

    def _decide(self, request: dict[str, Any], warnings: list[str]) -> tuple[str, bytes | None]:
        if request.get("operation") != "CREATE" or request.get("subResource"):
            return "skipped", None
        kind = request.get("kind")
        if not isinstance(kind, dict) or kind.get("kind") != "Pod":
            what = kind.get("kind") if isinstance(kind, dict) else kind
            warnings.append(f"the sidecar injector handles Pods only; {what!r} allowed unchanged")
            return "skipped", None
        pod = request.get("object")
        _check_pod(pod)
        assert isinstance(pod, dict)
        metadata = pod.get("metadata") or {}
        labels = metadata.get("labels") or {}
        annotations = metadata.get("annotations") or {}
        if not isinstance(labels, dict) or not isinstance(annotations, dict):
            raise NotUnderstood("metadata.labels and .annotations must be mappings")
        if labels.get(self.label) != "true":
            return "skipped", None
        if self.status_key in annotations:
            return "already_injected", None
        plan = read_plan(
            annotations, self.prefix, self.templates, native=self.native, volume=self.volume
        )
        ops, injected = build_patch(pod, plan, self.status_key)
        warnings.extend(plan.warnings)
        if not ops:
            return "unchanged", None
        for name in injected:
            self.stats.injections[name] = self.stats.injections.get(name, 0) + 1
        self.log.info(
            "injected",
            extra={
                "uid": request.get("uid"),
                "namespace": request.get("namespace"),
                "pod": metadata.get("name") or metadata.get("generateName"),
                "helpers": injected,
                "native": plan.native,
                "dry_run": bool(request.get("dryRun")),
            },
        )
        return "injected", json.dumps(ops, separators=(",", ":")).encode()

    def _respond(self, uid: str, outcome: str, patch: bytes | None, warnings: list[str]) -> Answer:
        response: dict[str, Any] = {"uid": uid, "allowed": True}
        if patch is not None:
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(patch).decode()
        if warnings:
            shown = [_trim(w) for w in warnings[:_MAX_WARNINGS]]
            response["warnings"] = shown
            self.stats.warnings += len(shown)
        review = {"apiVersion": _API_VERSION, "kind": "AdmissionReview", "response": response}
        return Answer(200, json.dumps(review, separators=(",", ":")).encode(), outcome)


def _check_pod(pod: Any) -> None:
    if not isinstance(pod, dict):
        raise NotUnderstood("request.object is not a mapping")
    if not isinstance(pod.get("metadata", {}), dict | None):
        raise NotUnderstood("metadata is not a mapping")
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        raise NotUnderstood("spec is not a mapping")
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        raise NotUnderstood("spec.containers is not a non-empty list")
    for key in ("containers", "initContainers", "ephemeralContainers"):
        items = spec.get(key) or []
        if not isinstance(items, list) or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) for c in items
        ):
            raise NotUnderstood(f"spec.{key} must be a list of named containers")
        for container in items:
            if not isinstance(container.get("volumeMounts") or [], list):
                raise NotUnderstood(f"spec.{key}[{container['name']}].volumeMounts is not a list")
    volumes = spec.get("volumes") or []
    if not isinstance(volumes, list):
        raise NotUnderstood("spec.volumes is not a list")


def _trim(text: str) -> str:
    text = "sidecar injector: " + text
    return text if len(text) <= _MAX_WARNING_CHARS else text[: _MAX_WARNING_CHARS - 3] + "..."


def _error(message: str) -> Answer:
    return Answer(400, (message + "\n").encode(), "rejected", "text/plain")

"""One AdmissionReview in, one AdmissionReview (or a clear HTTP error) out.

Anything the API server could send is answered: a Pod this code cannot read, or a bug
here, lets the Pod through unchanged with a warning, so the injector never becomes the
reason a Deployment cannot scale. Only strict mode denies, and then it says why.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

from .decide import Decider, Decision, NotUnderstood, owner
from .metrics import InjectorStats

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


class Admission:
    """Answers every request through one ``Decider``, and logs one line for each."""

    def __init__(self, decider: Decider, stats: InjectorStats, log: logging.Logger) -> None:
        self.decider = decider
        self.stats = stats
        self.log = log

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
        try:
            decision = self._decide(request)
        except NotUnderstood as exc:
            decision = Decision(
                "not_understood", warnings=[f"Pod not understood ({exc}); allowed unchanged"]
            )
        except Exception:
            self.log.exception("admission failed", extra={"uid": uid})
            decision = Decision(
                "error",
                warnings=["internal error in the sidecar injector; Pod allowed unchanged"],
            )
        self._log(request, decision)
        return self._respond(uid, decision)

    def _decide(self, request: dict[str, Any]) -> Decision:
        if request.get("operation") != "CREATE" or request.get("subResource"):
            return Decision("skipped", reason=f"operation {request.get('operation')}")
        kind = request.get("kind")
        if not isinstance(kind, dict) or kind.get("kind") != "Pod":
            what = kind.get("kind") if isinstance(kind, dict) else kind
            return Decision(
                "skipped",
                reason=f"not a Pod: {what!r}",
                warnings=[f"the sidecar injector handles Pods only; {what!r} allowed unchanged"],
            )
        pod = request.get("object")
        namespace = request.get("namespace")
        if not isinstance(namespace, str) and isinstance(pod, dict):
            metadata = pod.get("metadata")
            namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        decision = self.decider.decide(pod, namespace if isinstance(namespace, str) else None)
        for name in decision.injected:
            self.stats.injections[name] = self.stats.injections.get(name, 0) + 1
        return decision

    def _log(self, request: dict[str, Any], decision: Decision) -> None:
        pod = request.get("object")
        metadata = pod.get("metadata") if isinstance(pod, dict) else None
        metadata = metadata if isinstance(metadata, dict) else {}
        fields: dict[str, Any] = {
            "uid": request.get("uid"),
            "namespace": request.get("namespace") or metadata.get("namespace"),
            "pod": metadata.get("name") or metadata.get("generateName"),
            "owner": owner(metadata),
            "outcome": decision.outcome,
            "injected": decision.injected,
            "dry_run": bool(request.get("dryRun")),
        }
        if decision.reason:
            fields["reason"] = decision.reason
        if decision.warnings:
            fields["warnings"] = decision.warnings
        level = logging.WARNING if decision.warnings else logging.INFO
        self.log.log(level, "admission", extra=fields)

    def _respond(self, uid: str, decision: Decision) -> Answer:
        response: dict[str, Any] = {"uid": uid, "allowed": decision.outcome != "denied"}
        if decision.outcome == "denied":
            response["status"] = {
                "code": 403,
                "reason": "Forbidden",
                "message": decision.denial,
            }
        elif decision.ops:
            patch = json.dumps(decision.ops, separators=(",", ":")).encode()
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(patch).decode()
        if decision.warnings:
            shown = [_trim(w) for w in decision.warnings[:_MAX_WARNINGS]]
            response["warnings"] = shown
            self.stats.warnings += len(shown)
        review = {"apiVersion": _API_VERSION, "kind": "AdmissionReview", "response": response}
        return Answer(200, json.dumps(review, separators=(",", ":")).encode(), decision.outcome)


def _trim(text: str) -> str:
    text = "sidecar injector: " + text
    return text if len(text) <= _MAX_WARNING_CHARS else text[: _MAX_WARNING_CHARS - 3] + "..."


def _error(message: str) -> Answer:
    return Answer(400, (message + "\n").encode(), "rejected", "text/plain")

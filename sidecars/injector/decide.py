"""Whether and what to inject into one Pod: the one code path of the webhook and of
``sidecars injector render``.

Pods the helpers would harm are skipped whole, with the reason: host-network Pods (a
helper's admin port would become a port of the node), Windows Pods (the helpers are Linux
images), excluded namespaces, Pods that opt out. In strict mode any warning denies the Pod,
and the message names every mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .envcheck import EnvCheck
from .patch import Patch, build_patch
from .plan import flag, read_plan
from .templates import Template

__all__ = ["Decider", "Decision", "NotUnderstood", "Policy", "owner"]

EXCLUDED = ("kube-system", "kube-public", "kube-node-lease")


class NotUnderstood(Exception):
    """The object is not a Pod this code can read; the message says which part."""


@dataclass(frozen=True, slots=True)
class Policy:
    """What the operator configured (``INJECTOR_*``); the defaults are the settings' defaults."""

    prefix: str = "sidecars.io"
    native: bool = False
    strict: bool = False
    default: Literal["opt-in", "opt-out"] = "opt-in"
    exclude_namespaces: tuple[str, ...] = EXCLUDED
    volume: str = "sidecars-shared"


@dataclass(slots=True)
class Decision:
    outcome: str
    """injected, unchanged (nothing could be added), skipped, already_injected or denied."""
    ops: Patch = field(default_factory=list)
    injected: list[str] = field(default_factory=list)
    reason: str | None = None
    """Why the Pod was skipped or got nothing."""
    warnings: list[str] = field(default_factory=list)

    @property
    def denial(self) -> str:
        return "sidecar injector (strict mode): " + "; ".join(self.warnings)


class Decider:
    """Decides for one Pod at a time; ``templates`` is swapped whole when the file changes."""

    def __init__(self, templates: dict[str, Template], policy: Policy) -> None:
        self.templates = templates
        self.policy = policy
        self.envcheck = EnvCheck()

    def decide(self, pod: Any, namespace: str | None) -> Decision:
        """Raises ``NotUnderstood`` for an object that is not a readable Pod."""
        check_pod(pod)
        prefix = self.policy.prefix
        metadata = pod.get("metadata") or {}
        labels = metadata.get("labels") or {}
        annotations = metadata.get("annotations") or {}
        if not isinstance(labels, dict) or not isinstance(annotations, dict):
            raise NotUnderstood("metadata.labels and .annotations must be mappings")
        warnings: list[str] = []
        strict = self.policy.strict
        if isinstance(annotations.get(f"{prefix}/strict"), str):
            strict = flag(annotations[f"{prefix}/strict"], f"{prefix}/strict", strict, [])
        if f"{prefix}/status" in annotations:
            return Decision("already_injected", reason=f"{prefix}/status is set")
        choice = labels.get(f"{prefix}/inject", annotations.get(f"{prefix}/inject"))
        explicit = None if choice is None else str(choice).strip().lower()
        if explicit not in (None, "true", "false"):
            warnings.append(f"{prefix}/inject must be true or false, not {choice!r}")
            explicit = None
        if explicit == "false":
            return Decision("skipped", reason=f"opted out ({prefix}/inject=false)")
        asked = explicit == "true" or (
            self.policy.default == "opt-out" and f"{prefix}/helpers" in annotations
        )
        if not asked:
            reason = f"not opted in ({prefix}/inject=true)"
            if self.policy.default == "opt-out":
                reason = f"{prefix}/helpers names no helper"
            return _finish(Decision("skipped", reason=reason, warnings=warnings), strict)
        if namespace in self.policy.exclude_namespaces:
            # never denied, even in strict mode: system Pods must not depend on the injector
            excluded = f"namespace {namespace} is excluded (INJECTOR_EXCLUDE_NAMESPACES)"
            warnings.append(f"not injected: {excluded}")
            return Decision("skipped", reason=excluded, warnings=warnings)
        skip = self._skip_reason(pod["spec"])
        if skip is not None:
            warnings.append(f"not injected: {skip}")
            return _finish(Decision("skipped", reason=skip, warnings=warnings), strict)
        plan = read_plan(
            annotations,
            prefix,
            self.templates,
            native=self.policy.native,
            volume=self.policy.volume,
        )
        warnings.extend(plan.warnings)
        for helper in plan.helpers:
            warnings.extend(self.envcheck.warnings(helper.template, helper.env))
        plan.warnings = warnings
        if plan.strict is not None:
            strict = plan.strict
        ops, injected = build_patch(pod, plan, f"{prefix}/status")
        if not ops:
            return _finish(
                Decision("unchanged", reason="no helper could be added", warnings=warnings),
                strict,
            )
        return _finish(Decision("injected", ops, injected, warnings=warnings), strict)

    def _skip_reason(self, spec: Mapping[str, Any]) -> str | None:
        if spec.get("hostNetwork") is True:
            return "hostNetwork Pod: the helpers' ports would be ports of the node"
        os_name = spec.get("os", {}).get("name") if isinstance(spec.get("os"), dict) else None
        selector = spec.get("nodeSelector")
        selected = selector.get("kubernetes.io/os") if isinstance(selector, dict) else None
        if os_name == "windows" or selected == "windows":
            return "Windows Pod: the helpers are Linux containers"
        return None


def _finish(decision: Decision, strict: bool) -> Decision:
    if strict and decision.warnings:
        decision.outcome = "denied"
        decision.ops = []
        decision.injected = []
    return decision


def owner(metadata: Any) -> str | None:
    """``Kind/name`` of the controller that made the Pod, if any."""
    refs = metadata.get("ownerReferences") if isinstance(metadata, dict) else None
    if not isinstance(refs, list):
        return None
    refs = [r for r in refs if isinstance(r, dict)]
    chosen = next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)
    if chosen is None:
        return None
    return f"{chosen.get('kind')}/{chosen.get('name')}"


def check_pod(pod: Any) -> None:
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
            if not isinstance(container.get("ports") or [], list):
                raise NotUnderstood(f"spec.{key}[{container['name']}].ports is not a list")
    volumes = spec.get("volumes") or []
    if not isinstance(volumes, list):
        raise NotUnderstood("spec.volumes is not a list")

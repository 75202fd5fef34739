"""The JSON Patch (RFC 6902) that adds the planned helpers to one Pod.

It is computed against the Pod's raw JSON and only ever adds, so fields this code does not
know (newer Kubernetes, other webhooks' additions) are left exactly as they were. Missing
parents (``annotations``, ``initContainers``, ``volumes``, ``volumeMounts``) are created by
the same ``add`` that fills them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._version import __version__
from .plan import HelperPlan, Plan
from .quantity import quantity

__all__ = ["Patch", "build_patch", "pointer"]

Patch = list[dict[str, Any]]

_READ_ONLY_KINDS = ("configMap", "secret", "downwardAPI", "projected", "image")
_HOLD_PROBE = {"periodSeconds": 1, "failureThreshold": 600}


def pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901): ``~`` and ``/`` inside a part are escaped."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def build_patch(pod: Mapping[str, Any], plan: Plan, status_key: str) -> tuple[Patch, list[str]]:
    """The operations and the names of the helpers they inject.

    A helper that cannot be added safely (its name or a port taken, a long-running helper
    in a Pod that must finish) is left out with a warning in ``plan.warnings`` and adds
    nothing, not even its volume mounts. When nothing is left, the patch is empty. The
    annotation ``status_key`` records what was injected, so a second call leaves the Pod
    alone.
    """
    spec = pod["spec"]
    taken = {
        item.get("name")
        for key in ("containers", "initContainers", "ephemeralContainers")
        for item in (spec.get(key) or ())
        if isinstance(item, Mapping)
    }
    ports = _pod_ports(spec)
    finishes = spec.get("restartPolicy", "Always") != "Always"
    inits: list[dict[str, Any]] = []
    sidecars: list[dict[str, Any]] = []
    chosen: list[HelperPlan] = []
    for helper in plan.helpers:
        name = helper.template.name
        if name in taken:
            plan.warnings.append(f"{name} not injected: the Pod already has a container named it")
            continue
        native = helper.template.role == "sidecar" and (plan.native or helper.hold)
        if helper.template.role == "sidecar" and finishes and not native:
            plan.warnings.append(
                f"{name} not injected: it runs until stopped, and this Pod "
                f"(restartPolicy {spec.get('restartPolicy')}) must finish; "
                "allow native sidecars (Kubernetes >= 1.29) to inject it as one"
            )
            continue
        wanted = _container_ports(helper.template.container)
        clash = [port for port in wanted if port in ports]
        if clash:
            number, protocol = clash[0]
            plan.warnings.append(
                f"{name} not injected: port {number}/{protocol} is taken by {ports[clash[0]]}"
            )
            continue
        ports.update(dict.fromkeys(wanted, name))
        container = _container(helper, plan)
        if helper.template.role == "init":
            inits.append(container)
        elif native:
            container["restartPolicy"] = "Always"
            inits.append(container)
        else:
            sidecars.append(container)
        chosen.append(helper)
    if not chosen:
        return [], []
    ops: Patch = []
    _insert(ops, spec, inits, 0 if plan.first else _after_native_sidecars(spec))
    _append(ops, spec, ("spec", "containers"), sidecars)
    _volumes(ops, spec, chosen, plan.warnings)
    _mount_apps(ops, spec, chosen, plan.warnings)
    injected = [helper.template.name for helper in chosen]
    status = json.dumps({"injected": injected, "version": __version__}, separators=(",", ":"))
    _annotate(ops, pod, status_key, status)
    return ops, injected


def _pod_ports(spec: Mapping[str, Any]) -> dict[tuple[int, str], str]:
    """Ports in use while the app runs, each with its container. All containers of a Pod
    share one network; init containers that run to completion are gone by then."""
    return {
        port: str(container.get("name"))
        for key in ("containers", "initContainers")
        for container in spec.get(key) or ()
        if isinstance(container, Mapping)
        and (key == "containers" or container.get("restartPolicy") == "Always")
        for port in _container_ports(container)
    }


def _container_ports(container: Mapping[str, Any]) -> list[tuple[int, str]]:
    return [
        (port["containerPort"], str(port.get("protocol") or "TCP"))
        for port in container.get("ports") or ()
        if isinstance(port, Mapping) and isinstance(port.get("containerPort"), int)
    ]


def _after_native_sidecars(spec: Mapping[str, Any]) -> int:
    """Behind the last native sidecar already there: a mesh proxy the helpers may need."""
    position = 0
    for index, container in enumerate(spec.get("initContainers") or ()):
        if isinstance(container, Mapping) and container.get("restartPolicy") == "Always":
            position = index + 1
    return position


def _container(helper: HelperPlan, plan: Plan) -> dict[str, Any]:
    """A new container sharing the template's nested values: nothing here mutates them
    (lists that change are new lists), and a deep copy per request was the hot spot."""
    container: dict[str, Any] = {"name": helper.template.name, **helper.template.container}
    name = helper.template.name
    if helper.image:
        container["image"] = helper.image
    if helper.pull_policy:
        container["imagePullPolicy"] = helper.pull_policy
    if helper.resources:
        container["resources"] = _resources(
            name, container.get("resources"), helper.resources, plan.warnings
        )
    if helper.env:
        env: list[dict[str, Any]] = list(container.get("env") or ())
        index = {item["name"]: i for i, item in enumerate(env)}
        for variable, value in helper.env.items():
            if variable in index:
                env[index[variable]] = {"name": variable, "value": value}
            else:
                env.append({"name": variable, "value": value})
        container["env"] = env
    if helper.mount_path:
        mounts: list[dict[str, Any]] = list(container.get("volumeMounts") or ())
        mounts.append({"name": helper.volume, "mountPath": helper.mount_path})
        container["volumeMounts"] = mounts
    if helper.hold:
        _hold(container, helper, plan.warnings)
    return container


def _resources(
    name: str, template: Any, overrides: dict[str, dict[str, str]], warnings: list[str]
) -> dict[str, Any]:
    """The template's resources with the Pod's overrides, unless an override would put a
    request above its limit (the API server would refuse the Pod)."""
    merged: dict[str, Any] = {k: dict(v) for k, v in (template or {}).items()}
    for group, values in overrides.items():
        for resource, value in values.items():
            trial = {k: dict(v) for k, v in merged.items()}
            trial.setdefault(group, {})[resource] = value
            request = trial.get("requests", {}).get(resource)
            limit = trial.get("limits", {}).get(resource)
            if request is not None and limit is not None and quantity(request) > quantity(limit):
                warnings.append(
                    f"{name}: {resource} {group[:-1]} {value} not applied: the {resource} "
                    f"request ({request}) would exceed the limit ({limit})"
                )
                continue
            merged = trial
    return merged


def _hold(container: dict[str, Any], helper: HelperPlan, warnings: list[str]) -> None:
    name = helper.template.name
    if helper.template.role == "init":
        warnings.append(f"{name}.hold ignored: an init helper already finishes before the app")
        return
    probe = container.get("readinessProbe")
    port: Any = None
    if isinstance(probe, Mapping) and isinstance(probe.get("httpGet"), Mapping):
        port = probe["httpGet"].get("port")
    if port is None:
        ports = _container_ports(container)
        port = ports[0][0] if ports else None
    if port is None:
        warnings.append(f"{name}.hold: the template names no admin port; the app is not held")
        return
    container["startupProbe"] = {"httpGet": {"path": "/readyz", "port": port}, **_HOLD_PROBE}


def _insert(ops: Patch, spec: Mapping[str, Any], items: list[Any], position: int) -> None:
    """Injected init containers keep the order the Pod listed the helpers in."""
    if not items:
        return
    if not spec.get("initContainers"):
        ops.append({"op": "add", "path": pointer("spec", "initContainers"), "value": items})
        return
    for offset, item in enumerate(items):
        path = pointer("spec", "initContainers", position + offset)
        ops.append({"op": "add", "path": path, "value": item})


def _append(
    ops: Patch, parent: Mapping[str, Any], path: tuple[str | int, ...], items: list[Any]
) -> None:
    if not items:
        return
    if not parent.get(str(path[-1])):
        ops.append({"op": "add", "path": pointer(*path), "value": items})
        return
    for item in items:
        ops.append({"op": "add", "path": pointer(*path, "-"), "value": item})


def _volumes(
    ops: Patch, spec: Mapping[str, Any], helpers: list[HelperPlan], warnings: list[str]
) -> None:
    existing = {v.get("name"): v for v in spec.get("volumes") or () if isinstance(v, Mapping)}
    new: list[dict[str, Any]] = []
    for helper in helpers:
        if not (helper.mount_path or helper.app_mounts):
            continue
        name = helper.volume
        volume = existing.get(name)
        if volume is None:
            empty = {"sizeLimit": helper.volume_size} if helper.volume_size else {}
            volume = {"name": name, "emptyDir": empty}
            existing[name] = volume
            new.append(volume)
            continue
        if volume in new:
            continue
        kind = next((k for k in volume if k != "name"), "no source")
        source = volume.get(kind)
        read_only = kind in _READ_ONLY_KINDS or (
            isinstance(source, Mapping) and source.get("readOnly") is True
        )
        if read_only:
            warnings.append(
                f"{helper.template.name}: the Pod's volume {name} is read-only ({kind}); "
                "the helper cannot write to it"
            )
        elif kind != "emptyDir":
            warnings.append(
                f"{helper.template.name}: the Pod's volume {name} is a {kind}, "
                "not an emptyDir; used as it is"
            )
    _append(ops, spec, ("spec", "volumes"), new)


def _mount_apps(
    ops: Patch, spec: Mapping[str, Any], helpers: list[HelperPlan], warnings: list[str]
) -> None:
    index = {c.get("name"): i for i, c in enumerate(spec["containers"])}
    added: dict[int, list[dict[str, Any]]] = {}
    for helper in helpers:
        for name, path in helper.app_mounts:
            position = index.get(name)
            if position is None:
                warnings.append(f"mounts: the Pod has no container named {name}")
                continue
            existing = spec["containers"][position].get("volumeMounts") or []
            if any(
                isinstance(m, Mapping) and m.get("mountPath") == path
                for m in (*existing, *added.get(position, ()))
            ):
                warnings.append(f"mounts: {name} already mounts something at {path}")
                continue
            added.setdefault(position, []).append({"name": helper.volume, "mountPath": path})
    for position, mounts in added.items():
        container = spec["containers"][position]
        _append(ops, container, ("spec", "containers", position, "volumeMounts"), mounts)


def _annotate(ops: Patch, pod: Mapping[str, Any], key: str, value: str) -> None:
    metadata = pod.get("metadata")
    if not isinstance(metadata, Mapping):
        ops.append({"op": "add", "path": "/metadata", "value": {"annotations": {key: value}}})
    elif not isinstance(metadata.get("annotations"), Mapping):
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {key: value}})
    else:
        ops.append({"op": "add", "path": pointer("metadata", "annotations", key), "value": value})

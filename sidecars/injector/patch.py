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

__all__ = ["Patch", "build_patch", "pointer"]

Patch = list[dict[str, Any]]


def pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901): ``~`` and ``/`` inside a part are escaped."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def build_patch(pod: Mapping[str, Any], plan: Plan, status_key: str) -> tuple[Patch, list[str]]:
    """The operations and the names of the helpers they inject.

    A helper whose container name the Pod already uses is left out with a warning in
    ``plan.warnings``; when nothing is left, the patch is empty. The annotation
    ``status_key`` records what was injected, so a second call leaves the Pod alone.
    """
    spec = pod["spec"]
    taken = {
        item.get("name")
        for key in ("containers", "initContainers", "ephemeralContainers")
        for item in (spec.get(key) or ())
        if isinstance(item, Mapping)
    }
    ports = _pod_ports(spec)
    ops: Patch = []
    inits: list[dict[str, Any]] = []
    sidecars: list[dict[str, Any]] = []
    injected: list[str] = []
    for helper in plan.helpers:
        name = helper.template.name
        if name in taken:
            plan.warnings.append(f"the Pod already has a container named {name}; not injected")
            continue
        wanted = _container_ports(helper.template.container)
        clash = [port for port in wanted if port in ports]
        if clash:
            owner = ports[clash[0]]
            plan.warnings.append(f"{name} not injected: port {clash[0]} is taken by {owner}")
            continue
        ports.update(dict.fromkeys(wanted, name))
        container = _container(helper, plan)
        if helper.template.role == "init":
            inits.append(container)
        elif plan.native:
            container["restartPolicy"] = "Always"
            inits.append(container)
        else:
            sidecars.append(container)
        injected.append(name)
    if not injected:
        return [], []
    _insert_front(ops, spec, "initContainers", inits)
    _append(ops, spec, ("spec", "containers"), sidecars)
    mounted = any(helper.mount_path for helper in plan.helpers if helper.template.name in injected)
    if mounted or plan.app_mounts:
        _ensure_volume(ops, spec, plan.volume)
    _mount_apps(ops, spec, plan)
    status = json.dumps({"injected": injected, "version": __version__}, separators=(",", ":"))
    _annotate(ops, pod, status_key, status)
    return ops, injected


def _pod_ports(spec: Mapping[str, Any]) -> dict[int, str]:
    """Ports in use, each with its container. All containers of a Pod share one network:
    a helper whose admin port is taken could not start."""
    return {
        port: str(container.get("name"))
        for key in ("containers", "initContainers")
        for container in spec.get(key) or ()
        for port in _container_ports(container)
    }


def _container_ports(container: Mapping[str, Any]) -> list[int]:
    return [
        port["containerPort"]
        for port in container.get("ports") or ()
        if isinstance(port, Mapping) and isinstance(port.get("containerPort"), int)
    ]


def _container(helper: HelperPlan, plan: Plan) -> dict[str, Any]:
    """A new container sharing the template's nested values: nothing here mutates them
    (lists that change are new lists), and a deep copy per request was the hot spot."""
    container: dict[str, Any] = {"name": helper.template.name, **helper.template.container}
    if helper.env:
        env: list[dict[str, Any]] = list(container.get("env") or ())
        index = {item["name"]: i for i, item in enumerate(env)}
        for name, value in helper.env.items():
            if name in index:
                env[index[name]] = {"name": name, "value": value}
            else:
                env.append({"name": name, "value": value})
        container["env"] = env
    if helper.mount_path:
        mounts: list[dict[str, Any]] = list(container.get("volumeMounts") or ())
        mounts.append({"name": plan.volume, "mountPath": helper.mount_path})
        container["volumeMounts"] = mounts
    return container


def _insert_front(ops: Patch, spec: Mapping[str, Any], key: str, items: list[Any]) -> None:
    """Injected init containers run first, in the order the Pod listed the helpers: the
    Pod's own init containers may need what they provide (a synced repo, a ready peer)."""
    if not items:
        return
    if not spec.get(key):
        ops.append({"op": "add", "path": pointer("spec", key), "value": items})
        return
    for index, item in enumerate(items):
        ops.append({"op": "add", "path": pointer("spec", key, index), "value": item})


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


def _ensure_volume(ops: Patch, spec: Mapping[str, Any], name: str) -> None:
    volumes = spec.get("volumes") or []
    if any(isinstance(v, Mapping) and v.get("name") == name for v in volumes):
        return
    _append(ops, spec, ("spec", "volumes"), [{"name": name, "emptyDir": {}}])


def _mount_apps(ops: Patch, spec: Mapping[str, Any], plan: Plan) -> None:
    index = {c.get("name"): i for i, c in enumerate(spec["containers"])}
    for name, path in plan.app_mounts.items():
        position = index.get(name)
        if position is None:
            plan.warnings.append(f"mounts: the Pod has no container named {name}")
            continue
        container = spec["containers"][position]
        existing = container.get("volumeMounts") or []
        if any(isinstance(m, Mapping) and m.get("mountPath") == path for m in existing):
            plan.warnings.append(f"mounts: {name} already mounts something at {path}")
            continue
        mount = {"name": plan.volume, "mountPath": path}
        _append(ops, container, ("spec", "containers", position, "volumeMounts"), [mount])


def _annotate(ops: Patch, pod: Mapping[str, Any], key: str, value: str) -> None:
    metadata = pod.get("metadata")
    if not isinstance(metadata, Mapping):
        ops.append({"op": "add", "path": "/metadata", "value": {"annotations": {key: value}}})
    elif not isinstance(metadata.get("annotations"), Mapping):
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {key: value}})
    else:
        ops.append({"op": "add", "path": pointer("metadata", "annotations", key), "value": value})

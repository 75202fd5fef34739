"""Rules the API server enforces on a Pod that its OpenAPI schema cannot express.

Each function returns the problems found, as sentences; an empty list means the Pod
passes. Taken from the Pod validation the API server documents: unique container names,
ports and volume names, mounts of existing volumes, ``restartPolicy`` only ``Always`` on
init containers (native sidecars) and absent on app containers, no probes or lifecycle on
init containers that run to completion, requests not above limits, and the fields a
Windows Pod may not set.
"""

from __future__ import annotations

from typing import Any

from sidecars.injector.quantity import quantity

_WINDOWS_POD = (
    "seLinuxOptions",
    "seccompProfile",
    "fsGroup",
    "fsGroupChangePolicy",
    "sysctls",
    "runAsUser",
    "runAsGroup",
    "supplementalGroups",
    "appArmorProfile",
)
_WINDOWS_CONTAINER = (
    "seLinuxOptions",
    "seccompProfile",
    "capabilities",
    "readOnlyRootFilesystem",
    "privileged",
    "allowPrivilegeEscalation",
    "procMount",
    "runAsUser",
    "runAsGroup",
    "appArmorProfile",
)


def strip_nulls(value: Any) -> Any:
    """What the API server stores: a null field is an absent one."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def problems(pod: dict[str, Any], long_running: set[str]) -> list[str]:
    """``long_running``: names of helpers that must not sit in a finishing Pod's containers."""
    spec = strip_nulls(pod)["spec"]
    containers = spec.get("containers") or []
    inits = spec.get("initContainers") or []
    ephemeral = spec.get("ephemeralContainers") or []
    found: list[str] = []
    names = [c["name"] for c in (*containers, *inits, *ephemeral)]
    if len(names) != len(set(names)):
        found.append(f"container names repeat: {names}")
    running = [*containers, *(c for c in inits if c.get("restartPolicy") == "Always")]
    ports = [
        (p["containerPort"], p.get("protocol", "TCP")) for c in running for p in c.get("ports", ())
    ]
    if len(ports) != len(set(ports)):
        found.append(f"ports repeat among containers running together: {ports}")
    for container in (*containers, *inits):
        port_names = [p["name"] for p in container.get("ports", ()) if "name" in p]
        if len(port_names) != len(set(port_names)):
            found.append(f"{container['name']}: port names repeat")
    volumes = [v["name"] for v in spec.get("volumes") or ()]
    if len(volumes) != len(set(volumes)):
        found.append(f"volume names repeat: {volumes}")
    for container in (*containers, *inits):
        paths = [m["mountPath"] for m in container.get("volumeMounts") or ()]
        if len(paths) != len(set(paths)):
            found.append(f"{container['name']}: mount paths repeat: {paths}")
        for mount in container.get("volumeMounts") or ():
            if mount["name"] not in volumes:
                found.append(f"{container['name']} mounts {mount['name']}, which is no volume")
        found += _resources(container)
    for container in containers:
        if "restartPolicy" in container:
            found.append(f"{container['name']}: restartPolicy on an app container")
    for container in inits:
        policy = container.get("restartPolicy")
        if policy not in (None, "Always"):
            found.append(f"{container['name']}: init restartPolicy {policy!r}")
        if policy is None:
            for key in ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle"):
                if key in container:
                    found.append(f"{container['name']}: {key} on an init container")
    if spec.get("restartPolicy", "Always") != "Always":
        stuck = [c["name"] for c in containers if c["name"] in long_running]
        if stuck:
            found.append(f"a Pod that must finish runs {stuck} until stopped")
    if (spec.get("os") or {}).get("name") == "windows":
        found += _windows(spec)
    return found


def _resources(container: dict[str, Any]) -> list[str]:
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    return [
        f"{container['name']}: {name} request {requests[name]} above its limit {limits[name]}"
        for name in requests
        if name in limits and quantity(requests[name]) > quantity(limits[name])
    ]


def _windows(spec: dict[str, Any]) -> list[str]:
    found = [
        f"Windows Pod sets securityContext.{key}"
        for key in _WINDOWS_POD
        if key in (spec.get("securityContext") or {})
    ]
    if spec.get("hostUsers") is False or spec.get("shareProcessNamespace"):
        found.append("Windows Pod sets hostUsers or shareProcessNamespace")
    for container in (*(spec.get("containers") or ()), *(spec.get("initContainers") or ())):
        context = container.get("securityContext") or {}
        found += [
            f"Windows container {container['name']} sets securityContext.{key}"
            for key in _WINDOWS_CONTAINER
            if key in context
        ]
    return found

"""What a Pod asks for: its ``<prefix>/...`` annotations read into a plan, mistakes into warnings.

Annotations (``sidecars.io`` being the default prefix)::

    sidecars.io/helpers: waitfor,gitsync     which helpers, in this order
    sidecars.io/gitsync.GITSYNC_REPO: ...    an env value for one helper
    sidecars.io/gitsync.mount: /git          where that helper mounts the shared volume
    sidecars.io/volume: content              the shared volume (an emptyDir unless it exists)
    sidecars.io/mounts: web=/usr/share/nginx/html   app containers that mount it too
    sidecars.io/native: "true"               long-running helpers as native sidecars

A mistake never blocks the Pod: the part in error is left out and a warning says why.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .templates import DNS_LABEL, ENV_NAME, Template

__all__ = ["HelperPlan", "Plan", "read_plan"]

_POD_KEYS = ("helpers", "native", "volume", "mounts", "status")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(slots=True)
class HelperPlan:
    template: Template
    env: dict[str, str] = field(default_factory=dict)
    mount_path: str | None = None


@dataclass(slots=True)
class Plan:
    helpers: list[HelperPlan]
    native: bool
    volume: str
    app_mounts: dict[str, str]
    warnings: list[str]


def read_plan(
    annotations: Mapping[str, Any],
    prefix: str,
    templates: Mapping[str, Template],
    *,
    native: bool,
    volume: str,
) -> Plan:
    warnings: list[str] = []
    ours = {
        key[len(prefix) + 1 :]: value
        for key, value in annotations.items()
        if key.startswith(prefix + "/")
    }
    for key, value in list(ours.items()):
        if not isinstance(value, str):
            warnings.append(f"annotation {prefix}/{key} is not a string; ignored")
            del ours[key]
    helpers = _helpers(ours.get("helpers", ""), prefix, templates, warnings)
    plan = Plan(helpers, native, volume, {}, warnings)
    if "native" in ours:
        plan.native = _flag(ours["native"], f"{prefix}/native", native, warnings)
    if "volume" in ours:
        if DNS_LABEL.fullmatch(ours["volume"]):
            plan.volume = ours["volume"]
        else:
            warnings.append(f"{prefix}/volume must be a DNS label; using {volume!r}")
    if "mounts" in ours:
        plan.app_mounts = _mounts(ours["mounts"], prefix, warnings)
    by_name = {helper.template.name: helper for helper in helpers}
    for key, value in ours.items():
        if key in _POD_KEYS:
            continue
        name, dot, rest = key.partition(".")
        if not dot or name not in templates:
            close = difflib.get_close_matches(key, [*_POD_KEYS, *templates], n=1)
            hint = f"; did you mean {prefix}/{close[0]}?" if close else ""
            warnings.append(f"unknown annotation {prefix}/{key}{hint}")
            continue
        helper = by_name.get(name)
        if helper is None:
            warnings.append(f"{prefix}/{key} ignored: {name} is not in {prefix}/helpers")
        elif rest == "mount":
            if value.startswith("/"):
                helper.mount_path = value
            else:
                warnings.append(f"{prefix}/{key} must be an absolute path; ignored")
        elif not ENV_NAME.fullmatch(rest) or rest.lower() == rest:
            warnings.append(f"{prefix}/{key}: {rest!r} is not a variable name (upper case)")
        elif not rest.startswith(helper.template.env_prefix):
            warnings.append(
                f"{prefix}/{key}: {name} settings start with {helper.template.env_prefix}"
            )
        else:
            helper.env[rest] = value
    return plan


def _helpers(
    text: str, prefix: str, templates: Mapping[str, Template], warnings: list[str]
) -> list[HelperPlan]:
    chosen: list[HelperPlan] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        template = templates.get(name)
        if template is None:
            known = ", ".join(sorted(templates)) or "none"
            warnings.append(f"{prefix}/helpers: unknown helper {name!r} (known: {known})")
        elif any(helper.template is template for helper in chosen):
            warnings.append(f"{prefix}/helpers: {name} listed twice; injected once")
        else:
            chosen.append(HelperPlan(template, mount_path=template.mount_path))
    if not chosen and not any(w.startswith(f"{prefix}/helpers") for w in warnings):
        warnings.append(f"Pod opted in but {prefix}/helpers names no helper; nothing injected")
    return chosen


def _flag(text: str, key: str, default: bool, warnings: list[str]) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    warnings.append(f"{key} must be true or false, not {text!r}; using {str(default).lower()}")
    return default


def _mounts(text: str, prefix: str, warnings: list[str]) -> dict[str, str]:
    mounts = {}
    for item in text.split(","):
        if not item.strip():
            continue
        container, eq, path = item.strip().partition("=")
        if not eq or not container or not path.startswith("/"):
            warnings.append(f"{prefix}/mounts: expected container=/path, not {item.strip()!r}")
            continue
        mounts[container] = path
    return mounts

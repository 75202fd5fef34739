"""What a Pod asks for: its ``<prefix>/...`` annotations read into a plan, mistakes into warnings.

Annotations (``sidecars.io`` being the default prefix)::

    sidecars.io/helpers: waitfor,gitsync     which helpers, in this order
    sidecars.io/gitsync.GITSYNC_REPO: ...    an env value for one helper
    sidecars.io/gitsync.mount: /git          where that helper mounts its volume
    sidecars.io/gitsync.volume: content      that helper's volume (default <shared>-<helper>)
    sidecars.io/gitsync.volume-size: 1Gi     sizeLimit of that emptyDir
    sidecars.io/gitsync.image: ...           image, imagePullPolicy, cpu-request, cpu-limit,
                                             memory-request, memory-limit: per-Pod overrides
    sidecars.io/gitsync.hold: "true"         start the app only once the helper is ready
    sidecars.io/volume: content              one volume for every helper
    sidecars.io/mounts: web=gitsync:/usr/share/nginx/html   app containers that mount a
                                             helper's volume (helper optional if only one)
    sidecars.io/native: "true"               long-running helpers as native sidecars
    sidecars.io/order: first                 injected init containers before the Pod's own
                                             native sidecars (default: after them)
    sidecars.io/strict: "true"               deny the Pod on any mistake

A mistake leaves the part in error out and adds a warning saying why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .templates import DNS_LABEL, ENV_NAME, Template

__all__ = ["HelperPlan", "Plan", "flag", "read_plan"]

POD_KEYS = ("helpers", "native", "volume", "mounts", "status", "inject", "order", "strict")
HELPER_KEYS = (
    "mount",
    "volume",
    "volume-size",
    "image",
    "imagePullPolicy",
    "cpu-request",
    "cpu-limit",
    "memory-request",
    "memory-limit",
    "hold",
)
_RESOURCES = {
    "cpu-request": ("requests", "cpu"),
    "cpu-limit": ("limits", "cpu"),
    "memory-request": ("requests", "memory"),
    "memory-limit": ("limits", "memory"),
}
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
QUANTITY = re.compile(r"[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(slots=True)
class HelperPlan:
    template: Template
    env: dict[str, str] = field(default_factory=dict)
    mount_path: str | None = None
    volume: str = ""
    volume_size: str | None = None
    app_mounts: list[tuple[str, str]] = field(default_factory=list)
    image: str | None = None
    pull_policy: str | None = None
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    hold: bool = False


@dataclass(slots=True)
class Plan:
    helpers: list[HelperPlan]
    native: bool
    warnings: list[str]
    first: bool = False
    strict: bool | None = None


def read_plan(
    annotations: Mapping[str, Any],
    prefix: str,
    templates: Mapping[str, Template],
    *,
    native: bool,
    volume: str,
) -> Plan:
    """The plan for one Pod; ``volume`` is the base of each helper's default volume name."""
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
    plan = Plan(helpers, native, warnings)
    for helper in helpers:
        helper.volume = _default_volume(volume, helper.template.helper or helper.template.name)
    if "native" in ours:
        plan.native = flag(ours["native"], f"{prefix}/native", native, warnings)
    if "strict" in ours:
        plan.strict = flag(ours["strict"], f"{prefix}/strict", False, warnings)
    if "order" in ours:
        order = ours["order"].strip().lower()
        if order in ("first", "after-sidecars"):
            plan.first = order == "first"
        else:
            warnings.append(f"{prefix}/order must be first or after-sidecars, not {order!r}")
    if "volume" in ours:
        if DNS_LABEL.fullmatch(ours["volume"]):
            for helper in helpers:
                helper.volume = ours["volume"]
        else:
            warnings.append(f"{prefix}/volume must be a DNS label; not used")
    by_name = {helper.template.name: helper for helper in helpers}
    for key, value in ours.items():
        if key in POD_KEYS:
            continue
        name, dot, rest = key.partition(".")
        if not dot or name not in templates:
            known = [*POD_KEYS, *templates, *(f"{t}.{k}" for t in by_name for k in HELPER_KEYS)]
            close = _closest(key, known)
            hint = f"; did you mean {prefix}/{close[0]}?" if close else ""
            warnings.append(f"unknown annotation {prefix}/{key}{hint}")
            continue
        chosen = by_name.get(name)
        if chosen is None:
            warnings.append(f"{prefix}/{key} ignored: {name} is not in {prefix}/helpers")
        elif rest in HELPER_KEYS:
            _helper_key(chosen, rest, value, f"{prefix}/{key}", warnings)
        elif not ENV_NAME.fullmatch(rest) or rest.upper() != rest:
            close = _closest(rest, HELPER_KEYS)
            hint = f"; did you mean {prefix}/{name}.{close[0]}?" if close else ""
            warnings.append(f"{prefix}/{key}: {rest!r} is not a variable name (upper case){hint}")
        elif not rest.startswith(chosen.template.env_prefix):
            env_prefix = chosen.template.env_prefix
            warnings.append(
                f"{prefix}/{key}: {name} settings start with {env_prefix}; "
                f"did you mean {prefix}/{name}.{env_prefix}{rest}?"
            )
        else:
            chosen.env[rest] = value
    if "mounts" in ours:
        _mounts(ours["mounts"], prefix, helpers, warnings)
    return plan


def _default_volume(base: str, helper: str) -> str:
    name = f"{base}-{helper}"
    return name if DNS_LABEL.fullmatch(name) else base


def _helper_key(helper: HelperPlan, key: str, value: str, where: str, warnings: list[str]) -> None:
    text = value.strip()
    if key == "mount":
        if text.startswith("/"):
            helper.mount_path = text
        else:
            warnings.append(f"{where} must be an absolute path; ignored")
    elif key == "volume":
        if DNS_LABEL.fullmatch(text):
            helper.volume = text
        else:
            warnings.append(f"{where} must be a DNS label; ignored")
    elif key == "volume-size":
        if QUANTITY.fullmatch(text):
            helper.volume_size = text
        else:
            warnings.append(f"{where}: {text!r} is not a quantity such as 512Mi; ignored")
    elif key == "image":
        if text and not any(c.isspace() for c in text):
            helper.image = text
        else:
            warnings.append(f"{where}: {value!r} is not an image reference; ignored")
    elif key == "imagePullPolicy":
        if text in _PULL_POLICIES:
            helper.pull_policy = text
        else:
            warnings.append(f"{where} must be one of {', '.join(_PULL_POLICIES)}; ignored")
    elif key == "hold":
        helper.hold = flag(text, where, False, warnings)
    else:
        if QUANTITY.fullmatch(text):
            group, resource = _RESOURCES[key]
            helper.resources.setdefault(group, {})[resource] = text
        else:
            warnings.append(f"{where}: {text!r} is not a quantity such as 100m or 64Mi; ignored")


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
            close = _closest(name, templates)
            hint = f"did you mean {close[0]}? " if close else ""
            known = ", ".join(sorted(templates)) or "none"
            warnings.append(f"{prefix}/helpers: unknown helper {name!r}; {hint}(known: {known})")
        elif any(helper.template is template for helper in chosen):
            warnings.append(f"{prefix}/helpers: {name} listed twice; injected once")
        else:
            chosen.append(HelperPlan(template, mount_path=template.mount_path))
    if not chosen and not any(w.startswith(f"{prefix}/helpers") for w in warnings):
        warnings.append(f"Pod opted in but {prefix}/helpers names no helper; nothing injected")
    return chosen


def flag(text: str, key: str, default: bool, warnings: list[str]) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    warnings.append(f"{key} must be true or false, not {text!r}; using {str(default).lower()}")
    return default


def _mounts(text: str, prefix: str, helpers: list[HelperPlan], warnings: list[str]) -> None:
    """``container=/path`` or ``container=helper:/path``, several per container allowed."""
    mounting = [helper for helper in helpers if helper.mount_path]
    by_name = {helper.template.name: helper for helper in helpers}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        container, eq, target = item.partition("=")
        name, colon, path = target.partition(":")
        if not colon:
            name, path = "", target
        if not eq or not container or not path.startswith("/"):
            warnings.append(
                f"{prefix}/mounts: expected container=/path or container=helper:/path, not {item!r}"
            )
            continue
        if name:
            named = by_name.get(name)
            if named is None:
                warnings.append(f"{prefix}/mounts: {item!r} names {name}, not in {prefix}/helpers")
                continue
            helper = named
        elif len(mounting) == 1:
            helper = mounting[0]
        else:
            some = ", ".join(h.template.name for h in mounting) or "none"
            warnings.append(
                f"{prefix}/mounts: {item!r} must name the helper whose volume it mounts "
                f"(container=helper:/path; helpers with a volume: {some})"
            )
            continue
        if any(c == container and p == path for c, p in helper.app_mounts):
            continue
        helper.app_mounts.append((container.strip(), path))


def _closest(word: str, choices: Iterable[str]) -> list[str]:
    """The nearest choice for a did-you-mean hint; difflib loads only for a mistake."""
    import difflib

    return difflib.get_close_matches(word, list(choices), n=1)

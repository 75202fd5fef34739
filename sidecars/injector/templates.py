"""Helper templates: what each injectable helper's container looks like, from one file.

The file is a mounted ConfigMap, YAML or JSON (YAML is a superset), shaped as::

    helpers:
      gitsync:
        role: sidecar           # or init: runs to completion before the app
        envPrefix: GITSYNC_     # annotations may set only variables with this prefix
        helper: gitsync         # whose Settings check the env (default: the key, or the
                                # part before its first '-', when such a helper is installed)
        mountPath: /git         # where the shared volume goes in this helper (optional)
        container: {image: ..., env: [...], resources: ..., readinessProbe: ...}

``container`` is any Kubernetes Container; it is copied into the Pod as written, so fields
this code has never heard of pass through untouched. The injector sets only ``name`` (the
helper's key), adds env values and the shared volume's mount, and ``restartPolicy`` for
native sidecars.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sidecars import ConfigError, Problem

__all__ = ["Template", "load_templates", "parse_templates"]

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INIT_FORBIDDEN = ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle")
_VARIABLE = "INJECTOR_TEMPLATES"


@dataclass(frozen=True, slots=True)
class Template:
    """One injectable helper: the container to add and how annotations may change it."""

    name: str
    role: Literal["init", "sidecar"]
    container: Mapping[str, Any]
    env_prefix: str = ""
    mount_path: str | None = None
    helper: str | None = None


def load_templates(path: Path) -> tuple[str, dict[str, Template]]:
    """Read and check the templates file: its text and its templates.

    Raises ``ConfigError`` naming the file and each bad field.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError([Problem(_VARIABLE, str(path), f"cannot read it: {reason}")]) from None
    return text, parse_templates(text, str(path))


def parse_templates(text: str, source: str) -> dict[str, Template]:
    """JSON is read without loading a YAML parser (0.8 MB a process); YAML is the rest."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = _yaml(text, source)
    else:
        data = _yaml(text, source)
    problems: list[str] = []
    templates = _templates(data, problems)
    if problems:
        raise ConfigError([Problem(_VARIABLE, source, reason) for reason in problems])
    return templates


def _yaml(text: str, source: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            [Problem(_VARIABLE, source, f"{where}not valid YAML: {problem}")]
        ) from None


def _templates(data: Any, problems: list[str]) -> dict[str, Template]:
    if not isinstance(data, dict) or not isinstance(data.get("helpers"), dict):
        problems.append("expected a mapping with a 'helpers' mapping of helper templates")
        return {}
    unknown = sorted(set(data) - {"helpers"})
    if unknown:
        problems.append(f"unknown top-level keys {unknown}; expected only 'helpers'")
    templates = {}
    for name, spec in data["helpers"].items():
        template = _template(str(name), spec, problems)
        if template is not None:
            templates[template.name] = template
    if not templates and not problems:
        problems.append("helpers: no helper templates defined")
    return templates


def _template(name: str, spec: Any, problems: list[str]) -> Template | None:
    where = f"helpers.{name}"
    before = len(problems)
    if not DNS_LABEL.fullmatch(name):
        problems.append(f"{where}: the name must be a DNS label (lower-case, digits, '-')")
    if not isinstance(spec, dict):
        problems.append(f"{where}: expected a mapping with role and container")
        return None
    unknown = sorted(set(spec) - {"role", "envPrefix", "mountPath", "container", "helper"})
    if unknown:
        problems.append(f"{where}: unknown keys {unknown}")
    role = spec.get("role", "sidecar")
    if role not in ("init", "sidecar"):
        problems.append(f"{where}.role: expected init or sidecar, not {role!r}")
    prefix = spec.get("envPrefix", "")
    if not isinstance(prefix, str) or (prefix and not ENV_NAME.fullmatch(prefix)):
        problems.append(f"{where}.envPrefix: expected the start of a variable name, like GITSYNC_")
    mount = spec.get("mountPath")
    if mount is not None and not (isinstance(mount, str) and mount.startswith("/")):
        problems.append(f"{where}.mountPath: expected an absolute path")
    helper = spec.get("helper")
    if helper is not None and not isinstance(helper, str):
        problems.append(f"{where}.helper: expected the name of an installed helper")
    container = spec.get("container")
    if not isinstance(container, dict):
        problems.append(f"{where}.container: expected a mapping (a Kubernetes Container)")
        return None
    _check_container(where, role, container, problems)
    if len(problems) > before:
        return None
    return Template(name, role, container, prefix, mount, helper)


def _check_container(where: str, role: Any, container: dict[str, Any], problems: list[str]) -> None:
    if not isinstance(container.get("image"), str) or not container["image"]:
        problems.append(f"{where}.container.image: expected an image reference")
    if "name" in container:
        problems.append(f"{where}.container.name: leave it out, the helper's key names it")
    if "restartPolicy" in container:
        problems.append(f"{where}.container.restartPolicy: set by the injector for sidecars")
    if role == "init":
        for key in _INIT_FORBIDDEN:
            if key in container:
                problems.append(f"{where}.container.{key}: init containers cannot have it")
    env = container.get("env", [])
    if not isinstance(env, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in env
    ):
        problems.append(f"{where}.container.env: expected a list of {{name, value}} mappings")
    if "volumeMounts" in container:
        # a mount of a volume the Pod lacks would make the API server refuse the Pod
        problems.append(
            f"{where}.container.volumeMounts: leave it out; mountPath mounts the shared volume"
        )

"""The optional TOML file: route rules and inputs with labels of their own.

Environment variables carry everything that fits on one line; a list of regex rules, or
several inputs each with its own labels, reads better as a file. The file is read again
on SIGHUP and when it changes; only the route rules take effect without a restart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .syslog import ListenAddress

__all__ = ["Config", "InputSpec", "is_exporter_file", "load_config"]

_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True, slots=True)
class InputSpec:
    """Files to follow or one syslog listener (reading only messages with one of
    ``tags``, if any), and the labels its lines carry."""

    files: tuple[str, ...] = ()
    syslog: ListenAddress | None = None
    labels: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return str(self.syslog) if self.syslog else ",".join(self.files)


@dataclass(frozen=True, slots=True)
class Config:
    routes: list[tuple[str, str]] = field(default_factory=list)
    inputs: list[InputSpec] = field(default_factory=list)


def is_exporter_file(path: Path) -> bool:
    """Whether ``path`` names a prometheus-nginxlog-exporter file (read by ``exporter.py``,
    which is imported only then) rather than this helper's TOML file."""
    return path.suffix in (".yml", ".yaml", ".hcl")


def load_config(path: Path) -> Config:
    """Read the file; ``ValueError`` says which entry is wrong and why."""
    import tomllib  # only a TOML file pays for it

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"route", "input"}
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {sorted(unknown)}; expected route, input")
    routes = []
    for number, rule in enumerate(data.get("route", []), start=1):
        if not isinstance(rule, dict) or not isinstance(rule.get("match"), str):
            raise ValueError(f"{path}: route rule {number} needs match = '<regex>'")
        if not isinstance(rule.get("route"), str):
            raise ValueError(f"{path}: route rule {number} needs route = '<template>'")
        routes.append((rule["match"], rule["route"]))
    inputs = []
    for number, entry in enumerate(data.get("input", []), start=1):
        inputs.append(_input(entry, f"{path}: input {number}"))
    return Config(routes=routes, inputs=inputs)


def _input(entry: object, where: str) -> InputSpec:
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be a table")
    files = entry.get("files", [])
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ValueError(f"{where}: files must be a list of paths or globs")
    syslog = None
    if "syslog" in entry:
        try:
            syslog = ListenAddress.parse(str(entry["syslog"]))
        except ValueError:
            raise ValueError(f"{where}: syslog: expected {ListenAddress.expected}") from None
    if bool(files) == (syslog is not None):
        raise ValueError(f"{where} needs either files or syslog")
    labels = entry.get("labels", {})
    if not isinstance(labels, dict):
        raise ValueError(f"{where}: labels must be a table of name = 'value'")
    for name, value in labels.items():
        if not _LABEL.fullmatch(name) or not isinstance(value, str):
            raise ValueError(f"{where}: label {name!r} needs a valid name and a text value")
    return InputSpec(files=tuple(files), syslog=syslog, labels=dict(labels))

"""Listeners from the environment or from a YAML/JSON config file, checked before anything binds.

A listener's configuration is an ``AmbassadorSettings`` value: a config file entry overrides
the environment's settings by their lower-case names, so one vocabulary serves both and the
same parser words every error.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidecars import ConfigError, Problem
from sidecars.runtime.settings import convert, describe

from .settings import AmbassadorSettings

__all__ = ["ListenerConfig", "Route", "Target", "load_listeners"]

_NOT_OVERRIDABLE = {"config_file", "log_level", "log_format", "admin_addr", "admin_token"}
_NOT_OVERRIDABLE |= {"drain_timeout"}
_NOT_OVERRIDABLE |= {"drain_delay", "connection_drain", "dns_server", "dns_min_ttl", "dns_max_ttl"}
_FILES = ("tls_ca_file", "tls_cert_file", "tls_key_file")
_LISTEN_FILES = ("listen_tls_cert_file", "listen_tls_key_file")


@dataclass(frozen=True, slots=True)
class Target:
    """One upstream as written: an address, a name re-resolved for A/AAAA, or an SRV name."""

    host: str
    port: int
    srv: bool = False

    @property
    def is_name(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return True
        return False

    @classmethod
    def parse(cls, text: str) -> Target:
        text = text.strip()
        if text.startswith("srv:"):
            name = text[4:]
            if not name or ":" in name or " " in name:
                raise ValueError(text)
            return cls(name, 0, srv=True)
        host, sep, port = text.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or " " in host:
            raise ValueError(text)
        return cls(host, int(port))

    def __str__(self) -> str:
        if self.srv:
            return f"srv:{self.host}"
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Route:
    """http mode: requests whose path starts with ``prefix`` (and Host is ``host``, if set)."""

    prefix: str
    host: str
    settings: AmbassadorSettings
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    name: str
    settings: AmbassadorSettings
    targets: tuple[Target, ...]
    routes: tuple[Route, ...] = field(default=())


def load_listeners(settings: AmbassadorSettings) -> list[ListenerConfig]:
    """Every listener, or one ``ConfigError`` naming each bad variable or file entry."""
    problems: list[Problem] = []
    if settings.config_file is None:
        prefix = settings.prefix
        targets = _targets(settings.upstreams, f"{prefix}UPSTREAMS", problems)
        _check(settings, prefix, problems, listener=True)
        if problems:
            raise ConfigError(problems)
        return [ListenerConfig("default", settings, targets)]
    where = str(settings.config_file)
    document = _read(settings.config_file, f"{settings.prefix}CONFIG_FILE")
    entries = document.get("listeners") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError([Problem(where, None, "expected an object with a 'listeners' list")])
    listeners = []
    for index, entry in enumerate(entries):
        label = f"{where}: listeners[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(label, None, "expected an object"))
            continue
        routes_raw = entry.pop("routes", [])
        name = str(entry.pop("name", f"listener{index}"))
        own = _override(settings, entry, label, problems)
        if own is None:
            continue
        _check(own, f"{label}.", problems, listener=True)
        targets = _targets(own.upstreams, f"{label}.upstreams", problems, optional=bool(routes_raw))
        routes = _routes(own, routes_raw, label, problems)
        listeners.append(ListenerConfig(name, own, targets, routes))
    binds = [str(listener.settings.listen) for listener in listeners]
    for bind in {b for b in binds if binds.count(b) > 1}:
        problems.append(Problem(where, bind, "two listeners bind the same address"))
    if problems:
        raise ConfigError(problems)
    return listeners


def _read(path: Path, variable: str) -> Any:
    """The parsed file: YAML (``safe_load``) for .yaml/.yml names, JSON otherwise."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(variable, where, str(exc))]) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # only for a YAML file: 2 MB that a JSON file or no file does not need

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError([Problem(where, None, f"not valid YAML{at}: {problem}")]) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError([Problem(where, None, f"not valid JSON: {exc}")]) from None


def _routes(
    listener: AmbassadorSettings, raw: Any, label: str, problems: list[Problem]
) -> tuple[Route, ...]:
    if not isinstance(raw, list):
        problems.append(Problem(f"{label}.routes", None, "expected a list"))
        return ()
    if raw and listener.mode != "http":
        problems.append(Problem(f"{label}.routes", None, "routes need mode http"))
    routes = []
    for index, entry in enumerate(raw):
        where = f"{label}.routes[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(where, None, "expected an object"))
            continue
        prefix = str(entry.pop("prefix", "/"))
        host = str(entry.pop("host", "")).lower()
        if not prefix.startswith("/"):
            problems.append(Problem(f"{where}.prefix", prefix, "must start with /"))
        own = _override(listener, entry, where, problems)
        if own is None:
            continue
        _check(own, f"{where}.", problems, listener=False)
        targets = _targets(own.upstreams, f"{where}.upstreams", problems)
        routes.append(Route(prefix, host, own, targets))
    return tuple(routes)


def _override(
    base: AmbassadorSettings, entry: dict[str, Any], label: str, problems: list[Problem]
) -> AmbassadorSettings | None:
    hints = typing.get_type_hints(AmbassadorSettings)
    changes: dict[str, Any] = {}
    bad = False
    for key, value in entry.items():
        if key not in hints or key in _NOT_OVERRIDABLE or key == "prefix":
            problems.append(Problem(f"{label}.{key}", None, "not a listener setting"))
            bad = True
            continue
        raw = ",".join(map(str, value)) if isinstance(value, list) else value
        raw = str(raw).lower() if isinstance(raw, bool) else str(raw)
        try:
            changes[key] = convert(hints[key], raw)
        except ValueError:
            problems.append(Problem(f"{label}.{key}", raw, f"expected {describe(hints[key])}"))
            bad = True
    return None if bad else dataclasses.replace(base, **changes)


def _targets(
    raw: list[str], label: str, problems: list[Problem], optional: bool = False
) -> tuple[Target, ...]:
    if not raw and not optional:
        problems.append(Problem(label, None, "at least one upstream is required"))
    targets = []
    for text in raw:
        try:
            targets.append(Target.parse(text))
        except ValueError:
            problems.append(
                Problem(label, text, "expected host:port, [v6]:port or srv:_service._proto.name")
            )
    return tuple(targets)


def _check(s: AmbassadorSettings, label: str, problems: list[Problem], *, listener: bool) -> None:
    def name(attr: str) -> str:
        return f"{label}{attr.upper()}" if label == s.prefix else f"{label}{attr}"

    for attr in _FILES + (_LISTEN_FILES if listener else ()):
        path = getattr(s, attr)
        if path is not None and not Path(path).is_file():
            problems.append(Problem(name(attr), str(path), "no such file"))
    if (s.tls_cert_file is None) != (s.tls_key_file is None):
        problems.append(Problem(name("tls_key_file"), None, "set both or neither of cert and key"))
    if (s.listen_tls_cert_file is None) != (s.listen_tls_key_file is None):
        problems.append(
            Problem(name("listen_tls_key_file"), None, "set both or neither of cert and key")
        )
    key = s.hash_key
    if key and key != "path" and not (key.startswith("header:") and len(key) > 7):
        problems.append(Problem(name("hash_key"), key, "expected header:NAME or path"))
    if s.mode == "http" and s.proxy_protocol != "off":
        problems.append(
            Problem(name("proxy_protocol"), s.proxy_protocol, "applies to tcp mode only")
        )
    if s.mode == "http":
        for attr in ("request_headers_add", "response_headers_add"):
            for item in getattr(s, attr):
                header, colon, _ = item.partition(":")
                if not colon or not header.strip() or " " in header.strip():
                    problems.append(Problem(name(attr), item, "expected 'Name: value'"))
    for attr in ("connect_attempts", "pool_size"):
        if getattr(s, attr) < 1:
            problems.append(Problem(name(attr), str(getattr(s, attr)), "must be at least 1"))
    if s.retries < 0:
        problems.append(Problem(name("retries"), str(s.retries), "must not be negative"))
    if s.eject_after < 1:
        problems.append(Problem(name("eject_after"), str(s.eject_after), "must be at least 1"))

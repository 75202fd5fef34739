"""Typed settings read once from environment variables.

A helper declares its variables once, as annotated attributes of a ``Settings`` subclass;
that declaration drives parsing, the combined error message, ``--help`` and the README
tables, so the three cannot disagree.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, cast, dataclass_transform

from .errors import ConfigError, Problem
from .types import URL_EXPECTED, ByteSize, Duration, HostPort, Secret, is_url, parse_url

__all__ = ["SettingInfo", "Settings", "setting"]

_KEY = "sidecars"


@dataclasses.dataclass(frozen=True, slots=True)
class SettingInfo:
    """What the declaration says about one variable, beyond its type."""

    help: str
    default: Any
    env: str | None
    secret: bool
    aliases: tuple[str, ...] = ()


def setting(
    *,
    help: str,
    default: Any = dataclasses.MISSING,
    env: str | None = None,
    secret: bool = False,
    aliases: tuple[str, ...] = (),
) -> Any:
    """Declare one setting.

    Args:
        help: One line for ``--help`` and the README.
        default: A value or the text an operator would write (``"10s"``); none means required.
        env: The full variable name, when it is not the prefix plus the upper-cased attribute.
        secret: Mask the value in errors and reprs and accept ``<VARIABLE>_FILE``.
            ``Secret``-typed settings are secret without saying so.
        aliases: Former names, still read (with a deprecation warning) when the variable
            itself is unset; a name without the prefix gets the class's prefix. A former
            name that another setting of the class declares stays that setting's.
    """
    info = SettingInfo(help=help, default=default, env=env, secret=secret, aliases=aliases)
    return dataclasses.field(default=default, metadata={_KEY: info})


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(setting,))
class Settings:
    """Base of every helper's settings; carries the variables every helper has.

    Subclass with ``class MySettings(Settings, prefix="MY_", admin_port=9100)``.
    """

    prefix: ClassVar[str] = ""

    log_level: Literal["debug", "info", "warning", "error"] = setting(
        default="info", help="Lowest level of log lines written"
    )
    log_format: Literal["json", "text"] = setting(
        default="json", help="One JSON object a line, or human-readable text"
    )
    admin_addr: HostPort | None = setting(
        default=":8080",
        help="Address of the admin server (/healthz, /readyz, /metrics); empty turns it off",
    )
    admin_token: Secret = setting(
        default="",
        help="Bearer token that mutating admin routes (POST /quitquitquit, ...) require; "
        "empty lets only loopback peers call them",
    )
    drain_delay: Duration = setting(
        default="0s",
        help="On SIGTERM, keep serving this long with /readyz answering 503 "
        "(while Services stop routing here), then stop",
        aliases=("SHUTDOWN_DELAY",),
    )
    drain_timeout: Duration = setting(
        default="20s",
        help="How long a stopping helper may take, drain delay included, before it is cancelled",
    )

    def __init_subclass__(
        cls,
        prefix: str = "",
        admin_port: int | None = None,
        drain_delay: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init_subclass__(**kw)
        if prefix:
            cls.prefix = prefix
        if admin_port is not None:
            _redeclare(cls, "admin_addr", HostPort | None, f":{admin_port}")
        if drain_delay is not None:
            _redeclare(cls, "drain_delay", Duration, drain_delay)
        _finish(cls)

    @classmethod
    def variables(cls) -> list[tuple[str, dataclasses.Field[Any], Any]]:
        """Every (variable name, field, type) of this class, in declaration order."""
        hints = typing.get_type_hints(cls)
        return [(_env_name(cls, f), f, hints[f.name]) for f in _fields(cls).values()]

    @classmethod
    def aliases(cls) -> dict[str, str]:
        """Former variable names still honoured: former name -> current name."""
        owned = {name for name, _, _ in cls.variables()}
        found = {}
        for name, field, _ in cls.variables():
            for alias in field.metadata[_KEY].aliases:
                former = alias if alias.startswith(cls.prefix) else f"{cls.prefix}{alias}"
                if former not in owned:
                    found[former] = name
        return found

    @classmethod
    def deprecated_variables(cls, environ: Mapping[str, str] | None = None) -> list[str]:
        """Warnings for former names in use."""
        environ = os.environ if environ is None else environ
        return [
            f"{former} is deprecated; use {name}"
            + (" (it is set too and wins)" if name in environ else "")
            for former, name in cls.aliases().items()
            if former in environ
        ]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Build the settings, or raise one ``ConfigError`` naming every bad variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        former = {name: alias for alias, name in cls.aliases().items()}
        used: dict[str, str] = {}
        for name, field, kind in cls.variables():
            info: SettingInfo = field.metadata[_KEY]
            secret = info.secret or _is_secret(kind)
            alias = former.get(name)
            if alias is not None and name not in environ and alias in environ:
                used[name] = name = alias
            try:
                raw = _read_raw(name, environ, secret)
            except OSError as exc:
                problems.append(Problem(f"{name}_FILE", environ[f"{name}_FILE"], _os_reason(exc)))
                continue
            if raw is None:
                if (
                    field.default is dataclasses.MISSING
                    and field.default_factory is dataclasses.MISSING
                ):
                    problems.append(Problem(name, None, f"required: {describe(kind)}"))
                continue
            try:
                values[field.name] = convert(kind, raw)
            except ValueError as exc:
                shown = "****" if secret else raw
                bad_item = f"{exc.args[0]!r} is not valid; " if exc.args and not secret else ""
                problems.append(Problem(name, shown, f"{bad_item}expected {describe(kind)}"))
        if problems:
            raise ConfigError(problems)
        settings = cls(**values)
        problems = settings._lifecycle_problems() + settings.validate()
        if problems:
            raise ConfigError([_as_written(problem, used) for problem in problems])
        return settings

    @classmethod
    def unknown_variables(cls, environ: Mapping[str, str] | None = None) -> list[str]:
        """Warnings for variables that carry our prefix but match no setting."""
        if not cls.prefix:
            return []
        environ = os.environ if environ is None else environ
        known = set(cls.aliases())
        for name, field, kind in cls.variables():
            known.add(name)
            if field.metadata[_KEY].secret or _is_secret(kind):
                known.add(f"{name}_FILE")
        warnings = []
        for var in sorted(environ):
            if var.startswith(cls.prefix) and var not in known:
                import difflib  # only when a variable is unknown

                close = difflib.get_close_matches(var, known, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                warnings.append(f"{var} is not a setting of this helper and is ignored{hint}")
        return warnings

    def validate(self) -> list[Problem]:
        """Checks that span several settings; override and return the problems found."""
        return []

    def _lifecycle_problems(self) -> list[Problem]:
        if self.drain_delay >= self.drain_timeout and self.drain_delay > 0:
            return [
                Problem(
                    f"{self.prefix}DRAIN_DELAY",
                    str(self.drain_delay),
                    f"must be shorter than {self.prefix}DRAIN_TIMEOUT ({self.drain_timeout})",
                )
            ]
        return []

    def __repr__(self) -> str:
        parts = []
        for _, field, kind in self.variables():
            value = getattr(self, field.name)
            if field.metadata[_KEY].secret or _is_secret(kind):
                value = "****" if value else value
            parts.append(f"{field.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _finish(cls: type[Settings]) -> None:
    """Turn declared text defaults into values, then make the class a frozen dataclass."""
    hints = typing.get_type_hints(cls)
    for name in inspect.get_annotations(cls):
        if typing.get_origin(hints[name]) is ClassVar or hints[name] is ClassVar:
            continue
        field = cls.__dict__.get(name)
        if not isinstance(field, dataclasses.Field) or _KEY not in field.metadata:
            raise TypeError(f"{cls.__name__}.{name} must be declared with setting(help=...)")
        default = field.metadata[_KEY].default
        if default is dataclasses.MISSING:
            continue
        if isinstance(default, str):
            try:
                default = convert(hints[name], default)
            except ValueError:
                raise TypeError(
                    f"{cls.__name__}.{name}: default {default!r} is not {describe(hints[name])}"
                ) from None
        if isinstance(default, list):
            field.default = dataclasses.MISSING
            field.default_factory = _copier(default)
        else:
            field.default = default
    dataclasses.dataclass(frozen=True, kw_only=True, repr=False)(cls)


def _fields(cls: type[Settings]) -> dict[str, dataclasses.Field[Any]]:
    return {field.name: field for field in dataclasses.fields(cast(Any, cls))}


def _as_written(problem: Problem, used: Mapping[str, str]) -> Problem:
    """Name the former variable when that is the one the operator set."""
    if problem.variable in used:
        return dataclasses.replace(problem, variable=used[problem.variable])
    return problem


def _redeclare(cls: type[Settings], name: str, kind: Any, default: str) -> None:
    """Give a shared setting another default in a subclass, keeping its help and aliases."""
    if "__annotations__" not in cls.__dict__:
        cls.__annotations__ = {}
    cls.__annotations__[name] = kind
    info: SettingInfo = _fields(Settings)[name].metadata[_KEY]
    setattr(cls, name, setting(default=default, help=info.help, aliases=info.aliases))


def _copier(value: list[Any]) -> Callable[[], list[Any]]:
    return lambda: list(value)


def _env_name(cls: type[Settings], field: dataclasses.Field[Any]) -> str:
    return field.metadata[_KEY].env or f"{cls.prefix}{field.name.upper()}"


def _read_raw(name: str, environ: Mapping[str, str], secret: bool) -> str | None:
    if secret and f"{name}_FILE" in environ and name not in environ:
        with open(environ[f"{name}_FILE"], encoding="utf-8") as handle:
            return handle.read().rstrip("\r\n")
    return environ.get(name)


def _os_reason(exc: OSError) -> str:
    return f"cannot read the secret file: {exc.strerror or exc}"


def _is_secret(kind: Any) -> bool:
    return kind is Secret or Secret in typing.get_args(kind)


_SCALARS: dict[Any, tuple[Callable[[str], Any], str]] = {
    str: (str, "text"),
    Secret: (Secret, "text"),
    int: (int, "a whole number"),
    float: (float, "a number"),
    Path: (Path, "a filesystem path"),
    Duration: (Duration.parse, Duration.expected),
    ByteSize: (ByteSize.parse, ByteSize.expected),
    HostPort: (HostPort.parse, HostPort.expected),
}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError


def convert(kind: Any, raw: str) -> Any:
    """Parse ``raw`` as ``kind``; ``ValueError`` when it does not fit.

    Besides the built-in types, any class with a ``parse(text)`` classmethod and an
    ``expected`` text (and optionally a ``type_name``) can type a setting.
    """
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        if not raw.strip():
            return None
        (inner,) = (a for a in args if a is not type(None))
        return convert(inner, raw)
    if origin in (list, tuple):
        item = args[0]
        items = []
        for part in raw.split(","):
            if part.strip():
                try:
                    items.append(convert(item, part.strip()))
                except ValueError:
                    raise ValueError(part.strip()) from None
        return items if origin is list else tuple(items)
    if origin is Literal:
        value = raw.strip().lower()
        if value not in args:
            raise ValueError
        return value
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(raw.strip().lower())
        except ValueError:
            raise ValueError from None
    if kind is bool:
        return _parse_bool(raw)
    if kind in (int, float):
        if not raw.strip():
            raise ValueError
        return kind(raw.strip())
    if is_url(kind):
        parse: Callable[[str], Any] = parse_url
    else:
        parse = _SCALARS[kind][0] if kind in _SCALARS else kind.parse
    if kind not in (str, Secret) and not raw.strip():
        raise ValueError
    return parse(raw)


def describe(kind: Any) -> str:
    """The words an operator reads after 'expected'."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        (inner,) = (a for a in args if a is not type(None))
        return f"{describe(inner)}, or empty"
    if origin in (list, tuple):
        return f"a comma-separated list, each item {describe(args[0])}"
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return "one of " + ", ".join(str(m.value) for m in kind)
    if kind is bool:
        return "true or false (also 1/0, yes/no, on/off)"
    if is_url(kind):
        return URL_EXPECTED
    return _SCALARS[kind][1] if kind in _SCALARS else str(kind.expected)


def type_name(kind: Any) -> str:
    """A short name for the type column of tables."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        (inner,) = (a for a in args if a is not type(None))
        return type_name(inner)
    if origin in (list, tuple):
        return f"list of {type_name(args[0])}"
    if origin is Literal:
        return " | ".join(str(a) for a in args)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return " | ".join(str(m.value) for m in kind)
    names = {
        str: "string",
        Secret: "secret",
        int: "int",
        float: "float",
        bool: "bool",
        Path: "path",
        Duration: "duration",
        ByteSize: "byte size",
        HostPort: "host:port",
    }
    if is_url(kind):
        return "URL"
    return names.get(kind) or str(getattr(kind, "type_name", kind.__name__.lower()))


_finish(Settings)

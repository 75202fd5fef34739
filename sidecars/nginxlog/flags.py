"""prometheus-nginxlog-exporter's command line, so its container and Pod manifests work
with only the image swapped: ``-config-file``, ``-format`` and the rest, parsed as Go's
``flag`` package does (``-name value``, ``-name=value``, ``--name``, bare booleans, the
first word that is not a flag ends the flags and starts the file names).

The flags become ``NGINXLOG_*`` values (flags win over the environment) with
``NGINXLOG_COMPAT=exporter``, so the exporter's defaults apply, summaries included.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from sidecars import Command, ConfigError

__all__ = ["ExporterCommands", "exporter_command", "is_flag"]

_VALUE_FLAGS = {
    "config-file", "format", "parser", "namespace", "listen-port", "listen-address",
    "metrics-endpoint", "log-level", "log-format", "cpuprofile", "memprofile",
}  # fmt: skip
_BOOL_FLAGS = {"enable-experimental", "verify-config", "version"}
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}
_LOG_LEVELS = {"error": "error", "warning": "warning", "info": "info", "debug": "debug"}


class FlagError(ValueError):
    """A command line the exporter would refuse too (exit 2, as Go's ``flag`` does)."""


@dataclass(frozen=True, slots=True)
class Flags:
    values: dict[str, str]
    files: list[str]


def is_flag(word: str) -> bool:
    name = word.lstrip("-").partition("=")[0]
    return word.startswith("-") and name in _VALUE_FLAGS | _BOOL_FLAGS


def parse_flags(argv: Sequence[str]) -> Flags:
    values: dict[str, str] = {}
    words = list(argv)
    while words:
        word = words[0]
        if word == "--":
            words.pop(0)
            break
        if not word.startswith("-") or word == "-":
            break
        words.pop(0)
        name, has_value, value = word.lstrip("-").partition("=")
        if name in _BOOL_FLAGS:
            if has_value and value not in _TRUE | _FALSE:
                raise FlagError(f"invalid boolean value {value!r} for -{name}")
            values[name] = "false" if has_value and value in _FALSE else "true"
        elif name in _VALUE_FLAGS:
            if not has_value:
                if not words:
                    raise FlagError(f"flag needs an argument: -{name}")
                value = words.pop(0)
            values[name] = value
        else:
            raise FlagError(f"flag provided but not defined: -{name}")
    return Flags(values, words)


def environment(flags: Flags, base: Mapping[str, str]) -> dict[str, str]:
    """The ``NGINXLOG_*`` values the flags stand for, over ``base``."""
    from .exporter import DEFAULT_FORMAT

    values, env = flags.values, dict(base)
    env["NGINXLOG_COMPAT"] = "exporter"
    if "listen-port" in values or "listen-address" in values:
        port = values.get("listen-port", "4040")
        if not port.isdigit():
            raise FlagError(f"invalid value {port!r} for flag -listen-port: parse error")
        host = values.get("listen-address", "0.0.0.0")
        env["NGINXLOG_ADMIN_ADDR"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if values.get("metrics-endpoint", "/metrics") != "/metrics":
        env["NGINXLOG_METRICS_PATH"] = values["metrics-endpoint"]
    if values.get("log-level") in _LOG_LEVELS:
        env["NGINXLOG_LOG_LEVEL"] = _LOG_LEVELS[values["log-level"]]
    if "log-format" in values:
        env["NGINXLOG_LOG_FORMAT"] = "json" if values["log-format"] == "json" else "text"
    if "config-file" in values:
        env["NGINXLOG_CONFIG"] = values["config-file"]
        return env
    if values.get("parser", "text") == "json":
        env["NGINXLOG_FORMAT"] = "json"
    elif values.get("parser", "text") != "text":
        raise FlagError(f"-parser {values['parser']!r}: expected text or json")
    else:
        env["NGINXLOG_FORMAT"] = values.get("format", DEFAULT_FORMAT)
        env["NGINXLOG_EXTRA_VARIABLES"] = ",".join(_with_unknown(env))
    env["NGINXLOG_NAMESPACE"] = values.get("namespace", "nginx")
    if any("," in name for name in flags.files):
        raise FlagError("file names with a comma are not supported; use -config-file")
    env["NGINXLOG_FILES"] = ",".join(flags.files)
    return env


def _with_unknown(env: dict[str, str]) -> list[str]:
    """The declared extra variables plus those of the format NGINX does not define: the
    exporter reads any ``$name`` as text (made with ``map`` or ``set``)."""
    from .logformat import variable_names
    from .variables import is_known

    extra = [name for name in env.get("NGINXLOG_EXTRA_VARIABLES", "").split(",") if name]
    for name in variable_names(env["NGINXLOG_FORMAT"]):
        if not is_known(name, frozenset(extra)):
            extra.append(name)
    return extra


def exporter_command(argv: Sequence[str]) -> int:
    """Run as the exporter's command line asks; 2 for a bad command line, and with
    ``-verify-config`` 0 for a valid configuration and 1 for an invalid one."""
    from sidecars.runtime.lifecycle import run_helper

    from .helper import NginxLog

    try:
        flags = parse_flags(argv)
        env = environment(flags, os.environ)
    except FlagError as exc:
        print(f"sidecars nginxlog: {exc}", file=sys.stderr)
        return 2
    if flags.values.get("version") == "true":
        from sidecars import __version__

        print(f"sidecars nginxlog {__version__} (prometheus-nginxlog-exporter command line)")
        return 0
    if flags.values.get("verify-config") == "true":
        try:
            NginxLog.settings_class.from_env(env)
        except ConfigError as exc:
            print(f"sidecars nginxlog: {exc.render()}", file=sys.stderr)
            return 1
        print("Configuration is valid")
        return 0
    return run_helper(NginxLog, env)


class ExporterCommands(Mapping[str, Command]):
    """The helper's commands, plus every exporter flag as a first word (``-config-file
    x.yml``), which runs the whole command line through :func:`exporter_command`."""

    def __init__(self, commands: dict[str, Command]) -> None:
        self.commands = commands

    def __getitem__(self, word: str) -> Command:
        if word in self.commands:
            return self.commands[word]
        if is_flag(word):
            return _with_first(word, exporter_command)
        raise KeyError(word)

    def __iter__(self) -> Iterator[str]:
        yield from self.commands
        yield "-config-file FILE | -format ... FILE... (prometheus-nginxlog-exporter's flags)"

    def __len__(self) -> int:
        return len(self.commands) + 1


def _with_first(word: str, command: Callable[[Sequence[str]], int]) -> Command:
    return lambda rest: command([word, *rest])

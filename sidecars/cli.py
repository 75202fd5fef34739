"""The ``sidecars`` command: list helpers, run one, print its settings, probe a URL."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .runtime.helper import Helper

__all__ = ["main", "main_for"]

USAGE = """\
usage: sidecars <helper> [--help | <command> ...]   run a helper, configured by environment
                                                    (<helper>: a name, or package.module:Class)
       sidecars list                                 the helpers installed
       sidecars probe URL [--timeout 3s]              exit 0 if URL answers HTTP 2xx
       sidecars docs [--check | --write] README.md    the README's contents, settings and metrics
       sidecars --version
"""


def main(argv: Sequence[str] | None = None) -> None:
    sys.exit(dispatch(sys.argv[1:] if argv is None else list(argv)))


def main_for(helper: type[Helper[Any]], argv: Sequence[str] | None = None) -> None:
    """Entry of ``python -m sidecars.<helper>``."""
    sys.exit(_helper_command(helper, sys.argv[1:] if argv is None else list(argv)))


def dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE + "\nhelpers:\n" + _listing())
        return 0 if argv else 2
    word, rest = argv[0], argv[1:]
    if word == "--version":
        print(__version__)
        return 0
    if word == "list":
        print(_listing())
        return 0
    if word == "probe":
        return _probe(rest)
    if word == "docs":
        return _docs(rest)
    from .runtime import discovery

    try:
        helper = discovery.load(word)
    except LookupError:
        names = ", ".join(discovery.available()) or "none"
        print(f"sidecars: no helper named {word!r}; installed: {names}", file=sys.stderr)
        return 2
    return _helper_command(helper, rest)


def _helper_command(helper: type[Helper[Any]], argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(helper_help(helper))
        return 0
    if argv:
        command = helper.commands.get(argv[0])
        if command is None:
            words = ", ".join(helper.commands) or "none"
            print(
                f"sidecars {helper.name}: no command {argv[0]!r} (commands: {words}); "
                "helpers are configured by environment variables, see --help",
                file=sys.stderr,
            )
            return 2
        return command(argv[1:])
    from .runtime.lifecycle import run_helper

    return run_helper(helper)


def helper_help(helper: type[Helper[Any]]) -> str:
    from .runtime.docs import text_table

    lines = [f"sidecars {helper.name}: {helper.description()}", ""]
    if helper.commands:
        lines += [f"commands: {', '.join(helper.commands)}", ""]
    lines += ["environment variables:", text_table(helper.settings_class)]
    return "\n".join(lines)


def _listing() -> str:
    from .runtime import discovery

    rows = []
    for name in discovery.available():
        try:
            description = discovery.load(name).description()
        except Exception as exc:  # a broken third-party package must not hide the others
            description = f"(cannot load: {exc})"
        rows.append(f"  {name:<12} {description}")
    return "\n".join(rows)


def _probe(argv: list[str]) -> int:
    from .runtime.probe import probe
    from .runtime.types import Duration

    timeout = 3.0
    if len(argv) == 3 and argv[1] == "--timeout":
        try:
            timeout = Duration.parse(argv[2])
        except ValueError:
            print(f"sidecars probe: --timeout expects {Duration.expected}", file=sys.stderr)
            return 2
    elif len(argv) != 1:
        print("usage: sidecars probe URL [--timeout 3s]", file=sys.stderr)
        return 2
    return probe(argv[0], timeout)


def _docs(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("--check", "--write"):
        print("usage: sidecars docs (--check | --write) README.md", file=sys.stderr)
        return 2
    from .runtime import discovery
    from .runtime.docs import update_readme

    path = Path(argv[1])
    current = path.read_text(encoding="utf-8")
    loaders = {name: ep.load for name, ep in discovery.available().items()}
    wanted = update_readme(current, loaders)
    if argv[0] == "--write":
        path.write_text(wanted, encoding="utf-8")
        return 0
    if wanted != current:
        print(f"{path}: generated parts are out of date; run: sidecars docs --write {path}")
        return 1
    return 0

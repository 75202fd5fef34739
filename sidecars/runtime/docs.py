"""Render a settings class as the table ``--help`` prints and the README shows."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from .settings import SettingInfo, Settings, type_name
from .toc import update_toc

__all__ = ["markdown_table", "text_table", "update_readme"]


def _rows(settings: type[Settings]) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, field, kind in settings.variables():
        info: SettingInfo = field.metadata["sidecars"]
        if info.default is dataclasses.MISSING:
            default = "required"
        elif info.default is None or info.default == "":
            default = "(empty)"
        elif isinstance(info.default, bool):
            default = str(info.default).lower()
        else:
            default = str(info.default)
        rows.append((name, type_name(kind), default, info.help))
    return rows


def markdown_table(settings: type[Settings]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for name, kind, default, help_text in _rows(settings):
        lines.append(f"| `{name}` | {cell(kind)} | `{cell(default)}` | {cell(help_text)} |")
    return "\n".join(lines)


def text_table(settings: type[Settings]) -> str:
    lines = []
    for name, kind, default, help_text in _rows(settings):
        lines.append(f"  {name}  ({kind}, default: {default})\n      {help_text}")
    return "\n".join(lines)


_BLOCK = re.compile(
    r"(<!-- BEGIN settings (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END settings (?P=name) -->)",
    re.DOTALL,
)


def update_readme(text: str, helpers: Mapping[str, Callable[[], type[Any]]]) -> str:
    """Replace every ``<!-- BEGIN settings NAME -->`` block with NAME's current table."""
    text = update_toc(text)

    def render(match: re.Match[str]) -> str:
        loader = helpers.get(match["name"])
        if loader is None:
            return match[0]
        return match[1] + markdown_table(loader().settings_class) + "\n" + match[4]

    return _BLOCK.sub(render, text)

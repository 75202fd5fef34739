"""Render a settings class as the table ``--help`` prints and the README shows, and a
helper's metric families as the README lists them."""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .settings import SettingInfo, Settings, type_name
from .toc import update_toc

if TYPE_CHECKING:
    from .families import Metric

__all__ = ["markdown_table", "metrics_table", "text_table", "update_metrics", "update_readme"]


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
    """Refresh every generated part: the contents, and each ``<!-- BEGIN settings NAME -->``
    and ``<!-- BEGIN metrics NAME -->`` block from NAME's settings class and collector."""
    text = update_toc(text)

    def render(match: re.Match[str]) -> str:
        loader = helpers.get(match["name"])
        if loader is None:
            return match[0]
        return match[1] + markdown_table(loader().settings_class) + "\n" + match[4]

    return update_metrics(_BLOCK.sub(render, text), helpers)


_METRICS_BLOCK = re.compile(
    r"(<!-- BEGIN metrics (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END metrics (?P=name) -->)",
    re.DOTALL,
)


def metrics_table(families: Iterable[Metric]) -> str:
    """One row a family, under the name a scrape shows (counters end in ``_total``)."""
    from .metrics import label_names

    lines = ["| Metric | Type | Labels | Description |", "| --- | --- | --- | --- |"]
    for family in families:
        name = f"{family.name}_total" if family.type == "counter" else family.name
        labels = ", ".join(f"`{label}`" for label in label_names(family))
        help_text = family.documentation.replace("|", "\\|")
        kind = "untyped" if family.type == "unknown" else family.type  # as a scrape says
        lines.append(f"| `{name}` | {kind} | {labels} | {help_text} |")
    return "\n".join(lines)


def update_metrics(text: str, helpers: Mapping[str, Callable[[], type[Any]]]) -> str:
    """Replace every ``<!-- BEGIN metrics NAME -->`` block with the families NAME's
    ``metrics`` module (beside its helper class) says through ``described()``; the block
    named ``runtime`` gets what every helper shows besides its own."""

    def render(match: re.Match[str]) -> str:
        if match["name"] == "runtime":
            package = __package__
        else:
            loader = helpers.get(match["name"])
            if loader is None:
                return match[0]
            package = loader().__module__.rpartition(".")[0]
        described = importlib.import_module(f"{package}.metrics").described
        return match[1] + metrics_table(described()) + "\n" + match[4]

    return _METRICS_BLOCK.sub(render, text)

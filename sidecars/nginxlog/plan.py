"""What the settings ask of a line: the fields to capture and the labels to export."""

from __future__ import annotations

from .config import InputSpec
from .logformat import LogFormat
from .parser import JsonLinesParser, LineParser, Parser
from .settings import METRIC_FIELDS, NginxLogSettings
from .store import LABEL_FIELDS

__all__ = ["build_parser", "label_names", "wanted_fields"]


def wanted_fields(settings: NginxLogSettings) -> set[str]:
    wanted = {"method", "status"} | {METRIC_FIELDS[name] for name in settings.metrics}
    for label in settings.labels:
        wanted.add({"route": "path", "status_class": "status"}.get(label, label))
    return wanted


def build_parser(log_format: LogFormat, wanted: set[str]) -> Parser:
    if log_format.is_json_lines:
        return JsonLinesParser(wanted)
    return LineParser(log_format, wanted)


def label_names(settings: NginxLogSettings, inputs: list[InputSpec]) -> tuple[str, ...]:
    static = [label.name for label in settings.static_labels]
    for spec in inputs:
        static += [name for name in spec.labels if name not in static]
    chosen = [
        name for name in LABEL_FIELDS if name in ("method", "status") or name in settings.labels
    ]
    return tuple(chosen + [name for name in static if name not in chosen])

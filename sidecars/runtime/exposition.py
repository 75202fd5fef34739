"""Families to the Prometheus text format 0.0.4, the bytes ``/metrics`` answers.

Only the text format is spoken, whatever the ``Accept`` header asks, as client_golang's
handler answers by default (node_exporter, git-sync and prometheus-nginxlog-exporter all
serve it); Prometheus accepts it. The output is byte for byte what prometheus_client's
``generate_latest`` writes for the same families, which a property test holds it to.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .families import Family

__all__ = ["CONTENT_TYPE", "go_float", "text"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# What 0.0.4 calls the types that OpenMetrics added, and the suffix a counter's name gets.
_TYPE = {"info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram", "unknown": "untyped"}
_SUFFIX = {"counter": "_total", "info": "_info"}
# OpenMetrics-only samples, exposed after the family as a gauge family of their own.
_APART = ("_created", "_gcount", "_gsum")


def go_float(value: float) -> str:
    """``value`` as Prometheus clients write it: ``+Inf``, ``NaN``, and Go's exponent form
    from 1e7 up for positive numbers (``1.5e+07``), else Python's shortest repr."""
    value = float(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    shown = repr(value)
    point = shown.find(".")
    if value > 0 and point > 6:
        digits = (shown[:point] + shown[point + 1 :]).rstrip("0")
        mantissa = f"{digits[0]}.{digits[1:]}" if len(digits) > 1 else digits
        return f"{mantissa}e+{point - 1:02d}"
    return shown


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _line(sample: Any) -> str:
    labels = sample.labels
    if labels:
        pairs = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(labels.items()))
        head = f"{sample.name}{{{pairs}}}"
    else:
        head = sample.name
    if sample.timestamp is None:
        return f"{head} {go_float(sample.value)}\n"
    return f"{head} {go_float(sample.value)} {int(float(sample.timestamp) * 1000):d}\n"


def _family(family: Family, out: list[str]) -> None:
    name = family.name + _SUFFIX.get(family.type, "")
    documentation = _help(family.documentation)
    kind = _TYPE.get(family.type, family.type)
    out.append(f"# HELP {name} {documentation}\n# TYPE {name} {kind}\n")
    apart: dict[str, list[str]] = {}
    for sample in family.samples:
        suffix = sample.name[len(family.name) :]
        if suffix in _APART and sample.name.startswith(family.name):
            apart.setdefault(suffix, []).append(_line(sample))
        else:
            out.append(_line(sample))
    for suffix, lines in sorted(apart.items()):
        name = family.name + suffix
        out.append(f"# HELP {name} {documentation}\n# TYPE {name} gauge\n")
        out.extend(lines)


def text(families: Iterable[Family]) -> bytes:
    """The exposition of ``families``, in the order given."""
    out: list[str] = []
    for family in families:
        _family(family, out)
    return "".join(out).encode()

"""Small async helpers that run next to an application: the public API for writing one.

Everything a custom helper needs is importable from here; modules under
``sidecars.runtime`` are implementation and may change. Names load on first use, so that
``sidecars probe`` (an image health check run every few seconds) imports no more than it needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .runtime.backoff import Backoff
    from .runtime.errors import ConfigError, HelperError, Problem
    from .runtime.families import (
        Collector,
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
        SummaryMetricFamily,
    )
    from .runtime.helper import Command, HealthCheck, Helper, HelperContext
    from .runtime.histogram import Histogram, LabelledHistograms
    from .runtime.lifecycle import run_helper
    from .runtime.settings import Settings, setting
    from .runtime.types import URL, ByteSize, Duration, HostPort, Secret
    from .runtime.web import Handler, Headers, Request, Response

_HOMES = {
    "Backoff": "backoff",
    "ConfigError": "errors",
    "HelperError": "errors",
    "Problem": "errors",
    "Collector": "families",
    "CounterMetricFamily": "families",
    "GaugeMetricFamily": "families",
    "HistogramMetricFamily": "families",
    "Metric": "families",
    "SummaryMetricFamily": "families",
    "Command": "helper",
    "HealthCheck": "helper",
    "Helper": "helper",
    "HelperContext": "helper",
    "Histogram": "histogram",
    "LabelledHistograms": "histogram",
    "run_helper": "lifecycle",
    "Settings": "settings",
    "setting": "settings",
    "URL": "types",
    "ByteSize": "types",
    "Duration": "types",
    "HostPort": "types",
    "Secret": "types",
    "Handler": "web",
    "Headers": "web",
    "Request": "web",
    "Response": "web",
}

__all__ = [
    "URL",
    "Backoff",
    "ByteSize",
    "Collector",
    "Command",
    "ConfigError",
    "CounterMetricFamily",
    "Duration",
    "GaugeMetricFamily",
    "Handler",
    "Headers",
    "HealthCheck",
    "Helper",
    "HelperContext",
    "HelperError",
    "Histogram",
    "HistogramMetricFamily",
    "HostPort",
    "LabelledHistograms",
    "Metric",
    "Problem",
    "Request",
    "Response",
    "Secret",
    "Settings",
    "SummaryMetricFamily",
    "__version__",
    "run_helper",
    "setting",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sidecars' has no attribute {name!r}")
    value = getattr(import_module(f".runtime.{home}", __name__), name)
    globals()[name] = value
    return value

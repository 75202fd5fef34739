"""The metrics every helper exports, whatever it does."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .._version import __version__

__all__ = ["new_registry"]


class RuntimeCollector(Collector):
    """``sidecars_build_info`` and ``sidecars_ready``, labelled by helper."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def collect(self) -> Iterable[GaugeMetricFamily]:
        info = GaugeMetricFamily(
            "sidecars_build_info",
            "Always 1; labels say which helper and version run.",
            labels=["helper", "version", "python"],
        )
        info.add_metric([self.ctx.name, __version__, platform.python_version()], 1)
        ready = GaugeMetricFamily(
            "sidecars_ready", "1 while /readyz answers 200.", labels=["helper"]
        )
        ready.add_metric([self.ctx.name], 1 if self.ctx.is_ready else 0)
        return [info, ready]

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return self.collect()


def new_registry() -> CollectorRegistry:
    """A registry of the helper's own, with process metrics in it on purpose."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    return registry

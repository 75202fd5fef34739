"""The metrics every helper exports, whatever it does, and the registry that serves them.

Each collector runs on its own at scrape time, the way node_exporter wraps its collectors:
one that raises is logged and left out, the rest of ``/metrics`` is served, and
``sidecars_scrape_collector_success{collector}`` says which one failed.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .._version import __version__
from .families import Collector, Family, GaugeMetricFamily, Metric
from .process import ProcessCollector

__all__ = [
    "HelperRegistry",
    "RuntimeCollector",
    "described",
    "label_names",
    "new_registry",
]

log = logging.getLogger("sidecars.runtime")


class HelperRegistry:
    """The collectors a helper serves, isolated from one another at scrape time. A
    prometheus_client collector or metric registers here too (its ``registry=`` argument)."""

    def __init__(self) -> None:
        self.names: dict[Collector, str] = {}
        self.families: dict[Collector, set[str]] = {}
        self.failed: set[str] = set()

    def register(self, collector: Collector, name: str | None = None) -> None:
        """Add ``collector``; ``name`` labels its scrape metrics (default: its class name
        without ``Collector``, lower-cased). A family name that another collector's
        ``describe()`` already gave is refused here, not found by Prometheus later."""
        if collector in self.names:
            raise ValueError(f"collector already registered: {collector!r}")
        describe = getattr(collector, "describe", None)
        families = {family.name for family in describe()} if callable(describe) else set()
        taken_families = {n for names in self.families.values() for n in names}
        taken_families.update(family.name for family in _scrape_families())
        if clash := sorted(families & taken_families):
            raise ValueError(f"metric families already registered: {', '.join(clash)}")
        self.families[collector] = families
        wanted = name or type(collector).__name__.removesuffix("Collector").lower() or "collector"
        taken = set(self.names.values())
        label, number = wanted, 1
        while label in taken:
            number += 1
            label = f"{wanted}_{number}"
        self.names[collector] = label

    def unregister(self, collector: Collector) -> None:
        self.names.pop(collector, None)
        self.families.pop(collector, None)

    def collect(self) -> Iterator[Family]:
        success, duration = _scrape_families()
        for collector in list(self.names):
            name = self.names.get(collector, type(collector).__name__)
            started = time.perf_counter()
            try:
                families = list(collector.collect())
            except Exception as exc:
                families = []
                ok = False
                self._log_failure(name, exc)
            else:
                ok = True
                self.failed.discard(name)
            duration.add_metric([name], time.perf_counter() - started)
            success.add_metric([name], 1 if ok else 0)
            yield from families
        yield success
        yield duration

    def _log_failure(self, name: str, exc: Exception) -> None:
        """The traceback once, then one line a scrape while the collector keeps failing."""
        extra = {"collector": name, "error": str(exc) or type(exc).__name__}
        if name in self.failed:
            log.error("collector failed, left out of the scrape", extra=extra)
        else:
            self.failed.add(name)
            log.error("collector failed, left out of the scrape", extra=extra, exc_info=exc)


def _scrape_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    success = GaugeMetricFamily(
        "sidecars_scrape_collector_success",
        "1 if the collector's last scrape succeeded, 0 if it raised and was left out.",
        labels=["collector"],
    )
    duration = GaugeMetricFamily(
        "sidecars_scrape_collector_duration_seconds",
        "How long the collector's last scrape took.",
        labels=["collector"],
    )
    return success, duration


def described() -> list[Metric]:
    """What every helper's ``/metrics`` has besides its own families (the README lists
    them): build and readiness, each collector's scrape, and the process."""
    families: list[Metric] = [*RuntimeCollector(None).describe(), *_scrape_families()]
    return families + ProcessCollector().describe()


class RuntimeCollector:
    """``sidecars_build_info`` and ``sidecars_ready``, labelled by helper."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def collect(self) -> Iterable[GaugeMetricFamily]:
        info, ready = self.describe()
        python = "{}.{}.{}".format(*sys.version_info)
        info.add_metric([self.ctx.name, __version__, python], 1)
        serving = self.ctx.is_ready and not self.ctx.draining
        ready.add_metric([self.ctx.name], 1 if serving else 0)
        return [info, ready]

    def describe(self) -> list[GaugeMetricFamily]:
        info = GaugeMetricFamily(
            "sidecars_build_info",
            "Always 1; labels say which helper and version run.",
            labels=["helper", "version", "python"],
        )
        ready = GaugeMetricFamily(
            "sidecars_ready", "1 while /readyz answers 200.", labels=["helper"]
        )
        return [info, ready]


def label_names(family: Metric) -> tuple[str, ...]:
    """The label names a family was declared with, samples or none (the ``*MetricFamily``
    classes keep them as given)."""
    return tuple(getattr(family, "_labelnames", ()))


def new_registry() -> HelperRegistry:
    """A registry of the helper's own, with process metrics in it on purpose."""
    registry = HelperRegistry()
    registry.register(ProcessCollector())
    return registry

"""The ``/metrics`` contract of waitfor: per-target state, counted in plain fields."""

from __future__ import annotations

from collections.abc import Iterable

from ..runtime.families import Collector, CounterMetricFamily, GaugeMetricFamily, Metric, shapes
from .stats import TargetStats


class WaitForCollector(Collector):
    def __init__(self, stats: dict[str, TargetStats]) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "waitfor_target_up", "1 once the target answered.", labels=["target"]
        )
        attempts = CounterMetricFamily(
            "waitfor_target_attempts", "Attempts made to reach the target.", labels=["target"]
        )
        failures = CounterMetricFamily(
            "waitfor_target_failures", "Attempts that failed.", labels=["target"]
        )
        waited = GaugeMetricFamily(
            "waitfor_target_wait_seconds",
            "Time from start until the target answered, or until now while it does not.",
            labels=["target"],
        )
        for target, stats in self.stats.items():
            up.add_metric([target], int(stats.up))
            attempts.add_metric([target], stats.attempts)
            failures.add_metric([target], stats.failures)
            waited.add_metric([target], stats.wait_seconds)
        return [up, attempts, failures, waited]

    def describe(self) -> Iterable[Metric]:
        """The families over empty stats: the live ones stay untouched."""
        return shapes(WaitForCollector({}).collect())


def described() -> list[Metric]:
    """The families this helper exposes, for the README's generated list."""
    return list(WaitForCollector({}).describe())

"""The ``/metrics`` contract of the injector, counted in plain fields and built at scrape."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..runtime.families import (
    Collector,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    shapes,
)
from ..runtime.histogram import Histogram

__all__ = ["OUTCOMES", "InjectorCollector", "InjectorStats"]

OUTCOMES = (
    "injected",  # a patch was returned
    "unchanged",  # opted in, nothing to add (names taken, no helper named)
    "skipped",  # not opted in, not a CREATE, not a Pod
    "denied",  # strict mode and a mistake: the Pod is refused, the message names it
    "already_injected",  # the status annotation is there (reinvocation, re-creation)
    "not_understood",  # a Pod we cannot read: allowed unchanged with a warning
    "error",  # a bug on our side: allowed unchanged with a warning, logged
    "rejected",  # not an AdmissionReview, or too large: HTTP 4xx
)
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass(slots=True)
class InjectorStats:
    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    injections: dict[str, int] = field(default_factory=dict)
    warnings: int = 0
    latency: Histogram = field(default_factory=lambda: Histogram(BUCKETS))
    cert_expiry: float = 0.0
    reloads: dict[tuple[str, str], int] = field(default_factory=dict)

    def observe(self, seconds: float) -> None:
        self.latency.observe(seconds)

    def reloaded(self, what: str, ok: bool) -> None:
        key = (what, "success" if ok else "failure")
        self.reloads[key] = self.reloads.get(key, 0) + 1


class InjectorCollector(Collector):
    def __init__(self, stats: InjectorStats) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Metric]:
        stats = self.stats
        requests = CounterMetricFamily(
            "injector_admission_requests",
            "AdmissionReview requests answered, by outcome.",
            labels=["outcome"],
        )
        for outcome, count in stats.requests.items():
            requests.add_metric([outcome], count)
        injections = CounterMetricFamily(
            "injector_injections", "Helper containers added to Pods.", labels=["helper"]
        )
        for helper, count in sorted(stats.injections.items()):
            injections.add_metric([helper], count)
        warnings = CounterMetricFamily(
            "injector_admission_warnings", "Warnings returned to the API server's clients."
        )
        warnings.add_metric([], stats.warnings)
        latency = stats.latency.family(
            "injector_admission_duration_seconds",
            "Time from receiving a request to having its answer ready.",
        )
        expiry = GaugeMetricFamily(
            "injector_tls_certificate_expiry_timestamp_seconds",
            "Unix time at which the serving certificate in use expires.",
        )
        expiry.add_metric([], stats.cert_expiry)
        reloads = CounterMetricFamily(
            "injector_reloads",
            "Reloads of the TLS files and the templates file, by result.",
            labels=["file", "result"],
        )
        for (what, result), count in sorted(stats.reloads.items()):
            reloads.add_metric([what, result], count)
        return [requests, injections, warnings, latency, expiry, reloads]

    def describe(self) -> Iterable[Metric]:
        """The families over empty stats: the live ones stay untouched."""
        return shapes(InjectorCollector(InjectorStats()).collect())


def described() -> list[Metric]:
    """The families this helper exposes, for the README's generated list."""
    return list(InjectorCollector(InjectorStats()).describe())

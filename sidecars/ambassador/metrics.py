"""The ``/metrics`` contract of the ambassador: every name is spelled here and only here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..runtime.families import (
    Collector,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    shapes,
)
from .build import data_path, poller_kind

if TYPE_CHECKING:
    from .listener import Listener

__all__ = ["AmbassadorCollector"]


class AmbassadorCollector(Collector):
    def __init__(self, listeners: Sequence[Listener]) -> None:
        self.listeners = listeners
        self.build = (data_path(), poller_kind())  # fixed for the life of the process

    def collect(self) -> Iterable[Metric]:
        return self._families(self.listeners)

    def describe(self) -> Iterable[Metric]:
        """The families over no listener: every one is there, with no sample."""
        return shapes(self._families(()))

    def _families(self, listeners: Sequence[Listener]) -> list[Metric]:
        ln = ["listener"]
        build = GaugeMetricFamily(
            "ambassador_build_info",
            "1, labelled with the data path this install runs: compiled, interpreted or "
            "partial; and tcp mode's poller: c or python.",
            labels=["data_path", "poller"],
        )
        build.add_metric(list(self.build), 1)
        up = ["upstream", "endpoint"]
        conns = CounterMetricFamily(
            "ambassador_listener_connections", "Client connections accepted.", labels=ln
        )
        refused = CounterMetricFamily(
            "ambassador_listener_connections_refused",
            "Client connections closed at AMBASSADOR_MAX_CONNECTIONS (tcp mode instead leaves "
            "them in the backlog).",
            labels=ln,
        )
        active = GaugeMetricFamily(
            "ambassador_listener_connections_active", "Client connections open.", labels=ln
        )
        received = CounterMetricFamily(
            "ambassador_listener_received_bytes", "Bytes received from clients.", labels=ln
        )
        sent = CounterMetricFamily(
            "ambassador_listener_sent_bytes", "Bytes sent to clients.", labels=ln
        )
        failures = CounterMetricFamily(
            "ambassador_listener_upstream_failures",
            "Connections or requests no upstream endpoint took.",
            labels=ln,
        )
        timeouts = CounterMetricFamily(
            "ambassador_listener_timeouts",
            "Connections or requests ended by a limit (idle, age, header, request).",
            labels=["listener", "kind"],
        )
        requests = CounterMetricFamily(
            "ambassador_http_requests",
            "HTTP requests answered, by status class.",
            labels=["listener", "code"],
        )
        latency = HistogramMetricFamily(
            "ambassador_http_request_duration_seconds",
            "Time from a request's head to its response's end.",
            labels=ln,
        )
        ep_conns = CounterMetricFamily(
            "ambassador_upstream_connections", "Connections made to the endpoint.", labels=up
        )
        ep_active = GaugeMetricFamily(
            "ambassador_upstream_connections_active",
            "Connections open to the endpoint (tcp mode) or requests in flight on it (http mode).",
            labels=up,
        )
        ep_sent = CounterMetricFamily(
            "ambassador_upstream_sent_bytes",
            "Bytes sent to the endpoint over connections that ended (tcp mode).",
            labels=up,
        )
        ep_received = CounterMetricFamily(
            "ambassador_upstream_received_bytes",
            "Bytes received from the endpoint over connections that ended (tcp mode).",
            labels=up,
        )
        ep_healthy = GaugeMetricFamily(
            "ambassador_upstream_endpoint_healthy",
            "1 unless the endpoint is ejected or failed its active check.",
            labels=up,
        )
        ep_errors = CounterMetricFamily(
            "ambassador_upstream_connect_errors", "Connects refused or failed.", labels=up
        )
        ep_timeouts = CounterMetricFamily(
            "ambassador_upstream_connect_timeouts", "Connects that timed out.", labels=up
        )
        ep_ejections = CounterMetricFamily(
            "ambassador_upstream_ejections", "Times the endpoint was ejected.", labels=up
        )
        retries = CounterMetricFamily(
            "ambassador_upstream_retries",
            "Requests retried on another connection.",
            labels=["upstream"],
        )
        for listener in listeners:
            name = [listener.name]
            live_in = sum(c.bytes_in for c in listener.connections)
            live_out = sum(c.bytes_out for c in listener.connections)
            stats = listener.stats
            conns.add_metric(name, stats.connections)
            refused.add_metric(name, stats.refused)
            active.add_metric(name, len(listener.connections))
            received.add_metric(name, stats.bytes_in + live_in)
            sent.add_metric(name, stats.bytes_out + live_out)
            failures.add_metric(name, stats.connect_failures)
            for kind, count in sorted(stats.timeouts.items()):
                timeouts.add_metric([listener.name, kind], count)
            for code, count in sorted(stats.requests.items()):
                requests.add_metric([listener.name, code], count)
            if listener.settings.mode == "http":
                latency.add_metric(name, stats.latency.buckets(), stats.latency.sum)
            now = listener.loop.time()
            for cluster in listener.clusters:
                retries.add_metric([cluster.name], cluster.retries)
                for e in cluster.endpoints:
                    labels = [cluster.name, e.label]
                    ep_conns.add_metric(labels, e.total)
                    ep_active.add_metric(labels, e.active)
                    ep_sent.add_metric(labels, e.bytes_out)
                    ep_received.add_metric(labels, e.bytes_in)
                    ep_healthy.add_metric(labels, int(e.healthy and e.ejected_until <= now))
                    ep_errors.add_metric(labels, e.connect_errors)
                    ep_timeouts.add_metric(labels, e.timeouts)
                    ep_ejections.add_metric(labels, e.ejections)
        return [
            build, conns, refused, active, received, sent, failures, timeouts, requests, latency,
            ep_conns, ep_active, ep_sent, ep_received, ep_healthy, ep_errors, ep_timeouts,
            ep_ejections, retries,
        ]  # fmt: skip


def described() -> list[Metric]:
    """The families this helper exposes, for the README's generated list."""
    return list(AmbassadorCollector(()).describe())

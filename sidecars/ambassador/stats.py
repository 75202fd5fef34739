"""A listener's per-request counters, kept apart from ``metrics`` so they compile with the
data path that bumps them; ``metrics`` turns them into samples at scrape time."""

from __future__ import annotations

from typing import Final

from ..runtime.histogram import Histogram

__all__ = ["LATENCY_BUCKETS", "ListenerStats"]

_CLASSES: Final = ("other", "1xx", "2xx", "3xx", "4xx", "5xx")
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class ListenerStats:
    """Counters of one listener; open connections add their own bytes at scrape time."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "connect_failures",
        "connections",
        "latency",
        "refused",
        "requests",
        "timeouts",
    )

    def __init__(self) -> None:
        self.connections = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.connect_failures = 0
        self.refused = 0  # connections over AMBASSADOR_MAX_CONNECTIONS
        self.timeouts: dict[str, int] = {}
        self.requests: dict[str, int] = {}
        self.latency = Histogram(LATENCY_BUCKETS)

    def observe(self, status: int, seconds: float) -> None:
        key = _CLASSES[status // 100] if 0 < status < 600 else "other"
        self.requests[key] = self.requests.get(key, 0) + 1
        self.latency.observe(seconds)

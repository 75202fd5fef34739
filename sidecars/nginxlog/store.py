"""Every label set's numbers, shared by all inputs, with a cap on how many label sets exist."""

from __future__ import annotations

from dataclasses import dataclass, field

from .summary import Window

__all__ = ["HIST_FIELDS", "LABEL_FIELDS", "OVERFLOW", "SUM_FIELDS", "Series", "Store"]

LABEL_FIELDS = ("method", "status", "status_class", "host", "upstream", "route")
"""Label names a line can feed, in exposition order (``status_class`` and ``route`` derive
from ``status`` and the path)."""
SUM_FIELDS = ("bytes", "request_length")
HIST_FIELDS = ("request_time", "upstream_time", "upstream_connect_time")
OVERFLOW = "overflow"


@dataclass(slots=True)
class Series:
    """One label set's numbers: requests, byte sums, and one histogram per time field
    (bucket counts, then ``+Inf``, then sum, then count); with summaries on, one quantile
    window per time field too."""

    requests: int = 0
    sums: list[int] = field(default_factory=lambda: [0, 0])
    hists: list[list[float]] = field(default_factory=list)
    windows: list[Window] | None = None
    seen: float = 0.0


class Store:
    """Every series of the helper, keyed by label values; shared by all inputs."""

    def __init__(
        self,
        labels: tuple[str, ...],
        buckets: tuple[float, ...],
        max_series: int,
        summaries: bool = False,
    ) -> None:
        self.labels = labels
        self.buckets = buckets
        self.max_series = max_series
        self.summaries = summaries
        self.series: dict[tuple[str, ...], Series] = {}
        self.parse_errors = 0
        self.folded = 0
        self.expired = 0
        self.generation = 0

    def get(self, key: tuple[str, ...], n: int, overflow: tuple[str, ...]) -> Series:
        series = self.series.get(key)
        if series is None:
            if len(self.series) >= self.max_series and key != overflow:
                self.folded += n
                return self.get(overflow, 0, overflow)
            width = len(self.buckets) + 3
            series = Series(hists=[[0.0] * width for _ in HIST_FIELDS])
            if self.summaries:
                series.windows = [Window() for _ in HIST_FIELDS]
            self.series[key] = series
        return series

    def expire(self, older_than: float) -> int:
        """Forget label sets not seen since ``older_than`` (monotonic seconds)."""
        stale = [key for key, series in self.series.items() if series.seen < older_than]
        for key in stale:
            del self.series[key]
        if stale:
            self.generation += 1
        self.expired += len(stale)
        return len(stale)

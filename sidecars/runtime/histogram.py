"""A histogram kept in plain Python fields, turned into a metric family at scrape time.

``prometheus_client.Histogram`` takes a lock and walks its buckets through value objects on
every ``observe()``; a helper runs on one event loop, so it needs neither. This one is a list
of counts and a sum: ``observe()`` is a bisect and two additions.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

from .exposition import go_float
from .families import HistogramMetricFamily

__all__ = ["DEFAULT_BUCKETS", "Histogram", "LabelledHistograms"]

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""Seconds, the same bounds as ``prometheus_client``'s default."""


class Histogram:
    """Counts of observations at or below each bound (``le``), plus their sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float] = DEFAULT_BUCKETS) -> None:
        bounds = tuple(float(b) for b in bounds if b != math.inf)
        if not bounds or list(bounds) != sorted(set(bounds)) or any(map(math.isnan, bounds)):
            raise ValueError(f"bucket bounds must be distinct, ascending numbers: {bounds}")
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative ``(le, count)`` pairs ending with ``+Inf``, as exposition wants them."""
        pairs, total = [], 0
        labels = (*map(go_float, self.bounds), "+Inf")
        for bound, count in zip(labels, self.counts, strict=True):
            total += count
            pairs.append((bound, float(total)))
        return pairs

    def family(self, name: str, documentation: str, unit: str = "") -> HistogramMetricFamily:
        """This histogram alone as a family (no labels)."""
        family = HistogramMetricFamily(name, documentation, unit=unit)
        family.add_metric([], self.buckets(), self.sum)
        return family


class LabelledHistograms:
    """One ``Histogram`` per label values, all with the same bounds, made on first use."""

    __slots__ = ("bounds", "by_labels", "labelnames")

    def __init__(self, labelnames: Sequence[str], bounds: Sequence[float] = DEFAULT_BUCKETS):
        self.labelnames = tuple(labelnames)
        self.bounds = Histogram(bounds).bounds
        self.by_labels: dict[tuple[str, ...], Histogram] = {}

    def labels(self, *values: str) -> Histogram:
        histogram = self.by_labels.get(values)
        if histogram is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"expected values for {self.labelnames}, got {values}")
            histogram = self.by_labels[values] = Histogram(self.bounds)
        return histogram

    def family(self, name: str, documentation: str, unit: str = "") -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation, labels=self.labelnames, unit=unit)
        for values, histogram in self.by_labels.items():
            family.add_metric(list(values), histogram.buckets(), histogram.sum)
        return family

    def items(self) -> Iterable[tuple[tuple[str, ...], Histogram]]:
        return self.by_labels.items()

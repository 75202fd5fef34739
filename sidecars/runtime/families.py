"""Metric families a collector yields at scrape time, with prometheus_client's names and
calls, without importing prometheus_client.

Importing ``prometheus_client`` loads its HTTP servers and push gateway client, and with
them ``http.server``, ``urllib.request`` and ``email``: 4.8 MiB in every Pod for a text
page. These classes take the same arguments as ``prometheus_client.core``'s, so a
collector written for either is served by the runtime, and prometheus_client's own
``generate_latest`` accepts these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

__all__ = [
    "Collector",
    "CounterMetricFamily",
    "Family",
    "GaugeMetricFamily",
    "HistogramMetricFamily",
    "Metric",
    "Sample",
    "SummaryMetricFamily",
    "UnknownMetricFamily",
    "shapes",
]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_TYPES = frozenset(
    ("counter", "gauge", "histogram", "summary", "unknown", "info", "stateset", "gaugehistogram")
)


class Sample(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None = None
    exemplar: Any = None


class Family(Protocol):
    """What the exposition reads of a family: ours, or prometheus_client's ``Metric``."""

    name: str
    documentation: str
    type: str
    unit: str

    @property
    def samples(self) -> Sequence[Any]: ...


class Collector(Protocol):
    """Anything with ``collect()``: ours, or a prometheus_client collector or metric."""

    def collect(self) -> Iterable[Any]: ...


class Metric:
    """A family of samples sharing a name, help and type."""

    def __init__(self, name: str, documentation: str, typ: str, unit: str = "") -> None:
        if unit and not name.endswith("_" + unit):
            name += "_" + unit
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid metric name: {name!r}")
        if typ == "untyped":
            typ = "unknown"
        if typ not in _TYPES:
            raise ValueError(f"invalid metric type: {typ!r}")
        self.name = name
        self.documentation = documentation
        self.type = typ
        self.unit = unit
        self.samples: list[Sample] = []
        self._labelnames: tuple[str, ...] = ()

    def add_sample(
        self, name: str, labels: dict[str, str], value: float, timestamp: float | None = None
    ) -> None:
        self.samples.append(Sample(name, labels, value, timestamp))

    def _labels(self, values: Sequence[str]) -> dict[str, str]:
        return dict(zip(self._labelnames, values, strict=False))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Metric) and (
            self.name,
            self.documentation,
            self.type,
            self.unit,
            self.samples,
        ) == (other.name, other.documentation, other.type, other.unit, other.samples)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Metric({self.name!r}, {self.documentation!r}, {self.type!r}, {self.samples!r})"


def _one_of(value: object, labels: Sequence[str] | None) -> tuple[str, ...]:
    if value is not None and labels is not None:
        raise ValueError("give a value or label names, not both")
    return tuple(labels or ())


class CounterMetricFamily(Metric):
    """A counter; its samples are named ``<name>_total`` (a ``_total`` given is dropped)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: float | None = None,
        labels: Sequence[str] | None = None,
        created: float | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name.removesuffix("_total"), documentation, "counter", unit)
        self._labelnames = _one_of(value, labels)
        if value is not None:
            self.add_metric([], value, created)

    def add_metric(
        self,
        labels: Sequence[str],
        value: float,
        created: float | None = None,
        timestamp: float | None = None,
    ) -> None:
        values = self._labels(labels)
        self.samples.append(Sample(self.name + "_total", values, value, timestamp))
        if created is not None:
            self.samples.append(Sample(self.name + "_created", values, created, timestamp))


class GaugeMetricFamily(Metric):
    kind = "gauge"

    def __init__(
        self,
        name: str,
        documentation: str,
        value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, self.kind, unit)
        self._labelnames = _one_of(value, labels)
        if value is not None:
            self.add_metric([], value)

    def add_metric(
        self, labels: Sequence[str], value: float, timestamp: float | None = None
    ) -> None:
        self.samples.append(Sample(self.name, self._labels(labels), value, timestamp))


class UnknownMetricFamily(GaugeMetricFamily):
    """Exposed as ``untyped``: what the value means is the source's to say."""

    kind = "unknown"


class SummaryMetricFamily(Metric):
    """A summary's count and sum; quantile samples are added with ``add_sample``."""

    def __init__(
        self,
        name: str,
        documentation: str,
        count_value: int | None = None,
        sum_value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, "summary", unit)
        if (count_value is None) != (sum_value is None):
            raise ValueError("count_value and sum_value must be given together")
        self._labelnames = _one_of(count_value, labels)
        if count_value is not None and sum_value is not None:
            self.add_metric([], count_value, sum_value)

    def add_metric(
        self,
        labels: Sequence[str],
        count_value: float,
        sum_value: float,
        timestamp: float | None = None,
    ) -> None:
        values = self._labels(labels)
        self.samples.append(Sample(self.name + "_count", values, count_value, timestamp))
        self.samples.append(Sample(self.name + "_sum", values, sum_value, timestamp))


class HistogramMetricFamily(Metric):
    """Cumulative ``(le, count)`` buckets ending with ``+Inf``, then ``_count`` and ``_sum``
    (left out without a sum or with negative buckets, as prometheus_client does)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[tuple[str, float]] | None = None,
        sum_value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, "histogram", unit)
        if sum_value is not None and buckets is None:
            raise ValueError("a sum needs buckets")
        self._labelnames = _one_of(buckets, labels)
        if buckets is not None:
            self.add_metric([], buckets, sum_value)

    def add_metric(
        self,
        labels: Sequence[str],
        buckets: Sequence[tuple[str, float]],
        sum_value: float | None,
        timestamp: float | None = None,
    ) -> None:
        values = self._labels(labels)
        for bound, count in buckets:
            bucket = {**values, "le": bound}
            self.samples.append(Sample(self.name + "_bucket", bucket, count, timestamp))
        if sum_value is not None and float(buckets[0][0]) >= 0:
            self.samples.append(Sample(self.name + "_count", values, buckets[-1][1], timestamp))
            self.samples.append(Sample(self.name + "_sum", values, sum_value, timestamp))


def shapes(families: Iterable[Metric]) -> list[Metric]:
    """``families`` without their samples: what a ``describe()`` yields, so that it says the
    names, types, help and label names ``collect()`` uses but no value."""
    shaped = list(families)
    for family in shaped:
        family.samples = []
    return shaped

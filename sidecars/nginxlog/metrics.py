"""The ``/metrics`` contract of nginxlog.

Request metrics carry the names and labels of prometheus-nginxlog-exporter
(``<namespace>_http_response_count_total`` and so on) so that existing dashboards and
alerts keep working; ``nginxlog_*`` metrics describe the helper itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..runtime.families import (
    Collector,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
    UnknownMetricFamily,
    shapes,
)
from .store import HIST_FIELDS, SUM_FIELDS, Series, Store
from .summary import OBJECTIVES, Window

__all__ = ["InputStats", "NginxLogCollector", "StoreView"]

_HISTOGRAMS = {
    "request_time": ("http_response_time_seconds_hist", "Time needed by NGINX to handle requests"),
    "upstream_time": (
        "http_upstream_time_seconds_hist",
        "Time needed by upstream servers to handle requests",
    ),
    "upstream_connect_time": (
        "http_upstream_connect_time_seconds_hist",
        "Time needed to connect to upstream servers",
    ),
}
_SUMS = {
    "bytes": ("http_response_size_bytes", "Total amount of transferred bytes"),
    "request_length": ("http_request_size_bytes", "Total amount of received bytes"),
}


@dataclass(slots=True)
class InputStats:
    """What one input (a file set or a syslog listener) has read."""

    lines: int = 0
    bytes: int = 0
    too_long: int = 0
    rotations: int = 0


@dataclass(frozen=True, slots=True)
class StoreView:
    """One namespace's store as the collector shows it: the metric name prefix, the
    fields that feed metrics, constant labels of its parse error counter, and the labels
    only the request counter carries (``only_counter``)."""

    store: Store
    prefix: str
    fields: frozenset[str]
    const: dict[str, str] = field(default_factory=dict)
    counter_only: frozenset[str] = frozenset()


class NginxLogCollector(Collector):
    """Builds every family at scrape time from the stores, after folding pending rows;
    namespaces that share metric names share families."""

    def __init__(
        self,
        views: list[StoreView],
        inputs: dict[str, InputStats],
        fold: Callable[[], None],
        exporter_names: bool = True,
    ) -> None:
        self.views = views
        self.inputs = inputs
        self.fold = fold
        self.exporter_names = exporter_names

    def collect(self) -> Iterable[Metric]:
        self.fold()
        return self._merged(live=True)

    def describe(self) -> Iterable[Metric]:
        """Every family the configuration can yield, read from the views alone (no fold, no
        series): time histograms and summaries too, which ``collect`` leaves out until a
        line has fed them."""
        return shapes(self._merged(live=False))

    def _merged(self, live: bool) -> list[Metric]:
        families: dict[str, Metric] = {}
        for view in self.views:
            for family in self._families(view, live):
                shared = families.get(family.name)
                if shared is None:
                    families[family.name] = family
                else:
                    shared.samples.extend(family.samples)
        return [*families.values(), *self._own(self.inputs if live else {})]

    def _families(self, view: StoreView, live: bool) -> list[Metric]:
        store, names = view.store, list(view.store.labels)
        prefix = f"{view.prefix}_" if view.prefix else ""
        count = CounterMetricFamily(
            f"{prefix}http_response_count", "Amount of processed HTTP requests", labels=names
        )
        items = list(store.series.items()) if live else []
        other_names, other_items = names, items
        if view.counter_only:
            other_names, other_items = _without(names, items, view.counter_only)
        sums: list[tuple[int, Metric]] = []
        for position, field_name in enumerate(("bytes", "request_length")):
            if field_name in view.fields:
                name, text = _SUMS[field_name]
                family: Metric = (
                    UnknownMetricFamily(f"{prefix}{name}", text, labels=other_names)
                    if self.exporter_names
                    else CounterMetricFamily(f"{prefix}{name}", text, labels=other_names)
                )
                sums.append((position, family))
        hists: list[tuple[int, HistogramMetricFamily]] = []
        for position, field_name in enumerate(HIST_FIELDS):
            if field_name in view.fields:
                name, text = _HISTOGRAMS[field_name]
                hists.append(
                    (position, HistogramMetricFamily(f"{prefix}{name}", text, labels=other_names))
                )
        summaries: list[tuple[int, Metric]] = []
        if store.summaries:
            for position, field_name in enumerate(HIST_FIELDS):
                if field_name in view.fields:
                    name, text = _HISTOGRAMS[field_name]
                    shape = SummaryMetricFamily(
                        f"{prefix}{name.removesuffix('_hist')}", text, labels=other_names
                    )
                    summaries.append((position, shape))
        now = time.monotonic()
        bounds = [_le(b) for b in store.buckets] + ["+Inf"]
        for labels, series in items:
            count.add_metric(list(labels), series.requests)
        for labels, series in other_items:
            values = list(labels)
            for position, family in sums:
                family.add_metric(values, series.sums[position])  # type: ignore[attr-defined]
            for position, histogram in hists:
                numbers = series.hists[position]
                if not numbers[-1]:
                    continue  # never observed (the variable was always "-" or absent)
                cumulative, buckets = 0.0, []
                for le, bucket in zip(bounds, numbers, strict=False):
                    cumulative += bucket
                    buckets.append((le, cumulative))
                histogram.add_metric(values, buckets, numbers[-2])
            for position, summary in summaries:
                if series.hists[position][-1]:
                    _add_summary(summary, other_names, values, series, position, now)
        errors = CounterMetricFamily(
            f"{prefix}parse_errors",
            "Total number of log file lines that could not be parsed",
            labels=list(view.const),
        )
        errors.add_metric(list(view.const.values()), store.parse_errors)
        return [
            count,
            *(family for _, family in sums),
            *(family for _, family in hists if family.samples or not live),
            *(family for _, family in summaries if family.samples or not live),
            errors,
        ]

    def _own(self, inputs: dict[str, InputStats]) -> list[Metric]:
        lines = CounterMetricFamily(
            "nginxlog_input_lines", "Log lines read, parsed or not.", labels=["input"]
        )
        read = CounterMetricFamily(
            "nginxlog_input_read_bytes", "Bytes of log read.", labels=["input"]
        )
        too_long = CounterMetricFamily(
            "nginxlog_input_too_long_lines",
            "Lines longer than NGINXLOG_MAX_LINE, skipped (and counted as parse errors).",
            labels=["input"],
        )
        rotations = CounterMetricFamily(
            "nginxlog_input_rotations",
            "Files found rotated (renamed away) or truncated (copytruncate) and reopened.",
            labels=["input"],
        )
        for name, stats in inputs.items():
            lines.add_metric([name], stats.lines)
            read.add_metric([name], stats.bytes)
            too_long.add_metric([name], stats.too_long)
            rotations.add_metric([name], stats.rotations)
        series = GaugeMetricFamily(
            "nginxlog_series", "Label sets held (each one a series of every request metric)."
        )
        series.add_metric([], sum(len(v.store.series) for v in self.views))
        folded = CounterMetricFamily(
            "nginxlog_series_overflow",
            "Lines counted under the overflow label set because NGINXLOG_MAX_SERIES was reached.",
        )
        folded.add_metric([], sum(v.store.folded for v in self.views))
        expired = CounterMetricFamily(
            "nginxlog_series_expired",
            "Label sets dropped after NGINXLOG_SERIES_TTL without a line.",
        )
        expired.add_metric([], sum(v.store.expired for v in self.views))
        return [lines, read, too_long, rotations, series, folded, expired]


def described() -> list[Metric]:
    """The families of the default configuration (namespace ``nginx``, every field and
    label a default log format feeds), for the README's generated list."""
    from .settings import NginxLogSettings

    defaults = NginxLogSettings.from_env({"NGINXLOG_FILES": "access.log"})
    store = Store(("method", "status"), tuple(defaults.buckets), 1)
    view = StoreView(store, defaults.namespace, frozenset((*SUM_FIELDS, *HIST_FIELDS)))
    collector = NginxLogCollector([view], {}, lambda: None, defaults.exporter_names)
    return list(collector.describe())


def _add_summary(
    summary: Metric,
    names: list[str],
    values: list[str],
    series: Series,
    position: int,
    now: float,
) -> None:
    labels = dict(zip(names, values, strict=True))
    assert series.windows is not None
    estimates = series.windows[position].quantiles(now)
    for objective, estimate in zip(OBJECTIVES, estimates, strict=True):
        summary.add_sample(summary.name, {**labels, "quantile": str(objective)}, estimate)
    numbers = series.hists[position]
    summary.add_sample(f"{summary.name}_sum", labels, numbers[-2])
    summary.add_sample(f"{summary.name}_count", labels, numbers[-1])


def _le(bound: float) -> str:
    return repr(float(bound))


def _without(
    names: list[str], items: list[tuple[tuple[str, ...], Series]], dropped: frozenset[str]
) -> tuple[list[str], list[tuple[tuple[str, ...], Series]]]:
    """The series merged over the ``dropped`` labels, for the metrics that lack them."""
    keep = [i for i, name in enumerate(names) if name not in dropped]
    merged: dict[tuple[str, ...], Series] = {}
    for labels, series in items:
        key = tuple(labels[i] for i in keep)
        into = merged.get(key)
        if into is None:
            into = merged[key] = Series(
                requests=series.requests,
                sums=list(series.sums),
                hists=[list(h) for h in series.hists],
            )
            if series.windows is not None:
                into.windows = [Window() for _ in series.windows]
                for window, theirs in zip(into.windows, series.windows, strict=True):
                    window.merge(theirs)
            continue
        if into.windows is not None and series.windows is not None:
            for window, theirs in zip(into.windows, series.windows, strict=True):
                window.merge(theirs)
        into.requests += series.requests
        into.sums = [a + b for a, b in zip(into.sums, series.sums, strict=True)]
        into.hists = [
            [a + b for a, b in zip(mine, theirs, strict=True)]
            for mine, theirs in zip(into.hists, series.hists, strict=True)
        ]
    return [names[i] for i in keep], list(merged.items())

"""Counted field tuples folded into per-label-set series, with a cap on how many exist.

The parser leaves ``Counter`` rows of raw bytes; folding turns each distinct row once into
labels and values (every conversion cached per distinct raw value), so the Python work
scales with distinct rows, not with lines.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .parser import Rows
from .routes import RouteRules

__all__ = ["LABEL_FIELDS", "Series", "Store", "Tally"]

LABEL_FIELDS = ("method", "status", "status_class", "host", "upstream", "route")
"""Label names a line can feed, in exposition order (``status_class`` and ``route`` derive
from ``status`` and the path)."""
SUM_FIELDS = ("bytes", "request_length")
HIST_FIELDS = ("request_time", "upstream_time", "upstream_connect_time")
METHODS = frozenset(
    ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
)
OVERFLOW = "overflow"
_CACHE_LIMIT = 50_000


@dataclass(slots=True)
class Series:
    """One label set's numbers: requests, byte sums, and one histogram per time field
    (bucket counts, then ``+Inf``, then sum, then count)."""

    requests: int = 0
    sums: list[int] = field(default_factory=lambda: [0, 0])
    hists: list[list[float]] = field(default_factory=list)
    seen: float = 0.0


class Store:
    """Every series of the helper, keyed by label values; shared by all inputs."""

    def __init__(
        self,
        labels: tuple[str, ...],
        buckets: tuple[float, ...],
        max_series: int,
    ) -> None:
        self.labels = labels
        self.buckets = buckets
        self.max_series = max_series
        self.series: dict[tuple[str, ...], Series] = {}
        self.parse_errors = 0
        self.folded = 0
        self.expired = 0

    def get(self, key: tuple[str, ...], n: int, overflow: tuple[str, ...]) -> Series:
        series = self.series.get(key)
        if series is None:
            if len(self.series) >= self.max_series and key != overflow:
                self.folded += n
                return self.get(overflow, 0, overflow)
            width = len(self.buckets) + 3
            series = Series(hists=[[0.0] * width for _ in HIST_FIELDS])
            self.series[key] = series
        return series

    def expire(self, older_than: float) -> int:
        """Forget label sets not seen since ``older_than`` (monotonic seconds)."""
        stale = [key for key, series in self.series.items() if series.seen < older_than]
        for key in stale:
            del self.series[key]
        self.expired += len(stale)
        return len(stale)


class Tally:
    """One input's pending rows and how they fold into the shared store."""

    def __init__(
        self,
        store: Store,
        fields: tuple[str, ...],
        static: dict[str, str],
        routes: Callable[[], RouteRules],
    ) -> None:
        self.store = store
        self.rows: Rows = Counter()
        self.routes = routes
        self.rejected: Counter[str] = Counter()
        index = {name: i for i, name in enumerate(fields)}
        self._label_plan: list[tuple[int, Callable[[bytes], str]]] = []
        self._static: list[tuple[int, str]] = []
        self._overflow: list[str] = []
        for position, name in enumerate(store.labels):
            source = "status" if name == "status_class" else ("path" if name == "route" else name)
            if name in LABEL_FIELDS:
                converter = _CONVERTERS[name] if name != "route" else self._route
                self._label_plan.append((index.get(source, -1), converter))
                self._overflow.append(OVERFLOW)
            else:
                self._static.append((position, static.get(name, "")))
                self._overflow.append(static.get(name, ""))
        self._sums = [index.get(name, -1) for name in SUM_FIELDS]
        self._hists = [index.get(name, -1) for name in HIST_FIELDS]
        self._label_cache: dict[tuple[bytes, ...], tuple[str, ...]] = {}
        self._value_cache: dict[bytes, float | None] = {}
        self._route_cache: dict[bytes, str] = {}

    def reset_routes(self) -> None:
        """Forget cached routes after the rules changed; series already made stay."""
        self._route_cache.clear()
        self._label_cache.clear()

    def fold(self, now: float | None = None) -> None:
        """Move the pending rows into the store."""
        if not self.rows:
            return
        rows, self.rows = self.rows, Counter()
        now = time.monotonic() if now is None else now
        store = self.store
        overflow = tuple(self._overflow)
        bounds = store.buckets
        label_cache = self._label_cache
        plan = self._label_plan
        label_indexes = [i for i, _ in plan]
        if len(label_cache) > _CACHE_LIMIT:
            label_cache.clear()
        if len(self._value_cache) > _CACHE_LIMIT:
            self._value_cache.clear()
        for row, n in rows.items():
            raw = tuple(row[i] if i >= 0 else b"" for i in label_indexes)
            labels = label_cache.get(raw)
            try:
                if labels is None:
                    labels = label_cache[raw] = self._labels(raw)
                values = [self._value(row[i]) if i >= 0 else None for i in self._hists]
                sums = [int(row[i]) if i >= 0 else 0 for i in self._sums]
            except ValueError as exc:
                store.parse_errors += n
                self.rejected[str(exc)] += n
                continue
            series = store.get(labels, n, overflow)
            series.requests += n
            series.seen = now
            series.sums[0] += sums[0] * n
            series.sums[1] += sums[1] * n
            for hist, value in zip(series.hists, values, strict=True):
                if value is not None:
                    hist[bisect_left(bounds, value)] += n
                    hist[-2] += value * n
                    hist[-1] += n

    def _labels(self, raw: tuple[bytes, ...]) -> tuple[str, ...]:
        values = [convert(value) for value, (_, convert) in zip(raw, self._label_plan, strict=True)]
        for position, value in self._static:
            values.insert(position, value)
        return tuple(values)

    def _route(self, path: bytes) -> str:
        route = self._route_cache.get(path)
        if route is None:
            if len(self._route_cache) > _CACHE_LIMIT:
                self._route_cache.clear()
            route = self.routes().route(path.decode("utf-8", "replace"))
            self._route_cache[path] = route
        return route

    def _value(self, raw: bytes) -> float | None:
        cached = self._value_cache.get(raw, _MISSING)
        if cached is _MISSING:
            cached = self._value_cache[raw] = _seconds(raw)
        return cached  # type: ignore[return-value]


_MISSING = object()


def _seconds(raw: bytes) -> float | None:
    """``0.123``, or the sum of a list such as ``0.1, 0.2 : 0.3``; ``-`` entries skipped."""
    if b"," not in raw and b":" not in raw:
        if raw in (b"-", b""):
            return None
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"time {raw[:40]!r} is not a number") from None
    total, seen = 0.0, False
    for part in raw.replace(b":", b",").split(b","):
        part = part.strip()
        if part and part != b"-":
            try:
                total += float(part)
            except ValueError:
                raise ValueError(f"time {raw[:40]!r} is not a list of numbers") from None
            seen = True
    return total if seen else None


def _method(raw: bytes) -> str:
    text = raw.decode("ascii", "replace")
    return text if text in METHODS else "other"


def _status(raw: bytes) -> str:
    if len(raw) != 3 or not raw.isdigit():
        raise ValueError(f"status {raw[:40]!r} is not three digits")
    return raw.decode()


def _status_class(raw: bytes) -> str:
    return _status(raw)[0] + "xx"


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


_CONVERTERS: dict[str, Callable[[bytes], str]] = {
    "method": _method,
    "status": _status,
    "status_class": _status_class,
    "host": _text,
    "upstream": _text,
}

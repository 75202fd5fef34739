"""Counted field tuples folded into per-label-set series, with a cap on how many exist.

The parser leaves ``Counter`` rows of raw bytes; folding turns each distinct row once into
labels and values (every conversion cached per distinct raw value), so the Python work
scales with distinct rows, not with lines.
"""

from __future__ import annotations

import operator
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
        self.generation = 0

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
        if stale:
            self.generation += 1
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
        self._overflow_key = tuple(self._overflow)
        self._sum_pairs = [(p, index[name]) for p, name in enumerate(SUM_FIELDS) if name in index]
        self._hist_pairs = [(p, index[name]) for p, name in enumerate(HIST_FIELDS) if name in index]
        self._raw_labels = _getter([i for i, _ in self._label_plan])
        self._fold_rows = _fold_function(self._hist_pairs, self._sum_pairs)
        self._series_cache: dict[tuple[bytes, ...], Series] = {}
        self._generation = store.generation
        self._value_cache: dict[bytes, float | None] = {}
        self._route_cache: dict[bytes, str] = {}

    def reset_routes(self) -> None:
        """Forget cached routes after the rules changed; series already made stay."""
        self._route_cache.clear()
        self._series_cache.clear()

    def fold(self, now: float | None = None) -> None:
        """Move the pending rows into the store.

        The loop is the one place where Python work grows with distinct rows (with byte
        counts in the rows, nearly one per line); it is generated for this input's fields.
        """
        if not self.rows:
            return
        rows, self.rows = self.rows, Counter()
        now = time.monotonic() if now is None else now
        store = self.store
        if self._generation != store.generation or len(self._series_cache) > _CACHE_LIMIT:
            self._series_cache.clear()
            self._generation = store.generation
        if len(self._value_cache) > _CACHE_LIMIT:
            self._value_cache.clear()
        rejected = self._fold_rows(
            rows,
            now,
            self._series_cache,
            self._value_cache,
            self._raw_labels,
            self._series_for,
            store.buckets,
            _seconds,
            bisect_left,
            _MISSING,
        )
        for row, n in rejected:
            store.parse_errors += n
            self.rejected[self._reason(row)] += n

    def _series_for(self, key: tuple[bytes, ...], n: int) -> Series:
        """The series of a label set first met in this fold; cached unless it overflowed."""
        labels = self._labels(key)
        store = self.store
        series = store.get(labels, n, self._overflow_key)
        if store.series.get(labels) is series:
            self._series_cache[key] = series
        return series

    def _reason(self, row: tuple[bytes, ...]) -> str:
        """Which value of a rejected row is wrong, in words."""
        for _, index in self._sum_pairs:
            if not row[index].isdigit():
                return f"size {row[index][:40]!r} is not a whole number"
        try:
            for _, index in self._hist_pairs:
                _seconds(row[index])
            self._labels(self._raw_labels(row))
        except ValueError as exc:
            return str(exc)
        return "unknown"

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


_MISSING = object()


def _fold_function(
    hist_pairs: list[tuple[int, int]], sum_pairs: list[tuple[int, int]]
) -> Callable[..., list[tuple[tuple[bytes, ...], int]]]:
    """The fold loop written out for one layout of fields.

    A generic loop over "the fields this format has" costs about three times as much per
    row as straight-line code, and rows are nearly as many as lines when byte counts are
    captured; so, like ``dataclasses`` and ``namedtuple``, the code is generated once.
    """
    parse, update = [], []
    for position, index in hist_pairs:
        parse += [
            f"r{position} = row[{index}]",
            f"v{position} = values.get(r{position}, missing)",
            f"if v{position} is missing:",
            f"    v{position} = values[r{position}] = seconds(r{position})",
        ]
        update += [
            f"if v{position} is not None:",
            f"    h = series.hists[{position}]",
            f"    h[bisect_left(bounds, v{position})] += n",
            f"    h[-2] += v{position} * n",
            "    h[-1] += n",
        ]
    for position, index in sum_pairs:
        parse.append(f"s{position} = int(row[{index}])")
        update.append(f"series.sums[{position}] += s{position} * n")
    lines = [
        "def fold(rows, now, cache, values, raw_labels, series_for, bounds, seconds,",
        "         bisect_left, missing):",
        "    rejected = []",
        "    for row, n in rows.items():",
        "        try:",
        *(f"            {line}" for line in parse),
        "            key = raw_labels(row)",
        "            series = cache.get(key)",
        "            if series is None:",
        "                series = series_for(key, n)",
        "        except ValueError:",
        "            rejected.append((row, n))",
        "            continue",
        "        series.requests += n",
        "        series.seen = now",
        *(f"        {line}" for line in update),
        "    return rejected",
    ]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "<nginxlog fold>", "exec"), namespace)
    function: Callable[..., list[tuple[tuple[bytes, ...], int]]] = namespace["fold"]
    return function


def _getter(indexes: list[int]) -> Callable[[tuple[bytes, ...]], tuple[bytes, ...]]:
    """A C-speed ``row -> tuple of these fields``; a field the format lacks reads as empty."""
    if indexes and all(i >= 0 for i in indexes):
        if len(indexes) > 1:
            return operator.itemgetter(*indexes)
        only = indexes[0]
        return lambda row: (row[only],)
    return lambda row: tuple(row[i] if i >= 0 else b"" for i in indexes)


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

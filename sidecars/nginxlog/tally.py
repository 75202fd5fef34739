"""Parsed rows folded into per-label-set series, with a cap on how many exist.

Rows are counted with ``Counter`` (in C) and folded once per distinct row into labels and
values, every conversion cached per distinct raw value, so Python work grows with
distinct rows, not with lines. A row is counted as its fields joined by a newline: one
byte string hashes and compares faster than a tuple of fresh ones, which made the default
metrics about a fifth faster (1.33 to 1.07 CPU-s for the benchmark's 1,000,000 lines, in
process, same run). Byte counts would make nearly every row distinct, so they are taken
out of the rows and summed under the same row keys in a loop of their own. The C twin
(``_tally.c``) does the joining, counting and summing in one pass: 1.15 to 0.98 CPU-s for
those 1,000,000 lines with every default metric, in process, same run. Where the C
scanner runs the format (``LogFormat.compile``'s steps), ``Tally.scan`` matches and counts
each line in the same pass, so the regex's tuples and byte strings are never made: 0.80
to 0.41 CPU-s for them, in process, back to back.
"""

from __future__ import annotations

import operator
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .native import add_rows, count_lines
from .parser import Parser, Rows
from .routes import RouteRules
from .store import HIST_FIELDS, LABEL_FIELDS, OVERFLOW, SUM_FIELDS, Series, Store
from .values import CONVERTERS, seconds

__all__ = ["TWIN", "Tally", "add_rows"]

TWIN = "C" if add_rows is not None else "Python"
"""Which twin of the row counting runs: the C one when it was built."""

_CACHE_LIMIT = 50_000


class Tally:
    """One input's pending rows and how they fold into the shared store."""

    def __init__(
        self,
        store: Store,
        fields: tuple[str, ...],
        static: dict[str, str],
        routes: Callable[[], RouteRules],
        converters: Mapping[str, tuple[str, Callable[[bytes], str]]] | None = None,
        native: bool = True,
    ) -> None:
        self.store = store
        self.rows: Counter[bytes] = Counter()
        self.routes = routes
        self.rejected: Counter[str] = Counter()
        full = {name: i for i, name in enumerate(fields)}
        kept = [i for i, name in enumerate(fields) if name not in SUM_FIELDS]
        index = {fields[i]: position for position, i in enumerate(kept)}
        self._label_plan: list[tuple[int, Callable[[bytes], str]]] = []
        self._static: list[tuple[int, str]] = []
        self._overflow: list[str] = []
        sources = []
        for position, name in enumerate(store.labels):
            source = "status" if name == "status_class" else ("path" if name == "route" else name)
            if converters and name in converters:  # relabelled, or unescaped (escape=json)
                source, converter = converters[name]
                self._label_plan.append((index.get(source, -1), converter))
                sources.append(source)
                self._overflow.append(OVERFLOW)
            elif name in LABEL_FIELDS:
                converter = CONVERTERS[name] if name != "route" else self._route
                self._label_plan.append((index.get(source, -1), converter))
                sources.append(source)
                self._overflow.append(OVERFLOW)
            else:
                self._static.append((position, static.get(name, "")))
                self._overflow.append(static.get(name, ""))
        self._overflow_key = tuple(self._overflow)
        self._sum_pairs = [(p, full[name]) for p, name in enumerate(SUM_FIELDS) if name in full]
        self._sum_getters = [operator.itemgetter(i) for _, i in self._sum_pairs]
        self._sums: list[dict[bytes, int]] = [{} for _ in self._sum_pairs]
        self._strip = _getter(kept) if self._sum_pairs else None
        self._native = add_rows if native else None
        self._count_lines = count_lines if native else None
        self._kept = tuple(kept) if self._sum_pairs else None
        self._sizes = tuple(i for _, i in self._sum_pairs)
        self._hist_pairs = [(p, index[name]) for p, name in enumerate(HIST_FIELDS) if name in index]
        self._raw_labels = _getter([i for i, _ in self._label_plan])
        self._fold_rows = _fold_function(self._hist_pairs, store.summaries, self._sum_pairs)
        self._series_cache: dict[tuple[bytes, ...], Series] = {}
        self._generation = store.generation
        self._value_cache: dict[bytes, float | None] = {}
        self._route_cache: dict[bytes, str] = {}

    def scan(self, parser: Parser, chunk: bytes, bad: list[bytes], end: int | None = None) -> int:
        """Parse and count the whole lines of ``chunk[:end]``, lines that do not match into
        ``bad``; the line count. Where the C scanner runs the format, matching and
        counting are one pass and rows never become tuples."""
        end = len(chunk) if end is None else end
        if parser.steps is not None and self._count_lines is not None:
            lines, left = self._count_lines(
                parser.steps,
                parser.width,
                chunk,
                end,
                bad,
                self.rows,
                self._kept,
                self._sums,
                self._sizes,
            )
            if left:
                self._add_python(left)
            return lines
        found: Rows = []
        lines = parser.scan(chunk, found, bad, end)
        self.add(found)
        return lines

    def add(self, found: Rows) -> None:
        """Count parsed rows, each kept as its fields joined by a newline (a byte string
        hashes and compares in a third of the time of a tuple of them); byte counts are
        summed under the same keys, so the fold adds them per distinct row."""
        if self._native is not None:
            left = self._native(found, self.rows, self._kept, self._sums, self._sizes)
            if left:
                self._add_python(left)  # sizes that are not plain digits, judged by int()
            return
        self._add_python(found)

    def _add_python(self, found: Rows) -> None:
        if not self._sum_pairs:
            self.rows.update(map(_JOIN, found))
            return
        try:
            columns = [list(map(int, map(get, found))) for get in self._sum_getters]
        except ValueError:
            found = self._without_bad_sizes(found)
            columns = [list(map(int, map(get, found))) for get in self._sum_getters]
        strip = self._strip
        keys = list(map(_JOIN, map(strip, found) if strip is not None else found))
        self.rows.update(keys)
        for sums, column in zip(self._sums, columns, strict=True):
            get = sums.get
            for key, size in zip(keys, column, strict=True):
                sums[key] = get(key, 0) + size

    def pending(self) -> int:
        return len(self.rows)

    def _without_bad_sizes(self, found: Rows) -> Rows:
        good = []
        for row in found:
            for _, index in self._sum_pairs:
                try:
                    int(row[index])
                except ValueError:
                    self.store.parse_errors += 1
                    self.rejected[f"size {row[index][:40]!r} is not a whole number"] += 1
                    break
            else:
                good.append(row)
        return good

    def reset_routes(self) -> None:
        """Forget cached routes after the rules changed; series already made stay."""
        self._route_cache.clear()
        self._series_cache.clear()

    def fold(self, now: float | None = None) -> None:
        """Move the pending rows into the store.

        The loop is the one place where Python work grows with distinct rows; it is
        generated for this input's fields.
        """
        if not self.rows:
            return
        rows, self.rows = self.rows, Counter()
        sums, self._sums = self._sums, [{} for _ in self._sum_pairs]
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
            seconds,
            bisect_left,
            _MISSING,
            sums,
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

    def _reason(self, row: Sequence[bytes]) -> str:
        """Which value of a rejected row is wrong, in words."""
        try:
            for _, index in self._hist_pairs:
                seconds(row[index])
            self._labels(self._raw_labels(row))
        except ValueError as exc:
            return str(exc)
        return "unknown"

    def _labels(self, raw: Sequence[bytes]) -> tuple[str, ...]:
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
_JOIN: Callable[[Iterable[bytes]], bytes] = b"\n".join


def _fold_function(
    hist_pairs: list[tuple[int, int]], summaries: bool, sum_pairs: list[tuple[int, int]]
) -> Callable[..., list[tuple[list[bytes], int]]]:
    """The fold loop written out for one layout of fields.

    A generic loop over "the fields this format has" costs about three times as much per
    row as straight-line code; so, like ``dataclasses`` and ``namedtuple``, the code is
    generated once per input.
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
        if summaries:
            update.append(f"    series.windows[{position}].add(v{position}, n, now)")
    for number, (position, _) in enumerate(sum_pairs):
        update.append(f"series.sums[{position}] += sums[{number}].get(joined, 0)")
    lines = [
        "def fold(rows, now, cache, values, raw_labels, series_for, bounds, seconds,",
        "         bisect_left, missing, sums):",
        "    rejected = []",
        "    for joined, n in rows.items():",
        "        row = joined.split(b'\\n')",
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
    function: Callable[..., list[tuple[list[bytes], int]]] = namespace["fold"]
    return function


def _getter(indexes: list[int]) -> Callable[[Sequence[bytes]], tuple[bytes, ...]]:
    """A C-speed ``row -> tuple of these fields``; a field the format lacks reads as empty."""
    if indexes and all(i >= 0 for i in indexes):
        if len(indexes) > 1:
            return operator.itemgetter(*indexes)
        only = indexes[0]
        return lambda row: (row[only],)
    return lambda row: tuple(row[i] if i >= 0 else b"" for i in indexes)

"""Quantiles over the last ten minutes, for the summaries prometheus-nginxlog-exporter has.

The exporter's summaries are the Go client's: objectives 0.5, 0.9 and 0.99 (errors 0.05,
0.01, 0.001) over ``MaxAge`` ten minutes in five age buckets. The Go client answers from
its oldest live stream, which holds what was observed in the current two-minute slot and
the four before it; a stream that has seen fewer than 500 values answers exactly, with
the value of rank ``ceil(n * q)`` (beorn7/perks' ``Query``), and a larger one within the
objective's rank error (CKMS).

Here each slot keeps how often each value was seen; nginx logs times in milliseconds, so
a slot holds few distinct values, and counting them costs one dict update per distinct
(label set, value) of a batch, not one per line. The answer is then the exact value of
rank ``ceil(n * q)`` over the five slots: what Go gives for small streams, and inside
its error bound for large ones. A slot with more than ``_MAX_DISTINCT`` values keeps
further ones on a logarithmic grid of 1% steps (231 a decade), so its memory stays
bounded, about as the Go client's streams are; such a value is off by at most 0.5%.
"""

from __future__ import annotations

import math
from collections import Counter

__all__ = ["OBJECTIVES", "Window"]

OBJECTIVES = (0.5, 0.9, 0.99)
"""The quantiles exported, those of prometheus-nginxlog-exporter."""

_SLOTS = 5
_SLOT_SECONDS = 120.0
_MAX_DISTINCT = 1024
_STEP = math.log(1.01)


class Window:
    """Counts of each value seen in the last ``_SLOTS`` slots of ``_SLOT_SECONDS`` each."""

    __slots__ = ("epochs", "slots")

    def __init__(self) -> None:
        self.slots: list[Counter[float]] = [Counter() for _ in range(_SLOTS)]
        self.epochs = [-1] * _SLOTS

    def add(self, value: float, n: int, now: float) -> None:
        epoch = int(now // _SLOT_SECONDS)
        slot = epoch % _SLOTS
        counts = self.slots[slot]
        if self.epochs[slot] != epoch:
            counts.clear()
            self.epochs[slot] = epoch
        if len(counts) >= _MAX_DISTINCT and value not in counts:
            value = _rounded(value)
            if len(counts) == _MAX_DISTINCT:
                self.slots[slot] = counts = _coarse(counts)
        counts[value] += n

    def merge(self, other: Window) -> None:
        """Add ``other``'s counts, slot by slot; of two different epochs the newer wins."""
        for slot, (epoch, counts) in enumerate(zip(other.epochs, other.slots, strict=True)):
            if epoch > self.epochs[slot]:
                self.slots[slot] = Counter(counts)
                self.epochs[slot] = epoch
            elif epoch == self.epochs[slot]:
                self.slots[slot].update(counts)

    def quantiles(self, now: float) -> list[float]:
        """One value per objective; NaN when the window holds no observation, as in Go."""
        current = int(now // _SLOT_SECONDS)
        merged: Counter[float] = Counter()
        for epoch, counts in zip(self.epochs, self.slots, strict=True):
            if current - _SLOTS < epoch <= current:
                merged.update(counts)
        total = sum(merged.values())
        if not total:
            return [math.nan] * len(OBJECTIVES)
        ordered = sorted(merged.items())
        result = []
        for objective in OBJECTIVES:
            rank = max(math.ceil(total * objective) - 1, 0)
            seen = 0
            for value, count in ordered:
                seen += count
                if seen > rank:
                    result.append(value)
                    break
        return result


def _rounded(value: float) -> float:
    if value <= 0:
        return 0.0
    return math.exp(round(math.log(value) / _STEP) * _STEP)


def _coarse(counts: Counter[float]) -> Counter[float]:
    coarse: Counter[float] = Counter()
    for value, count in counts.items():
        coarse[_rounded(value)] += count
    return coarse

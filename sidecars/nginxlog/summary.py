"""Quantiles over the last ten minutes, for the summaries prometheus-nginxlog-exporter has.

Observations are counted in logarithmic buckets (each 2% wider than the last, so any
quantile is within 1% of a true observation's value, as in DDSketch) in five slots of two
minutes each; the quantiles merge the slots still in the window, like the Go client's
summaries with their default ten-minute age.
"""

from __future__ import annotations

import math
from collections import Counter

__all__ = ["OBJECTIVES", "Window", "sketch_index"]

OBJECTIVES = (0.5, 0.9, 0.99)
"""The quantiles exported, those of prometheus-nginxlog-exporter."""

_GAMMA = 1.02
_LOG_GAMMA = math.log(_GAMMA)
_ZERO = -(10**9)
_SLOTS = 5
_SLOT_SECONDS = 120.0


def sketch_index(value: float) -> int:
    """The bucket of ``value``: values up to ``1.02 ** index`` and above the one before."""
    if value <= 0:
        return _ZERO
    return math.ceil(math.log(value) / _LOG_GAMMA)


def _estimate(index: int) -> float:
    if index == _ZERO:
        return 0.0
    return 2 * _GAMMA**index / (_GAMMA + 1)


class Window:
    """Bucket counts of the last ``_SLOTS`` slots of ``_SLOT_SECONDS`` each."""

    __slots__ = ("epochs", "slots")

    def __init__(self) -> None:
        self.slots: list[Counter[int]] = [Counter() for _ in range(_SLOTS)]
        self.epochs = [-1] * _SLOTS

    def add(self, index: int, n: int, now: float) -> None:
        epoch = int(now // _SLOT_SECONDS)
        slot = epoch % _SLOTS
        if self.epochs[slot] != epoch:
            self.slots[slot].clear()
            self.epochs[slot] = epoch
        self.slots[slot][index] += n

    def merge(self, other: Window) -> None:
        """Add ``other``'s counts, slot by slot; of two different epochs the newer wins."""
        for slot, (epoch, counts) in enumerate(zip(other.epochs, other.slots, strict=True)):
            if epoch > self.epochs[slot]:
                self.slots[slot] = Counter(counts)
                self.epochs[slot] = epoch
            elif epoch == self.epochs[slot]:
                self.slots[slot].update(counts)

    def quantiles(self, now: float) -> list[float]:
        """One estimate per objective; NaN when the window holds no observation."""
        current = int(now // _SLOT_SECONDS)
        merged: Counter[int] = Counter()
        for epoch, counts in zip(self.epochs, self.slots, strict=True):
            if current - _SLOTS < epoch <= current:
                merged.update(counts)
        total = sum(merged.values())
        if not total:
            return [math.nan] * len(OBJECTIVES)
        result = []
        ordered = sorted(merged.items())
        for objective in OBJECTIVES:
            rank = objective * (total - 1)
            seen = 0
            for index, count in ordered:
                seen += count
                if seen > rank:
                    result.append(_estimate(index))
                    break
        return result

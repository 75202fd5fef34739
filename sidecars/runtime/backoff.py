"""Exponential backoff with jitter, the one retry policy every helper shares."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays that double from ``initial`` up to ``maximum`` seconds.

    Each delay is drawn between half and all of its step ("equal jitter"), so many
    replicas that failed together do not retry together, yet none retries at once.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def delays(self) -> Iterator[float]:
        step = self.initial
        while True:
            yield random.uniform(step / 2, step)
            step = min(step * self.factor, self.maximum)

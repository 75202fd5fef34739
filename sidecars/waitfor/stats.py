"""Per-target counters bumped while waiting; ``metrics`` turns them into samples at scrape."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TargetStats"]


@dataclass(slots=True)
class TargetStats:
    up: bool = False
    attempts: int = 0
    failures: int = 0
    wait_seconds: float = 0.0

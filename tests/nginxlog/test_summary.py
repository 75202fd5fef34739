"""Quantiles as the Go client's summaries give them (beorn7/perks' targeted CKMS stream,
restated below as the reference), over a window that forgets old observations."""

from __future__ import annotations

import bisect
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecars.nginxlog.summary import OBJECTIVES, Window

TARGETS = {0.5: 0.05, 0.9: 0.01, 0.99: 0.001}


class PerksStream:
    """beorn7/perks ``quantile.NewTargeted``: a buffer of 500, sorted and merged into a
    compressed list of (value, width, delta); exact answers until the first merge."""

    def __init__(self) -> None:
        self.n = 0.0
        self.samples: list[list[float]] = []
        self.buffer: list[float] = []

    def invariant(self, r: float) -> float:
        best = math.inf
        for q, eps in TARGETS.items():
            f = 2 * eps * r / q if q * self.n <= r else 2 * eps * (self.n - r) / (1 - q)
            best = min(best, f)
        return best

    def insert(self, value: float) -> None:
        self.buffer.append(value)
        if len(self.buffer) == 500:
            self.flush()

    def flush(self) -> None:
        self.buffer.sort()
        r, i = 0.0, 0
        for value in self.buffer:
            while i < len(self.samples):
                c = self.samples[i]
                if c[0] > value:
                    self.samples.insert(
                        i, [value, 1.0, max(0.0, math.floor(self.invariant(r)) - 1)]
                    )
                    i += 1
                    break
                r += c[1]
                i += 1
            else:
                self.samples.append([value, 1.0, 0.0])
                i += 1
            self.n += 1
            r += 1
        self.buffer.clear()
        self.compress()

    def compress(self) -> None:
        if len(self.samples) < 2:
            return
        x = self.samples[-1]
        xi = len(self.samples) - 1
        r = self.n - 1 - x[1]
        for i in range(len(self.samples) - 2, -1, -1):
            c = self.samples[i]
            if c[1] + x[1] + x[2] <= self.invariant(r):
                x[1] += c[1]
                del self.samples[i]
                xi -= 1
            else:
                x, xi = c, i
            r -= c[1]

    def query(self, q: float) -> float:
        if not self.samples:
            if not self.buffer:
                return 0.0
            i = max(math.ceil(len(self.buffer) * q) - 1, 0)
            return sorted(self.buffer)[i]
        self.flush()
        t = math.ceil(q * self.n)
        t += math.ceil(self.invariant(t) / 2)
        p, r = self.samples[0], 0.0
        for c in self.samples[1:]:
            r += p[1]
            if r + c[1] + c[2] > t:
                return p[0]
            p = c
        return p[0]


def _window(values: list[float], now: float = 0.0) -> Window:
    window = Window()
    for value in values:
        window.add(value, 1, now)
    return window


@pytest.mark.parametrize(
    ("values", "p99"),
    [([1.0] * 49 + [100.0], 100.0), ([float(v) for v in range(1, 11)], 10.0)],
)
def test_the_go_clients_answers(values: list[float], p99: float) -> None:
    assert _window(values).quantiles(now=1.0)[2] == p99
    reference = PerksStream()
    for value in values:
        reference.insert(value)
    assert reference.query(0.99) == p99


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20_000).map(lambda ms: ms / 1000), min_size=1, max_size=2500))
def test_same_as_perks_when_small_and_within_its_rank_error_when_large(values: list[float]) -> None:
    _compare(values)


@pytest.mark.parametrize("seed", range(5))
def test_long_streams_against_perks(seed: int) -> None:
    rng = random.Random(seed)
    _compare([round(rng.lognormvariate(-2, 1.5), 3) for _ in range(rng.randint(500, 6000))])


def _compare(values: list[float]) -> None:
    ours = _window(values).quantiles(now=1.0)
    reference = PerksStream()
    for value in values:
        reference.insert(value)
    ordered = sorted(values)
    n = len(values)
    for (objective, eps), mine in zip(TARGETS.items(), ours, strict=True):
        theirs = reference.query(objective)
        if n < 500:
            assert mine == theirs
            continue
        truth = ordered[math.ceil(objective * n) - 1]
        assert mine == pytest.approx(truth, rel=0.005), "exact, or within 0.5% when coarse"
        their_low = bisect.bisect_left(ordered, theirs)
        their_high = bisect.bisect_right(ordered, theirs)
        assert their_low - eps * n - 1 <= math.ceil(objective * n) <= their_high + eps * n + 1


def test_zero_and_an_empty_window() -> None:
    window = Window()
    assert all(math.isnan(q) for q in window.quantiles(now=0.0))
    window.add(0.0, 3, now=0.0)
    assert window.quantiles(now=1.0) == [0.0, 0.0, 0.0]


def test_observations_older_than_ten_minutes_are_forgotten() -> None:
    window = Window()
    window.add(5.0, 2, now=0.0)
    window.add(0.1, 1, now=500.0)
    assert window.quantiles(now=590.0)[2] == 5.0
    assert window.quantiles(now=700.0) == [0.1] * len(OBJECTIVES)


def test_many_distinct_values_are_kept_within_half_a_percent() -> None:
    window = _window([1 + i / 100_000 for i in range(10_000)])
    assert sum(len(slot) for slot in window.slots) <= 1024 + 20
    median, _, p99 = window.quantiles(now=1.0)
    assert median == pytest.approx(1.05, rel=0.005)
    assert p99 == pytest.approx(1.099, rel=0.005)


def test_merged_windows_give_the_quantiles_of_all_observations() -> None:
    low = _window([ms / 1000 for ms in range(1, 501)], now=10.0)
    high = _window([(ms + 500) / 1000 for ms in range(1, 501)], now=10.0)
    old = Window()
    old.add(100.0, 1000, now=10.0 - 600)  # same slot, five slots earlier
    both = Window()
    for window in (old, low, old, high):
        both.merge(window)
    median, p90, _ = both.quantiles(now=20.0)
    assert median == 0.5
    assert p90 == 0.9

"""Quantiles within 2% of the truth, over a window that forgets old observations."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecars.nginxlog.summary import OBJECTIVES, Window, sketch_index


def test_quantiles_of_a_known_spread() -> None:
    window = Window()
    for ms in range(1, 1001):
        window.add(sketch_index(ms / 1000), 1, now=10.0)
    median, p90, p99 = window.quantiles(now=20.0)
    assert median == pytest.approx(0.5, rel=0.02)
    assert p90 == pytest.approx(0.9, rel=0.02)
    assert p99 == pytest.approx(0.99, rel=0.02)


def test_zero_and_an_empty_window() -> None:
    window = Window()
    assert all(math.isnan(q) for q in window.quantiles(now=0.0))
    window.add(sketch_index(0.0), 3, now=0.0)
    assert window.quantiles(now=1.0) == [0.0, 0.0, 0.0]


def test_observations_older_than_ten_minutes_are_forgotten() -> None:
    window = Window()
    window.add(sketch_index(5.0), 2, now=0.0)
    window.add(sketch_index(0.1), 1, now=500.0)
    assert window.quantiles(now=590.0)[2] == pytest.approx(5.0, rel=0.02)
    assert window.quantiles(now=700.0) == pytest.approx([0.1] * len(OBJECTIVES), rel=0.02)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0001, 1000.0), min_size=1, max_size=200))
def test_every_estimate_is_within_two_percent_of_an_observation(values: list[float]) -> None:
    window = Window()
    for value in values:
        window.add(sketch_index(value), 1, now=0.0)
    ordered = sorted(values)
    for objective, estimate in zip(OBJECTIVES, window.quantiles(now=0.0), strict=True):
        truth = ordered[math.floor(objective * (len(ordered) - 1))]
        assert estimate == pytest.approx(truth, rel=0.02)


def test_merged_windows_give_the_quantiles_of_all_observations() -> None:
    low, high, old, both = Window(), Window(), Window(), Window()
    for ms in range(1, 501):
        low.add(sketch_index(ms / 1000), 1, now=10.0)
        high.add(sketch_index((ms + 500) / 1000), 1, now=10.0)
    old.add(sketch_index(100.0), 1000, now=10.0 - 600)  # same slot, five slots earlier
    both.merge(old)
    both.merge(low)
    both.merge(old)
    both.merge(high)
    median, p90, _ = both.quantiles(now=20.0)
    assert median == pytest.approx(0.5, rel=0.02)
    assert p90 == pytest.approx(0.9, rel=0.02)

"""The shared histogram against prometheus_client's own Histogram, on the same observations."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import Histogram as Reference

from sidecars.runtime.exposition import text
from sidecars.runtime.families import Metric
from sidecars.runtime.histogram import DEFAULT_BUCKETS, Histogram, LabelledHistograms

values = st.floats(min_value=0, max_value=1e6, allow_nan=False)
bounds = st.lists(
    st.floats(min_value=1e-6, max_value=1e5, allow_nan=False), min_size=1, max_size=12, unique=True
).map(sorted)


def _exposition(family: Metric) -> str:
    return text([family]).decode()


def _reference(name: str, bounds: list[float], observed: list[float], **labels: str) -> str:
    registry = CollectorRegistry()
    reference = Reference(name, "Doc.", list(labels), buckets=bounds, registry=registry)
    child = reference.labels(**labels) if labels else reference
    for value in observed:
        child.observe(value)
    text = generate_latest(registry).decode()
    return "\n".join(line for line in text.splitlines() if "_created" not in line) + "\n"


@given(bounds, st.lists(values, max_size=40))
def test_same_exposition_as_prometheus_client(bounds: list[float], observed: list[float]) -> None:
    ours = Histogram(bounds)
    for value in observed:
        ours.observe(value)
    assert ours.count == len(observed)
    text = _exposition(ours.family("x_seconds", "Doc."))
    assert text == _reference("x_seconds", bounds, observed)


@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), values), max_size=40))
def test_labelled_histograms_match_one_child_each(pairs: list[tuple[str, float]]) -> None:
    ours = LabelledHistograms(["kind"])
    for kind, value in pairs:
        ours.labels(kind).observe(value)
    registry = CollectorRegistry()
    reference = Reference("y_seconds", "Doc.", ["kind"], registry=registry)
    for kind, value in pairs:
        reference.labels(kind=kind).observe(value)
    expected = [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]
    got = _exposition(ours.family("y_seconds", "Doc.")).splitlines()
    assert sorted(got) == sorted(expected)


@pytest.mark.parametrize("bad", [[], [2.0, 1.0], [1.0, 1.0], [math.nan]])
def test_bounds_must_ascend(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="ascending"):
        Histogram(bad)


def test_default_bounds_are_prometheus_clients() -> None:
    assert (*DEFAULT_BUCKETS, math.inf) == Reference.DEFAULT_BUCKETS

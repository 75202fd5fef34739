"""The runtime's own text exposition and metric families, held to prometheus_client's.

The same families, built once with ``sidecars.runtime.families`` and once with
``prometheus_client.core`` by the same calls, must give the bytes prometheus_client's
``generate_latest`` writes; a user's collector built on prometheus_client must too, since
the runtime serves it. promtool checks a real helper's scrape elsewhere
(``tests/test_readme.py``, ``tests/*/test_metrics.py``).
"""

from __future__ import annotations

import math
import resource
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import prometheus_client
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import core as reference
from prometheus_client.utils import floatToGoString

from sidecars.runtime import families as ours
from sidecars.runtime.exposition import go_float, text
from sidecars.runtime.metrics import HelperRegistry, new_registry
from sidecars.runtime.process import ProcessCollector

floats = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**12), 10**12).map(float)
names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: n not in ("le", "quantile") and not n.startswith("__")
)
texts = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['a"b', "back\\slash", "new\nline", "\\n", ""]
)


@given(floats)
def test_numbers_are_written_as_prometheus_client_writes_them(value: float) -> None:
    assert go_float(value) == cast(Callable[[float], str], floatToGoString)(value)


@dataclass
class Spec:
    """One family and the calls that fill it, replayed on either library's classes."""

    kind: str
    name: str
    doc: str
    labels: list[str]
    rows: list[tuple[list[str], Any]]

    def build(self, lib: Any) -> Any:
        cls = {
            "counter": lib.CounterMetricFamily,
            "gauge": lib.GaugeMetricFamily,
            "unknown": lib.UnknownMetricFamily,
            "summary": lib.SummaryMetricFamily,
            "histogram": lib.HistogramMetricFamily,
        }[self.kind]
        family = cls(self.name, self.doc, labels=self.labels)
        for values, row in self.rows:
            if self.kind == "counter":
                value, created, timestamp = row
                family.add_metric(values, value, created, timestamp)
            elif self.kind in ("gauge", "unknown"):
                value, timestamp = row
                family.add_metric(values, value, timestamp)
            elif self.kind == "summary":
                family.add_metric(values, *row)
            else:
                buckets, total = row
                family.add_metric(values, buckets, total)
        return family


def _row(kind: str) -> st.SearchStrategy[Any]:
    timestamps = st.none() | st.floats(0, 2e9)
    if kind == "counter":
        return st.tuples(floats, st.none() | st.floats(0, 2e9), timestamps)
    if kind in ("gauge", "unknown"):
        return st.tuples(floats, timestamps)
    if kind == "summary":
        return st.tuples(st.integers(0, 10**6), floats)
    bounds = st.lists(st.floats(-10, 1e9), min_size=1, max_size=5, unique=True).map(sorted)
    counts = st.lists(st.integers(0, 100), min_size=6, max_size=6)
    return st.tuples(bounds, counts, st.none() | floats).map(
        lambda b: (
            [
                (bound, float(sum(b[1][: i + 1])))
                for i, bound in enumerate([*map(go_float, b[0]), "+Inf"])
            ],
            b[2],
        )
    )


@st.composite
def specs(draw: Callable[..., Any]) -> Spec:
    kind = draw(st.sampled_from(["counter", "gauge", "unknown", "summary", "histogram"]))
    labels = draw(st.lists(label_names, max_size=3, unique=True))
    values = st.lists(texts, min_size=len(labels), max_size=len(labels))
    rows = draw(st.lists(st.tuples(values, _row(kind)), max_size=4))
    return Spec(kind, draw(names), draw(texts), labels, rows)


class _Collector:
    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


def _theirs(families: list[Any]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(families))
    return generate_latest(registry)


@given(st.lists(specs(), max_size=4))
def test_same_bytes_as_prometheus_client(spec_list: list[Spec]) -> None:
    expected = _theirs([spec.build(reference) for spec in spec_list])
    assert text(spec.build(ours) for spec in spec_list) == expected
    assert text(spec.build(reference) for spec in spec_list) == expected


def test_a_prometheus_client_metric_is_served_from_the_registry() -> None:
    """A custom helper's ``Counter(..., registry=ctx.registry)`` keeps working."""
    registry = HelperRegistry()
    served = cast(Any, registry)  # prometheus_client only calls its register()
    counter = prometheus_client.Counter("reloads", "Reloads.", ["outcome"], registry=served)
    counter.labels("ok").inc(3)
    assert b'reloads_total{outcome="ok"} 3.0\n' in text(registry.collect())
    assert b"# TYPE reloads_created gauge\n" in text(registry.collect())


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: ours.GaugeMetricFamily("1x", "Doc."), "invalid metric name"),
        (lambda: ours.Metric("x", "Doc.", "timer"), "invalid metric type"),
        (lambda: ours.GaugeMetricFamily("x", "Doc.", value=1, labels=["a"]), "not both"),
        (lambda: ours.SummaryMetricFamily("x", "Doc.", count_value=1), "together"),
        (lambda: ours.HistogramMetricFamily("x", "Doc.", sum_value=1.0), "needs buckets"),
    ],
)
def test_a_wrong_family_is_refused_as_prometheus_client_refuses_it(
    make: Callable[[], object], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        make()


def test_process_families_are_prometheus_clients() -> None:
    """Same names, help, types and (within what a few calls move) values."""
    got = {f.name: f for f in ProcessCollector().collect()}
    expected = {f.name: f for f in prometheus_client.ProcessCollector(registry=None).collect()}
    assert list(got) == list(expected)
    for name, family in expected.items():
        mine = got[name]
        assert (mine.documentation, mine.type) == (family.documentation, family.type)
        ((sample,), (theirs,)) = (mine.samples, family.samples)
        assert (sample.name, sample.labels) == (theirs.name, theirs.labels)
        assert math.isclose(sample.value, theirs.value, rel_tol=0.05, abs_tol=2.0), name
    assert got["process_max_fds"].samples[0].value == resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def test_process_families_are_left_out_without_proc(tmp_path: Path) -> None:
    assert ProcessCollector(tmp_path).collect() == []


def test_a_new_registry_serves_the_process_families() -> None:
    scraped = text(new_registry().collect()).decode()
    assert "# TYPE process_cpu_seconds_total counter\n" in scraped
    assert 'sidecars_scrape_collector_success{collector="process"} 1.0\n' in scraped


def test_a_family_name_registered_twice_is_refused_at_register() -> None:
    """As prometheus_client's registry refuses a duplicated timeseries: two families of one
    name would make the scrape invalid."""
    registry = new_registry()
    with pytest.raises(ValueError, match="process_cpu_seconds"):
        registry.register(ProcessCollector())
    served = cast(Any, registry)
    prometheus_client.Counter("reloads", "Reloads.", registry=served)
    with pytest.raises(ValueError, match="reloads"):
        prometheus_client.Counter("reloads", "Reloads again.", registry=served)

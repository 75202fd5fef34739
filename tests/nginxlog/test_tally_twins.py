"""The C and Python twins of the row counting give the same store and the same rejections,
for any rows (sizes that are digits, or signs, spaces, underscores, too long, empty)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecars.nginxlog.routes import RouteRules
from sidecars.nginxlog.store import Store
from sidecars.nginxlog.tally import Tally, add_rows

if os.environ.get("SIDECARS_COMPILED") == "1" and add_rows is None:
    raise pytest.UsageError("SIDECARS_COMPILED=1 but sidecars.nginxlog._tally is not built")
pytestmark = pytest.mark.skipif(add_rows is None, reason="the C twin is not built")

FIELDS = ("method", "status", "bytes", "request_time", "request_length")
SIZES = st.one_of(
    st.integers(0, 10**20).map(lambda n: str(n).encode()),
    st.sampled_from([b"", b"-", b"+5", b" 7", b"1_000", b"12a", b"0x10", b"\xd9\xa3"]),
)
ROW = st.tuples(
    st.sampled_from([b"GET", b"POST", b"BREW"]),
    st.sampled_from([b"200", b"404", b"2OO"]),
    SIZES,
    st.sampled_from([b"0.1", b"-", b"2", b"x"]),
    SIZES,
)


def _run(batches: list[list[tuple[bytes, ...]]], native: bool, fields: tuple[str, ...]) -> object:
    store = Store(("method", "status"), (0.5, 1.0), 100)
    tally = Tally(store, fields, {}, RouteRules, native=native)
    for batch in batches:
        tally.add(list(batch))
    tally.fold(now=1.0)
    series = {k: (s.requests, s.sums, s.hists) for k, s in store.series.items()}
    return series, store.parse_errors, dict(tally.rejected)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(ROW, max_size=30), max_size=4))
def test_same_results_with_sizes(batches: list[list[tuple[bytes, ...]]]) -> None:
    assert _run(batches, True, FIELDS) == _run(batches, False, FIELDS)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(ROW.map(lambda r: (r[0], r[1], r[3])), max_size=30), max_size=4))
def test_same_results_without_sizes(batches: list[list[tuple[bytes, ...]]]) -> None:
    fields = ("method", "status", "request_time")
    assert _run(batches, True, fields) == _run(batches, False, fields)


def test_rows_too_wide_for_the_c_twin_are_counted_by_python() -> None:
    wide = tuple(f"$v{i}" for i in range(70))
    rows: list[tuple[bytes, ...]] = [(b"GET", b"200", b"12", b"0.1", b"7", *(b"x",) * 70)] * 3
    assert _run([rows], True, FIELDS + wide) == _run([rows], False, FIELDS + wide)
    narrow: list[tuple[bytes, ...]] = [(b"GET", b"200", b"0.1", *(b"x",) * 70)] * 3  # all kept
    fields = ("method", "status", "request_time", *wide)
    assert _run([narrow], True, fields) == _run([narrow], False, fields)

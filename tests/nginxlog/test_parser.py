"""Whole chunks parsed at once give exactly what parsing each line alone gives."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from sidecars.nginxlog.logformat import LogFormat
from sidecars.nginxlog.parser import JsonLinesParser, LineParser
from sidecars.nginxlog.routes import RouteRules
from sidecars.nginxlog.store import Store
from sidecars.nginxlog.tally import Tally

from .conftest import REFERENCE

GOOD = (
    '10.0.0.{n} - - [22/Nov/2026:04:00:01 +0000] "GET /p{n} HTTP/1.1" {status} 12 "-" '
    '"agent with quote" 0.0{n} -'
)


def _line(n: int) -> bytes:
    return GOOD.format(n=n, status=200 + n % 3).encode()


_JUNK = (
    st.binary(max_size=80)
    .map(lambda b: b.replace(b"\n", b""))
    .filter(lambda b: not b.startswith(b"10."))
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 9).map(_line), _JUNK), max_size=120))
def test_a_chunk_counts_like_its_lines_one_by_one(lines: list[bytes]) -> None:
    parser = LineParser(LogFormat.parse(REFERENCE), {"method", "path", "status"})
    rows: list[tuple[bytes, ...]] = []
    bad: list[bytes] = []
    chunk = b"".join(line + b"\n" for line in lines)
    assert parser.scan(chunk, rows, bad) == len(lines)
    expected: Counter[tuple[bytes, ...]] = Counter()
    expected_bad = []
    for line in lines:
        match = parser.regex.match(line)
        if match is None:
            expected_bad.append(line)
        else:
            expected[match.groups()] += 1
    assert Counter(rows) == expected
    assert bad == expected_bad
    assert len(rows) + len(bad) == len(lines)


def test_a_large_chunk_with_rare_bad_lines() -> None:
    parser = LineParser(LogFormat.parse(REFERENCE), {"method", "status"})
    lines = [_line(i % 10) if i % 997 else b"broken" for i in range(20_000)]
    rows: list[tuple[bytes, ...]] = []
    bad: list[bytes] = []
    assert parser.scan(b"\n".join(lines) + b"\n", rows, bad) == 20_000
    assert len(bad) == 21
    assert len(rows) == 20_000 - 21


def test_a_request_without_a_path_reads_the_same_beside_a_bad_line() -> None:
    """Lines matched one by one (the chunk has a bad line) give an empty path, as
    ``findall`` does, never None, which the counting cannot join."""
    parser = LineParser(LogFormat.parse('x "$request" $status'), {"method", "path", "status"})
    for chunk in (b'x "GET" 200\n', b'x "GET" 200\nbad\n'):
        rows: list[tuple[bytes, ...]] = []
        parser.scan(chunk, rows, [])
        assert rows == [(b"GET", b"", b"200")]


def test_json_lines() -> None:
    parser = JsonLinesParser({"method", "status", "request_time"})
    rows: list[tuple[bytes, ...]] = []
    bad: list[bytes] = []
    chunk = b'{"request": "POST /x HTTP/1.1", "status": 201, "request_time": "0.5"}\n[1]\nnope\n'
    assert parser.scan(chunk, rows, bad) == 3
    assert bad == [b"[1]", b"nope"]
    fields = dict(zip(parser.fields, rows[0], strict=False))
    assert fields == {"method": b"POST", "status": b"201", "request_time": b"0.5"}


def test_json_lines_without_sizes_still_count() -> None:
    parser = JsonLinesParser({"method", "status", "bytes", "request_time"})
    store = Store(("method", "status"), (1.0,), 10)
    tally = Tally(store, parser.fields, {}, RouteRules)
    rows: list[tuple[bytes, ...]] = []
    parser.scan(b'{"request_method": "GET", "status": 200}\n', rows, [])
    tally.add(rows)
    tally.fold()
    assert store.parse_errors == 0
    assert store.series[("GET", "200")].requests == 1

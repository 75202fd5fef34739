"""The C scanner gives the regex's rows and rejected lines, alone and fused with the
counting, for formats of every kind of piece and for hostile lines (quotes, backslashes,
missing fields, \\r, NUL, very long fields, bad numbers)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sidecars.nginxlog.logformat import COMBINED, LogFormat
from sidecars.nginxlog.native import count_lines, scan_rows
from sidecars.nginxlog.parser import LineParser
from sidecars.nginxlog.routes import RouteRules
from sidecars.nginxlog.store import Store
from sidecars.nginxlog.tally import Tally
from sidecars.testing import HelperProcess

from .conftest import DETAILED, JSON_LOG, REFERENCE

if os.environ.get("SIDECARS_COMPILED") == "1" and (scan_rows is None or count_lines is None):
    raise pytest.UsageError("SIDECARS_COMPILED=1 but sidecars.nginxlog._tally is not built")
pytestmark = pytest.mark.skipif(
    scan_rows is None or count_lines is None, reason="the C scanner is not built"
)

FORMATS = [
    REFERENCE,  # runs, a request, the rest of the line
    COMBINED,  # ends with a literal
    DETAILED,  # a list ($upstream_addr), the connect time last
    JSON_LOG,  # escape=json: escaped values and request
    '$time_local $upstream_response_time "$request" $status',  # a strict time, a list
    '[$time_local] $status $body_bytes_sent "$request_method $uri" $bytes_sent:end',
]
WANTED = ["method", "path", "status", "bytes", "request_time", "upstream_time", "host"]
WANTED_SETS = st.sets(st.sampled_from([*WANTED, "upstream", "request_length"]), max_size=6)

_BYTES = b' "\\,:[]-+./0123456789abcXYZ\r\x00\t\xc3\xa9'
VALUES = st.one_of(
    st.binary(max_size=12).map(lambda b: bytes(c for c in b if c in _BYTES)),
    st.lists(st.sampled_from(list(_BYTES)), max_size=12).map(bytes),
    st.sampled_from(
        [
            b"",
            b"-",
            b"200",
            b"2OO",
            b"12",
            b"+7",
            b"0.123",
            b"1e3",
            b"0.1, 0.2 : 0.3",
            b"0.1, ",
            b"0.1 : ",
            b", 0.2",
            b"127.0.0.1:80, 127.0.0.2:80",
            b"22/Nov/2026:04:00:01 +0000",
            b"22/Nov/2026:04:00:01 0000",
            b"GET /p?q=1 HTTP/1.1",
            b"GET",
            b"GET /x",
            b"GET  /x",
            b'GET /\\"x\\" HTTP/1.1',
            b"POST /a\\",
            b"\\",
            b'\\"',
            b"x" * 5000,
            b"9" * 30,
        ]
    ),
)


GOOD = {  # and values that nearly fit
    "time_local": [
        b"22/Nov/2026:04:00:01 +0000",
        b"22/N0v/2026:04:00:01 +0000",
        b"22/Nov/2026:04:00:01 *0130",
    ],
    "request": [b"GET /p?q=1 HTTP/1.1", b"GET", b"GET  /x", b'POST /\\"a\\" x', b"GET /\\"],
    "status": [b"200", b"404", b"2OO", b""],
    "upstream": [b"0.1, 0.2 : 0.3", b"0.012", b"-", b"", b"0.1 :0.2", b"0.1,0.2", b"1, 2 :"],
    "size": [b"12", b"0", b"+7", b"9" * 18, b"1" + b"0" * 19, b""],
    "other": [b"-", b"10.0.0.1", b"example.com", b"0.250", b""],
}


def _good(name: str) -> st.SearchStrategy[bytes]:
    """Values that fit the variable, so that most lines match and the values decide."""
    kind = name if name in GOOD else "other"
    if name.startswith("upstream_"):
        kind = "upstream"
    elif name in ("body_bytes_sent", "bytes_sent", "request_length"):
        kind = "size"
    return st.sampled_from(GOOD[kind])


def _shaped(format_text: str) -> st.SearchStrategy[bytes]:
    """Lines laid out as the format: values that fit three times in four, else hostile
    ones; a literal now and then replaced."""
    pieces = LogFormat.parse(format_text).pieces
    parts = [
        st.sampled_from([literal.encode()] * 12 + [b"", b" ", b'"', b"\\"])
        if literal is not None
        else st.one_of(_good(name or ""), _good(name or ""), _good(name or ""), VALUES)
        for literal, name in pieces
    ]
    return st.tuples(*parts).map(b"".join)


def _lines(format_text: str) -> st.SearchStrategy[list[bytes]]:
    line = st.one_of(_shaped(format_text), _shaped(format_text), st.binary(max_size=60))
    return st.lists(line.map(lambda b: b.replace(b"\n", b"")), max_size=40)


def _chunk(lines: list[bytes], tail: bytes) -> tuple[bytes, int]:
    """The lines, each with its newline, then text that is not yet a line."""
    whole = b"".join(line + b"\n" for line in lines)
    return whole + tail.replace(b"\n", b""), len(whole)


def _scan(parser: LineParser, chunk: bytes, end: int) -> object:
    rows: list[tuple[bytes, ...]] = []
    bad: list[bytes] = []
    lines = parser.scan(chunk, rows, bad, end)
    return lines, rows, bad


def _count(
    format_text: str, wanted: set[str], chunks: list[tuple[bytes, int]], native: bool
) -> object:
    parser = LineParser(LogFormat.parse(format_text), wanted, native=native)
    assert (parser.steps is not None) == native
    store = Store(("method", "status"), (0.5, 1.0), 1000)
    tally = Tally(store, parser.fields, {}, RouteRules, native=native)
    bad: list[bytes] = []
    lines = [tally.scan(parser, chunk, bad, end) for chunk, end in chunks]
    tally.fold(now=1.0)
    series = {k: (s.requests, s.sums, s.hists) for k, s in store.series.items()}
    return lines, bad, series, store.parse_errors, dict(tally.rejected)


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, set[str], list[bytes], bytes]:
    format_text = draw(st.sampled_from(FORMATS))
    return format_text, draw(WANTED_SETS), draw(_lines(format_text)), draw(st.binary(max_size=20))


@settings(max_examples=400, deadline=None)
@given(_case())
def test_the_same_rows_and_rejected_lines(case: tuple[str, set[str], list[bytes], bytes]) -> None:
    format_text, wanted, lines, tail = case
    log_format = LogFormat.parse(format_text)
    native = LineParser(log_format, wanted)
    assert native.steps is not None, "each of these formats is one the C scanner runs"
    chunk, end = _chunk(lines, tail)
    assert _scan(native, chunk, end) == _scan(
        LineParser(log_format, wanted, native=False), chunk, end
    )


@settings(max_examples=200, deadline=None)
@given(_case(), st.integers(1, 4))
def test_the_same_counts_matched_and_counted_in_one_pass(
    case: tuple[str, set[str], list[bytes], bytes], parts: int
) -> None:
    format_text, wanted, lines, tail = case
    step = max(1, len(lines) // parts)
    chunks = [_chunk(lines[i : i + step], tail) for i in range(0, len(lines), step)]
    assert _count(format_text, wanted, chunks, True) == _count(format_text, wanted, chunks, False)


_LITERALS = st.sampled_from([" ", " - ", '"', '" "', "[", "] ", ":", ", ", "x", "é "])
_VARIABLES = st.sampled_from(
    [
        "status",
        "request",
        "time_local",
        "upstream_response_time",
        "upstream_addr",
        "body_bytes_sent",
        "request_time",
        "remote_addr",
        "uri",
        "host",
    ]
).map(lambda name: "${" + name + "}")


@st.composite
def _random_format(draw: st.DrawFn) -> str:
    """Variables between literals (adjacent ones too, which the regex keeps)."""
    pieces = draw(
        st.lists(st.tuples(_VARIABLES, st.one_of(_LITERALS, st.just(""))), min_size=1, max_size=6)
    )
    text = draw(_LITERALS) + "".join(variable + literal for variable, literal in pieces)
    escape = draw(st.sampled_from(["", "escape=json ", "escape=none "]))
    return f"log_format t {escape}'{text}';"


@settings(max_examples=300, deadline=None)
@given(_random_format(), WANTED_SETS, st.data())
def test_any_format_the_scanner_takes(
    format_text: str, wanted: set[str], data: st.DataObject
) -> None:
    log_format = LogFormat.parse(format_text)
    native = LineParser(log_format, wanted)
    assume(native.steps is not None)
    chunk, end = _chunk(data.draw(_lines(log_format.text)), data.draw(st.binary(max_size=20)))
    assert _scan(native, chunk, end) == _scan(
        LineParser(log_format, wanted, native=False), chunk, end
    )
    assert _count(format_text, wanted, [(chunk, end)], True) == _count(
        format_text, wanted, [(chunk, end)], False
    )


def test_formats_the_regex_keeps() -> None:
    """Adjacent variables (a lazy repeat) and a request before a space can backtrack."""
    for text in ("$status$request_time", "$request $status", "x $request"):
        assert LineParser(LogFormat.parse(text), {"method", "status"}).steps is None


@pytest.mark.parametrize(
    ("log_format", "matching"),
    [(REFERENCE, "C scanner"), ("$remote_addr $request $status", "regex")],
)
async def test_the_start_up_log_names_what_matches_the_lines(
    log_format: str, matching: str, tmp_path: Path
) -> None:
    """An operator can tell whether a format got the scanner; ``$request`` followed by a
    space is one the regex keeps."""
    log = tmp_path / "access.log"
    log.write_text("")
    env = {"NGINXLOG_FORMAT": log_format, "NGINXLOG_FILES": str(log)}
    async with HelperProcess("nginxlog", env) as helper:
        entry = await helper.wait_log(lambda e: e.get("msg") == "log format read")
    assert (entry["line_matching"], entry["row_counting"]) == (matching, "C")

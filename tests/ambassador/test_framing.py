"""HTTP/1.1 framing: heads that must be refused, bodies whose end must be found exactly."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecars.ambassador.http import framing
from sidecars.ambassador.http.framing import (
    HOP_BY_HOP,
    BadMessage,
    Chunked,
    line_pattern,
    parse_head,
    read_head,
)

# every case against both head readers (the head_reader fixture in conftest)
pytestmark = pytest.mark.usefixtures("head_reader")


def test_request_head_framing_and_lookups() -> None:
    head = parse_head(
        b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nX-Key:  v1 ", request=True
    )
    assert head.first == [b"POST", b"/a?b=1", b"HTTP/1.1"]
    assert (head.body, head.length, head.close) == ("length", 12, False)
    assert head.get(b"x-key") == b"v1"
    assert head.get(b"missing") is None


def test_connection_header_and_versions_decide_keep_alive() -> None:
    assert parse_head(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close", request=True).close
    assert parse_head(b"GET / HTTP/1.0", request=True).close
    assert not parse_head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive", request=True).close


def test_response_without_length_reads_to_eof() -> None:
    assert parse_head(b"HTTP/1.1 200 OK\r\nServer: x", request=False).body == "eof"
    assert parse_head(b"HTTP/1.1 200", request=False).first[1] == b"200"


def test_a_head_is_read_from_the_start_of_a_read_once_its_blank_line_is_there() -> None:
    first = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    data = first + b"GET /b HTTP/1.1\r\n"
    head = read_head(data, request=True)
    assert head is not None
    assert (head.raw, head.size) == (first[:-4], len(first))
    assert read_head(data[head.size :], request=True) is None
    for cut in range(len(first)):
        assert read_head(first[:cut], request=True) is None, cut


def test_field_names_are_matched_whatever_their_case() -> None:
    head = parse_head(
        b"POST / HTTP/1.1\r\nHOST: a\r\ncOnTeNt-LeNgTh: 7\r\nCONNECTION: Keep-Alive",
        request=True,
    )
    assert (head.host, head.body, head.length, head.tokens, head.hop) == (
        b"a",
        "length",
        7,
        frozenset({b"keep-alive"}),
        1,
    )


@pytest.mark.parametrize(
    ("start", "status"),
    [(b"HTTP/1.1 204 No Content", 204), (b"HTTP/1.0 404", 404), (b"HTTP/1.1 20 OK", -1),
     (b"HTTP/1.1 2x0 OK", -1), (b"HTTP/1.1 +20 OK", -1), (b"HTTP/1.1 2000 OK", -1)],
)  # fmt: skip
def test_a_response_status_is_three_digits_or_unknown(start: bytes, status: int) -> None:
    assert parse_head(start, request=False).status == status


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/2.0",
        b"GET /",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1",
        b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip",
        b"GET / HTTP/1.1\r\nHost : x",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded",
        b"GET / HTTP/1.1\r\nHost: x\nContent-Length: 5",
        b"GET / HTTP/1.1\r\nHost: x\rContent-Length: 5",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\t",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + b"9" * 19,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length\t: 5",
        b"GET / HTTP/1.1\r\nHost: x\r",
    ],
)
def test_ambiguous_or_smuggling_heads_are_refused(raw: bytes) -> None:
    with pytest.raises(BadMessage):
        parse_head(raw, request=True)


def test_transfer_codings_are_read_as_a_list() -> None:
    request = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked"
    assert parse_head(request, request=True).body == "chunked"
    # a request coding other than chunked is one few servers decode: refused
    with pytest.raises(BadMessage):
        parse_head(request.replace(b": chunked", b": gzip\r\nTransfer-Encoding: chunked"), True)
    # a response whose last coding is not chunked ends when the server closes
    response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip"
    assert parse_head(response, request=False).body == "eof"
    padded = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, "  # refused in a request
    assert parse_head(padded, request=False).body == "chunked"
    # in a response Transfer-Encoding overrides Content-Length, which is dropped
    both = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
    head = parse_head(both, request=False)
    assert head.body == "chunked"
    assert head.raw == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"


def test_hop_by_hop_and_named_headers_are_removed() -> None:
    head = parse_head(
        b"GET / HTTP/1.1\r\nConnection: keep-alive, X-Private\r\nX-Private: 1\r\nHost: h",
        request=True,
    )
    assert head.tokens == {b"keep-alive", b"x-private"}
    assert head.without(line_pattern(HOP_BY_HOP)) == b"GET / HTTP/1.1\r\nHost: h"


BODY = b"5\r\nhello\r\n1a;ext=1\r\n" + b"x" * 26 + b"\r\n0\r\nX-Sum: t\r\n\r\n"


@given(st.lists(st.integers(min_value=1, max_value=len(BODY)), max_size=6))
def test_chunked_end_is_found_however_the_bytes_are_split(cuts: list[int]) -> None:
    data = BODY + b"NEXT"
    points = sorted({0, *[c for c in cuts if c < len(data)], len(data)})
    chunked = Chunked()
    consumed = 0
    for start, end in itertools.pairwise(points):
        piece = data[start:end]
        used = chunked.feed(piece)
        consumed += used
        if chunked.done:
            break
        assert used == len(piece)
    assert chunked.done
    assert consumed == len(BODY)


@given(st.lists(st.integers(min_value=1, max_value=len(BODY)), max_size=6))
def test_chunked_body_decodes_the_same_however_the_bytes_are_split(cuts: list[int]) -> None:
    points = sorted({0, *[c for c in cuts if c < len(BODY)], len(BODY)})
    chunked = Chunked()
    out: list[bytes] = []
    for start, end in itertools.pairwise(points):
        chunked.feed(BODY[start:end], 0, out)
    assert chunked.done
    assert b"".join(out) == b"hello" + b"x" * 26


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"+5\r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"1_0\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloab3\r\nabc\r\n0\r\n\r\n",
        b"5\r\nhello\r\n0\r\nX: a\rb\r\n\r\n",
        b"1" * 20 + b"\r\n",
    ],
)
def test_chunk_lines_a_lenient_server_could_read_otherwise_are_refused(body: bytes) -> None:
    with pytest.raises(BadMessage):
        Chunked().feed(body)


def test_chunk_extensions_and_upper_case_sizes_are_read() -> None:
    chunked = Chunked()
    body = b'A;name=value;q="a b"\r\n0123456789\r\n0\r\n\r\n'
    assert chunked.feed(body + b"NEXT") == len(body)
    assert chunked.done
    # whitespace around an extension is RFC 9112's BWS, but llhttp refuses it
    with pytest.raises(BadMessage):
        Chunked().feed(b"A ;name=value\r\n")


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close",
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-Connection: kept",
        b"GET / HTTP/1.1\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\nHost: h",
        b"GET / HTTP/1.1\r\nConnection: x-private\r\nX-Private: 1\r\nHost: h",
    ],
)
def test_cutting_a_lone_connection_line_equals_the_full_removal(raw: bytes) -> None:
    head = parse_head(raw, request=raw.startswith(b"GET"))
    pattern = line_pattern(HOP_BY_HOP)
    cut = head.without(pattern, hop_only=True)
    assert cut == head.without(pattern)
    assert b"\r\nConnection:" not in cut


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection:  Close ",
        b"GET / HTTP/1.1\r\nconnection: close\r\nHost: h",
    ],
)
def test_a_lone_connection_line_is_located_so_it_can_be_cut(raw: bytes) -> None:
    head = parse_head(raw, request=raw.startswith(b"GET"))
    line = head.raw[head.conn_at : head.conn_end].lower()
    assert line.startswith(b"\r\nconnection:")
    assert b"\r\n" not in line[2:]


def test_the_byte_loop_and_the_regex_read_the_same_fields() -> None:
    """The byte loop classifies names by hand; the other reader by the ``_KINDS`` table."""
    for name, kind in framing._KINDS.items():
        for spelling in (name, name.upper(), name.title()):
            assert framing._kind(spelling, 0, len(spelling)) == kind
    for other in (b"hosts", b"content-type", b"connections", b"t", b"x-forwarded-host"):
        assert framing._kind(other, 0, len(other)) == 0

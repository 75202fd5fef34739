"""Request framing against a reference parser: llhttp (Node.js's, through httptools).

A proxy and the server behind it must agree on where each request ends, or bytes one of
them takes for a body the other takes for a request (smuggling). So wherever the reference
accepts a request, the ambassador either refuses it or ends it at the same byte: with
llhttp strict, and with each of its leniencies on, as servers like nginx are lenient.
"""

from __future__ import annotations

import httptools
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sidecars.ambassador.http.framing import BadMessage, Chunked, read_head

# every case against both head readers (the head_reader fixture in conftest)
pytestmark = pytest.mark.usefixtures("head_reader")


NEXT = b"GET /next HTTP/1.1\r\nHost: n\r\n\r\n"
REFUSED, OPEN = -1, -2  # the message was refused, or has not ended within the bytes


def fields() -> st.SearchStrategy[bytes]:
    length = st.sampled_from(
        [b"0", b"3", b"5", b"05", b"+5", b"-1", b"5, 5", b"5 ", b"0x5", b"", b"9" * 21]
    )
    coding = st.sampled_from(
        [b"chunked", b"Chunked", b"gzip, chunked", b"chunked, gzip", b"xchunked",
         b"chunked,", b"identity", b"gzip", b"chunked\t", b"gzip,chunked"]
    )  # fmt: skip
    name_value = st.one_of(
        st.tuples(st.sampled_from([b"Content-Length", b"content-length", b"Content-Length "]),
                  length),
        st.tuples(st.sampled_from([b"Transfer-Encoding", b"transfer-encoding",
                                   b"Transfer-Encoding "]), coding),
        st.tuples(st.sampled_from([b"Host", b"X-Pad", b" X-Fold", b"Connection"]),
                  st.sampled_from([b"a", b"close", b"keep-alive"])),
    )  # fmt: skip
    return st.builds(
        lambda ending, nv, sep: ending + nv[0] + sep + nv[1],
        st.sampled_from([b"\r\n"] * 6 + [b"\n", b"\r"]),
        name_value,
        st.sampled_from([b":", b": ", b":\t"]),
    )


starts = st.sampled_from([b"POST / HTTP/1.1", b"POST / HTTP/1.0", b"GET / HTTP/1.1"])
bodies = st.sampled_from(
    [b"", b"hello", b"5\r\nhello\r\n0\r\n\r\n", b"5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
     b"0x5\r\nhello\r\n0\r\n\r\n", b"5\nhello\n0\n\n", b"5\r\nhelloab0\r\n\r\n", b"0\r\n\r\n"]
)  # fmt: skip


def ambassador_end(data: bytes) -> int:
    """Where the ambassador's client leg ends the first request in ``data``."""
    try:
        head = read_head(data, request=True)
    except BadMessage:
        return REFUSED
    if head is None:
        return OPEN
    start = head.size
    if head.body == "none":
        return start
    if head.body == "length":
        return start + head.length if start + head.length <= len(data) else OPEN
    chunked = Chunked()
    try:
        stop = chunked.feed(data, start)
    except BadMessage:
        return REFUSED
    return stop if chunked.done else OPEN


class _Ended:
    def __init__(self) -> None:
        self.ended = False

    def on_message_complete(self) -> None:
        self.ended = True


LENIENCIES = [
    "lenient_headers",
    "lenient_chunked_length",
    "lenient_transfer_encoding",
    "lenient_optional_lf_after_cr",
    "lenient_optional_cr_before_lf",
    "lenient_optional_crlf_after_chunk",
    "lenient_spaces_after_chunk_size",
]


def reference_end(data: bytes, leniency: str | None) -> int:
    """Where llhttp ends the first request, fed a byte at a time to find the exact byte."""
    seen = _Ended()
    parser = httptools.HttpRequestParser(seen)
    if leniency is not None:
        parser.set_dangerous_leniencies(**{leniency: True})
    for at in range(len(data)):
        try:
            parser.feed_data(data[at : at + 1])
        except httptools.HttpParserError:
            return REFUSED
        if seen.ended:
            return at + 1
    return OPEN


@pytest.mark.parametrize("leniency", [None, *LENIENCIES])
@settings(max_examples=300, deadline=None)
@given(start=starts, lines=st.lists(fields(), min_size=1, max_size=4), body=bodies)
@example(start=b"POST / HTTP/1.1", lines=[b"\r\nHost: x", b"\nContent-Length: 5"], body=b"hello")
def test_where_the_reference_accepts_a_request_both_end_it_at_the_same_byte(
    leniency: str | None, start: bytes, lines: list[bytes], body: bytes
) -> None:
    data = start + b"".join(lines) + b"\r\n\r\n" + body + NEXT
    ours = ambassador_end(data)
    reference = reference_end(data, leniency)
    if ours != REFUSED and reference != REFUSED:
        assert ours == reference, (data, ours, reference)


@pytest.mark.parametrize(
    "request_",
    [
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
        b"POST / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
)
def test_well_formed_requests_are_accepted_and_end_where_the_reference_ends_them(
    request_: bytes,
) -> None:
    """The property above holds trivially for a parser that refuses everything."""
    data = request_ + NEXT
    assert ambassador_end(data) == reference_end(data, None) == len(request_)

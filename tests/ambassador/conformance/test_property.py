"""Generated valid requests, pipelined and written in random pieces: each one reaches the
upstream once, with its method, target and body, or the client gets a 4xx for it (and it and
the requests after it reach nothing)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import Ambassador
from .harness import exchange, parse_h11, parse_llhttp

TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789-"
VALUE = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,;=/ ", max_size=20
)
OWS = st.sampled_from(["", " ", "\t", "  ", " \t"])


@dataclass(frozen=True)
class Generated:
    method: bytes
    target: bytes
    body: bytes
    raw: bytes


def _case(draw: st.DrawFn, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(name, flips, strict=True))


@st.composite
def requests(draw: st.DrawFn) -> Generated:
    method = draw(st.sampled_from(["GET", "HEAD", "DELETE", "OPTIONS", "POST", "PUT", "PATCH"]))
    segments = draw(st.lists(st.text(TOKEN + "._~", min_size=1, max_size=8), max_size=4))
    target = "/" + "/".join(segments)
    if draw(st.booleans()):
        target += "?" + draw(st.text(TOKEN + "=&", max_size=12))
    fields: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        name = "X-" + draw(st.text(TOKEN, min_size=1, max_size=10))
        value = draw(VALUE).strip(" ")
        for _ in range(draw(st.integers(1, 2))):  # a field given twice now and then
            fields.append(f"{_case(draw, name)}:{draw(OWS)}{value}{draw(OWS)}")
    host = f"{_case(draw, 'Host')}:{draw(OWS)}x{draw(OWS)}"
    fields.insert(draw(st.integers(0, len(fields))), host)
    body = b""
    framing = "none"
    if method in ("POST", "PUT", "PATCH"):
        body = draw(st.binary(max_size=300))
        framing = draw(st.sampled_from(["length", "chunked"]))
    payload = body
    if framing == "length":
        fields.append(f"{_case(draw, 'Content-Length')}:{draw(OWS)}{len(body)}")
    elif framing == "chunked":
        fields.append(f"{_case(draw, 'Transfer-Encoding')}:{draw(OWS)}{_case(draw, 'chunked')}")
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=4)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        upper = draw(st.booleans())
        payload = b"".join(
            (b"%X" if upper else b"%x") % len(piece) + b"\r\n" + piece + b"\r\n"
            for piece in pieces
            if piece
        )
        payload += b"0\r\n" + (b"X-Trailer: t\r\n" if draw(st.booleans()) else b"") + b"\r\n"
    fields = draw(st.permutations(fields)) if draw(st.booleans()) else fields
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f + "\r\n" for f in fields) + "\r\n"
    return Generated(method.encode(), target.encode(), body, head.encode() + payload)


@st.composite
def sessions(draw: st.DrawFn) -> tuple[list[Generated], list[bytes]]:
    sent = draw(st.lists(requests(), min_size=1, max_size=3))
    data = b"".join(r.raw for r in sent)
    cuts = sorted(draw(st.sets(st.integers(1, len(data) - 1), max_size=5)))
    writes = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return sent, writes


@pytest.mark.asyncio(loop_scope="module")
@settings(max_examples=60, deadline=None)
@given(session=sessions())
async def test_each_request_reaches_the_upstream_once(
    ambassador_alone: Ambassador, session: tuple[list[Generated], list[bytes]]
) -> None:
    sent, writes = session
    backend = ambassador_alone.backend
    backend.reset()
    out = await exchange(
        ambassador_alone.port,
        writes,
        expect=len(sent),
        methods=[r.method for r in sent],
        pause=0.001,
    )
    await asyncio.sleep(0)
    out.upstream = backend.reset()
    await asyncio.sleep(0.02)
    data = [bytes(conn.data) for conn in out.upstream]
    forwarded = [r for chunk in data for r in parse_llhttp(chunk).requests]
    assert forwarded == [r for chunk in data for r in parse_h11(chunk).requests]
    got = [(r.method, r.target, r.body) for r in forwarded]
    want = [(r.method, r.target, r.body) for r in sent]
    answers = out.finals
    assert not out.framing_error, out.summary()
    if len(got) < len(want):  # refused: a 4xx of the ambassador's own for the first one left out
        assert got == want[: len(got)], out.summary()
        assert len(answers) == len(got) + 1, out.summary()
        assert 400 <= answers[-1].status < 500, out.summary()
        assert not answers[-1].from_backend, out.summary()
    else:
        assert got == want, out.summary()
        assert [a.from_backend for a in answers] == [b"backend"] * len(want), out.summary()

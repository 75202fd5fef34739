"""Each response vector: the backend's raw answer to ``/first``, through HAProxy and through the
ambassador to a keep-alive client that then asks for ``/second`` on the same connection."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import Proxies
from .harness import Backend, Exchange, exchange_steps
from .vectors import RESPONSES, ResponseVector

ON_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

SECOND = b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n"


async def _through(port: int, backend: Backend, vector: ResponseVector, name: str) -> Exchange:
    backend.reset()
    backend.response, backend.close_after_response = vector.raw, vector.close
    first = vector.method + b" /first HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        out = await exchange_steps(port, [(first, vector.method), (SECOND, b"GET")], proxy=name)
        await asyncio.sleep(0)
        out.upstream = backend.reset()
    finally:
        backend.response = None
    await asyncio.sleep(0.02)
    return out


def test_vector_names_are_unique_and_enough() -> None:
    names = [v.name for v in RESPONSES]
    assert len(names) == len(set(names))
    assert len(names) >= 40


@ON_MODULE_LOOP
@pytest.mark.parametrize("vector", RESPONSES, ids=lambda v: v.name)
async def test_response(proxies: Proxies, vector: ResponseVector) -> None:
    ref, ours = await asyncio.gather(
        _through(proxies.haproxy.port, proxies.haproxy_backend, vector, "haproxy"),
        _through(proxies.ambassador_port, proxies.ambassador_backend, vector, "ambassador"),
    )
    problems = problems_of(vector, ref, ours)
    assert not problems, "\n".join([*problems, ref.summary(), ours.summary()])


def _firsts(exchange: Exchange) -> int:
    return sum(target.endswith(b"/first") for conn in exchange.upstream for target in conn.targets)


def problems_of(vector: ResponseVector, ref: Exchange, ours: Exchange) -> list[str]:
    problems: list[str] = []
    finals = ours.finals
    if ours.framing_error:
        problems.append(f"the client cannot frame what it got: {ours.framing_error}")
    if ref.finals and not finals:
        problems.append("HAProxy's client gets an answer to /first, the ambassador's none")
    upstream_502 = vector.raw.startswith((b"HTTP/1.1 502", b"HTTP/1.0 502"))
    ref_502 = bool(ref.finals) and ref.finals[0].status == 502 and not upstream_502
    if vector.differs is None and ref_502 and (not finals or finals[0].status != 502):
        got = finals[0].status if finals else "nothing"
        problems.append(f"HAProxy answers 502 for this response, the ambassador {got}")
    for extra in finals[1:2]:
        if extra.from_backend != b"second" and extra.status < 400:
            problems.append(
                f"the answer to /second is not the backend's: {extra.status} {extra.headers}"
            )
    if len(finals) > 2:
        problems.append(f"{len(finals)} answers to 2 requests")
    if ours.eof and ours.leftover and finals:  # (a truncated last response is fine)
        problems.append(f"bytes no response accounts for: {ours.leftover[:80]!r}")
    if _firsts(ours) > max(1, _firsts(ref)):
        problems.append(f"/first reached the backend {_firsts(ours)} times (a retry)")
    if vector.check is not None and (problem := vector.check(ours)):
        problems.append(problem)
    return problems

"""Each request vector through HAProxy and through the ambassador, to recording backends."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import Proxies
from .harness import Backend, Exchange, exchange, parse_h11, parse_llhttp
from .vectors import REQUESTS, Vector

ON_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")


async def _through(port: int, backend: Backend, vector: Vector, name: str) -> Exchange:
    backend.reset()
    out = await exchange(
        port,
        [vector.raw],
        expect=vector.requests,
        half_close=vector.half_close,
        methods=vector.methods,
        proxy=name,
    )
    await asyncio.sleep(0)
    out.upstream = backend.reset()
    await asyncio.sleep(0.02)  # the proxies see their upstream connections closed
    return out


def test_vector_names_are_unique_and_enough() -> None:
    names = [v.name for v in REQUESTS]
    assert len(names) == len(set(names))
    assert len(names) >= 150


@ON_MODULE_LOOP
@pytest.mark.parametrize("vector", REQUESTS, ids=lambda v: v.name)
async def test_request(proxies: Proxies, vector: Vector) -> None:
    ref, ours = await asyncio.gather(
        _through(proxies.haproxy.port, proxies.haproxy_backend, vector, "haproxy"),
        _through(proxies.ambassador_port, proxies.ambassador_backend, vector, "ambassador"),
    )
    problems = problems_of(vector, ref, ours)
    assert not problems, "\n".join([*problems, ref.summary(), ours.summary()])


def problems_of(vector: Vector, ref: Exchange, ours: Exchange) -> list[str]:
    problems: list[str] = []
    # (1) the backend never parses more requests than the client got backend answers for
    if ours.forwarded > ours.backend_answers:
        problems.append(
            f"smuggling: the backend parsed {ours.forwarded} requests, the client got "
            f"{ours.backend_answers} of their answers"
        )
    if ours.framing_error:
        problems.append(f"the client cannot frame the answers: {ours.framing_error}")
    # (2) where HAProxy refuses, the ambassador refuses too
    if (
        vector.differs is None
        and ref.refused(vector.requests)
        and not ours.refused(vector.requests)
    ):
        problems.append("HAProxy refuses this request, the ambassador does not")
    if vector.refuse and not ours.refused(vector.requests):
        problems.append("RFC 9112 (or the README) asks for a 4xx here; the ambassador does not")
    if ours.refused(vector.requests) and ours.forwarded and vector.requests == 1:
        problems.append("the ambassador refused, yet forwarded a request")
    # a proxy that leaves the client waiting where HAProxy answers
    if (
        vector.differs is None
        and ref.finals
        and not ours.finals
        and not ours.refused(vector.requests)
    ):
        problems.append("HAProxy answers; the ambassador leaves the client without an answer")
    # (3) what the ambassador forwards parses identically under llhttp and h11, cleanly
    for number, conn in enumerate(ours.upstream):
        data = bytes(conn.data)
        by_llhttp, by_h11 = parse_llhttp(data), parse_h11(data)
        if by_llhttp.requests != by_h11.requests:
            problems.append(
                f"upstream connection {number}: llhttp reads {by_llhttp.requests}, "
                f"h11 reads {by_h11.requests}"
            )
        for error in (by_llhttp.error, by_h11.error):
            if error:
                problems.append(f"upstream connection {number} is not clean HTTP: {error}")
    if vector.check is not None and (problem := vector.check(ours)):
        problems.append(problem)
    return problems

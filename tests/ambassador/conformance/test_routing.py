"""Absolute-form targets route by their authority and path (RFC 9112 3.2.2: the target's
authority replaces Host), on an ambassador with a host route and a prefix route."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from sidecars.testing import free_port

from ..conftest import start_ambassador
from .harness import Backend, Exchange, exchange, parse_llhttp

ON_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Routed:
    port: int
    backends: dict[str, Backend]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def routed(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Routed]:
    backends = {name: Backend(name) for name in ("default", "host", "prefix")}
    for backend in backends.values():
        await backend.start()
    port = free_port()
    listener = {
        "listen": f"127.0.0.1:{port}",
        "mode": "http",
        "pool_size": 1,
        "upstreams": [backends["default"].address],
        "routes": [
            {"host": "routed.example", "upstreams": [backends["host"].address]},
            {"prefix": "/v2/", "upstreams": [backends["prefix"].address]},
        ],
    }
    config = tmp_path_factory.mktemp("routes") / "ambassador.json"
    config.write_text(json.dumps({"listeners": [listener]}))
    amb = await start_ambassador({"AMBASSADOR_CONFIG_FILE": str(config)})
    try:
        yield Routed(port, backends)
    finally:
        if amb.process is not None and amb.process.returncode is None:
            await amb.stop()
        for backend in backends.values():
            await backend.stop()


# (name, request, backend that must get it, Host it must carry, whether a 400 is acceptable)
CASES = [
    ("origin-form-by-host", b"GET /a HTTP/1.1\r\nHost: routed.example\r\n\r\n", "host",
     b"routed.example", False),
    ("origin-form-by-prefix", b"GET /v2/a HTTP/1.1\r\nHost: x\r\n\r\n", "prefix", b"x", False),
    ("absolute-form-same-host", b"GET http://routed.example/a HTTP/1.1\r\n"
     b"Host: routed.example\r\n\r\n", "host", b"routed.example", False),
    ("absolute-form-no-host", b"GET http://routed.example/a HTTP/1.1\r\n\r\n", "host",
     b"routed.example", False),
    ("absolute-form-other-host", b"GET http://routed.example/a HTTP/1.1\r\nHost: x\r\n\r\n",
     "host", b"routed.example", True),
    ("absolute-form-host-header-routed", b"GET http://x/a HTTP/1.1\r\n"
     b"Host: routed.example\r\n\r\n", "default", b"x", True),
    ("absolute-form-by-prefix", b"GET http://x/v2/a HTTP/1.1\r\nHost: x\r\n\r\n", "prefix",
     b"x", False),
    ("absolute-form-port", b"GET http://routed.example:8080/a HTTP/1.1\r\n"
     b"Host: routed.example:8080\r\n\r\n", "host", b"routed.example:8080", False),
]  # fmt: skip


@ON_MODULE_LOOP
@pytest.mark.parametrize(
    ("raw", "where", "host", "may_refuse"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_absolute_form_routes_by_its_authority(
    routed: Routed, raw: bytes, where: str, host: bytes, may_refuse: bool
) -> None:
    for backend in routed.backends.values():
        backend.reset()
    out: Exchange = await exchange(routed.port, [raw])
    await asyncio.sleep(0)
    got = {name: backend.reset() for name, backend in routed.backends.items()}
    await asyncio.sleep(0.02)
    reached = {
        name: [r for conn in conns for r in parse_llhttp(bytes(conn.data)).requests]
        for name, conns in got.items()
    }
    counts = {name: len(requests) for name, requests in reached.items()}
    out.upstream = [conn for conns in got.values() for conn in conns]
    if may_refuse and out.own_errors and out.own_errors[0] == 400:
        assert not any(counts.values()), f"refused, yet forwarded: {counts}"
        return
    wanted = {name: int(name == where) for name in counts}
    assert counts == wanted, f"requests reaching each backend: {counts}; {out.summary()}"
    forwarded_host = reached[where][0].get_all(b"host")
    assert forwarded_host == [host], f"forwarded Host {forwarded_host}, expected {host!r}"

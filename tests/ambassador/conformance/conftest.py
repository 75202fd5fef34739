"""One recording backend per proxy, one HAProxy and one ambassador per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from sidecars.testing import HelperProcess, free_port

from ..conftest import start_ambassador
from .harness import Backend, HAProxy


@dataclass
class Proxies:
    haproxy: HAProxy
    haproxy_backend: Backend
    ambassador: HelperProcess
    ambassador_port: int
    ambassador_backend: Backend


def ambassador_env(port: int, backend: Backend) -> dict[str, str]:
    # the backend closes every connection after each vector, so a pooled connection never
    # carries bytes of two vectors (a pool of one: 0 is refused)
    return {
        "AMBASSADOR_MODE": "http",
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": backend.address,
        "AMBASSADOR_POOL_SIZE": "1",
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def proxies(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Proxies]:
    tmp: Path = tmp_path_factory.mktemp("haproxy")
    reference, ours = Backend("haproxy"), Backend("ambassador")
    await reference.start()
    await ours.start()
    haproxy = HAProxy(tmp, reference.address)
    port = free_port()
    amb = await start_ambassador(ambassador_env(port, ours))
    try:
        yield Proxies(haproxy, reference, amb, port, ours)
    finally:
        if amb.process is not None and amb.process.returncode is None:
            await amb.stop()
        haproxy.stop()
        await reference.stop()
        await ours.stop()


@dataclass
class Ambassador:
    process: HelperProcess
    port: int
    backend: Backend


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ambassador_alone() -> AsyncIterator[Ambassador]:
    """The ambassador and its recording backend, without HAProxy."""
    backend = Backend("ambassador")
    await backend.start()
    port = free_port()
    amb = await start_ambassador(ambassador_env(port, backend))
    try:
        yield Ambassador(amb, port, backend)
    finally:
        if amb.process is not None and amb.process.returncode is None:
            await amb.stop()
        await backend.stop()

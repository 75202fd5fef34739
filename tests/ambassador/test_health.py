"""Failure cases: dead, silent and unreachable upstreams; ejection and recovery."""

from __future__ import annotations

import asyncio
import socket

from sidecars.testing import free_port

from .conftest import RedisFactory, ambassador, redis_call, resp, wait_for


async def test_upstream_killed_mid_stream_ends_the_client_connection(
    redis_factory: RedisFactory,
) -> None:
    redis = redis_factory()
    port = free_port()
    env = {"AMBASSADOR_LISTEN": f"127.0.0.1:{port}", "AMBASSADOR_UPSTREAMS": redis.address}
    async with ambassador(env) as amb:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(resp("PING"))
        async with asyncio.timeout(10):
            assert await reader.readline() == b"+PONG\r\n"
        redis.stop()
        async with asyncio.timeout(10):
            try:
                rest = await reader.read()
            except ConnectionResetError:
                rest = b""
        assert rest == b""
        writer.close()

        async def closed() -> bool:
            active = await amb.sample("ambassador_listener_connections_active", listener="default")
            return active == 0.0

        await wait_for(closed, what="the connection to be gone from the ambassador")


async def test_silent_upstream_hits_the_idle_timeout() -> None:
    """The upstream accepts and never answers: the idle timeout ends the connection."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    upstream = server.sockets[0].getsockname()[1]
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
        "AMBASSADOR_IDLE_TIMEOUT": "500ms",
    }
    async with server, ambassador(env) as amb:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"anyone there?")
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()
        timeouts = await amb.sample(
            "ambassador_listener_timeouts_total", listener="default", kind="idle"
        )
        assert timeouts == 1.0
        for peer in accepted:
            peer.close()


def _blackhole() -> tuple[socket.socket, list[socket.socket], int]:
    """A port whose accept queue is full, so further SYNs go unanswered (connect hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    return listener, fillers, port


async def test_connect_timeout_retries_on_another_endpoint(redis_factory: RedisFactory) -> None:
    redis = redis_factory()
    listener, fillers, dead = _blackhole()
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{dead},{redis.address}",
        "AMBASSADOR_CONNECT_TIMEOUT": "300ms",
        "AMBASSADOR_EJECT_AFTER": "100",
    }
    try:
        async with ambassador(env) as amb:
            for _ in range(4):
                assert await redis_call(port, "PING") == b"+PONG\r\n"
            timeouts = await amb.sample(
                "ambassador_upstream_connect_timeouts_total", endpoint=f"127.0.0.1:{dead}"
            )
            assert timeouts is not None
            assert timeouts >= 1
    finally:
        for sock in (listener, *fillers):
            sock.close()


async def test_refusing_endpoint_is_ejected_and_comes_back(redis_factory: RedisFactory) -> None:
    good = redis_factory()
    dead_port = free_port()
    dead = f"127.0.0.1:{dead_port}"
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"{dead},{good.address}",
        "AMBASSADOR_EJECT_AFTER": "2",
        "AMBASSADOR_EJECT_TIME": "2s",
    }
    async with ambassador(env) as amb:
        for _ in range(6):
            assert await redis_call(port, "PING") == b"+PONG\r\n"
        ejections = await amb.sample("ambassador_upstream_ejections_total", endpoint=dead)
        assert ejections is not None
        assert ejections >= 1
        connects = await amb.sample("ambassador_upstream_connections_total", endpoint=dead)
        assert connects == 0.0
        redis_factory(port=dead_port)

        async def served_by_revived() -> bool:
            assert await redis_call(port, "PING") == b"+PONG\r\n"
            count = await amb.sample("ambassador_upstream_connections_total", endpoint=dead)
            return bool(count)

        await wait_for(served_by_revived, limit=15, what="the revived endpoint to get traffic")
        assert await amb.sample("ambassador_upstream_endpoint_healthy", endpoint=dead) == 1.0


async def test_no_endpoint_left_closes_the_client_and_counts_it() -> None:
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{free_port()}",
    }
    async with ambassador(env) as amb:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()
        assert (
            await amb.sample("ambassador_listener_upstream_failures_total", listener="default")
            == 1.0
        )

"""Volume: 1,000 concurrent connections, a churn soak, a 1 GiB transfer with checksum."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import struct
import threading
import zlib

import pytest

from sidecars.testing import HelperProcess, free_port

from .conftest import RedisFactory, ambassador, redis_call, resp, wait_for


async def _gone(amb: HelperProcess) -> bool:
    return await amb.sample("ambassador_listener_connections_active", listener="default") == 0.0


async def test_a_thousand_concurrent_connections(redis_factory: RedisFactory) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:  # this test holds 1,000 sockets and so do redis and the ambassador
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    redis = redis_factory()
    port = free_port()
    env = {"AMBASSADOR_LISTEN": f"127.0.0.1:{port}", "AMBASSADOR_UPSTREAMS": redis.address}
    async with ambassador(env) as amb:
        streams = []
        try:
            async with asyncio.timeout(60):
                for _ in range(1000):
                    streams.append(await asyncio.open_connection("127.0.0.1", port))
                for _, writer in streams:
                    writer.write(resp("PING"))
                replies = await asyncio.gather(*(reader.readline() for reader, _ in streams))
            assert replies == [b"+PONG\r\n"] * 1000
            active = await amb.sample("ambassador_listener_connections_active", listener="default")
            assert active == 1000.0
        finally:
            for _, writer in streams:
                writer.close()
        await wait_for(lambda: _gone(amb), limit=20, what="all connections to close")


@pytest.mark.slow
async def test_churn_soak_of_short_connections_with_aborts(redis_factory: RedisFactory) -> None:
    """Many short connections, some reset by the client mid-way: the process must survive."""
    redis = redis_factory()
    port = free_port()
    env = {"AMBASSADOR_LISTEN": f"127.0.0.1:{port}", "AMBASSADOR_UPSTREAMS": redis.address}
    total, workers = 6000, 40
    done = 0

    async def worker(index: int) -> None:
        nonlocal done
        for round_ in range(index, total, workers):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if round_ % 7 == 0:  # reset right away, maybe before the upstream connected
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            elif round_ % 7 == 1:  # half-close without a command
                writer.write_eof()
                await reader.read()
                writer.close()
            else:
                writer.write(resp("PING"))
                assert await reader.readline() == b"+PONG\r\n"
                writer.close()
            done += 1

    async with ambassador(env) as amb:
        async with asyncio.timeout(120):
            await asyncio.gather(*(worker(i) for i in range(workers)))
        assert done == total
        assert await redis_call(port, "PING") == b"+PONG\r\n"
        await wait_for(lambda: _gone(amb), limit=20, what="all connections to close")
        accepted = await amb.sample("ambassador_listener_connections_total", listener="default")
        assert accepted == total + 1
        assert amb.process is not None
        assert amb.process.returncode is None


def _sink(server: socket.socket, result: dict[str, int]) -> None:
    """Reads one connection to EOF, then answers with the count and CRC-32 of what came."""
    conn, _ = server.accept()
    crc, size = 0, 0
    with conn:
        while chunk := conn.recv(1 << 20):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
        conn.sendall(struct.pack("!QI", size, crc))
    result["size"], result["crc"] = size, crc


def _send(port: int, total: int) -> tuple[int, int, bytes]:
    block = os.urandom(1 << 20)
    crc = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for _ in range(total // len(block)):
            sock.sendall(block)
            crc = zlib.crc32(block, crc)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(60)
        answer = b""
        while len(answer) < 12 and (chunk := sock.recv(12)):
            answer += chunk
    return total, crc, answer


@pytest.mark.slow
async def test_one_gib_arrives_intact() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    upstream = server.getsockname()[1]
    result: dict[str, int] = {}
    thread = threading.Thread(target=_sink, args=(server, result), daemon=True)
    thread.start()
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
    }
    try:
        async with ambassador(env) as amb:
            async with asyncio.timeout(120):
                size, crc, answer = await asyncio.to_thread(_send, port, 1 << 30)
            assert struct.unpack("!QI", answer) == (size, crc)
            await asyncio.to_thread(thread.join, 10)
            assert result == {"size": 1 << 30, "crc": crc}
            await wait_for(lambda: _gone(amb), what="the connection to close")
            received = await amb.sample("ambassador_listener_received_bytes_total")
            assert received == float(1 << 30)
    finally:
        server.close()
        thread.join(5)

"""TCP mode with real peers: redis through the ambassador, ketama shards, half-close, PROXY."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path

from sidecars.testing import free_port

from .conftest import (
    RedisFactory,
    ambassador,
    echo,
    echo_until_eof,
    redis_call,
    resp,
    send_then_half_close,
)


async def test_redis_commands_pass_through_and_are_counted(redis_factory: RedisFactory) -> None:
    redis = redis_factory()
    port = free_port()
    env = {"AMBASSADOR_LISTEN": f"127.0.0.1:{port}", "AMBASSADOR_UPSTREAMS": redis.address}
    async with ambassador(env) as amb:
        assert await redis_call(port, "SET", "greeting", "hello") == b"+OK\r\n"
        assert await redis_call(port, "GET", "greeting") == b"$5\r\nhello\r\n"
        assert redis.command("GET", "greeting") == "hello"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(resp("PING") * 100)  # pipelined
        replies = b""
        async with asyncio.timeout(10):
            while replies.count(b"+PONG\r\n") < 100:
                replies += await reader.read(65536)
        writer.close()
        assert (
            await amb.sample("ambassador_upstream_connections_total", endpoint=redis.address) == 3.0
        )
        received = await amb.sample("ambassador_listener_received_bytes_total", listener="default")
        assert received is not None
        assert received >= len(resp("PING")) * 100


async def test_ketama_keeps_clients_on_their_shard_when_a_shard_is_added(
    redis_factory: RedisFactory, tmp_path: Path
) -> None:
    """tcp mode hashes the client address: 60 clients on distinct 127.0.0.x addresses."""
    shards = [redis_factory() for _ in range(4)]
    sources = [f"127.0.0.{i}" for i in range(10, 70)]

    def config(count: int, port: int) -> Path:
        path = tmp_path / f"shards{count}.json"
        upstreams = [shard.address for shard in shards[:count]]
        listener = {"listen": f"127.0.0.1:{port}", "lb": "ketama", "upstreams": upstreams}
        path.write_text(json.dumps({"listeners": [listener]}))
        return path

    port3, port4 = free_port(), free_port()
    async with ambassador({"AMBASSADOR_CONFIG_FILE": str(config(3, port3))}):
        for source in sources:
            assert await redis_call(port3, "SET", f"k{source}", "v", source=source) == b"+OK\r\n"
    owner = {}
    for source in sources:
        holders = [i for i, s in enumerate(shards[:3]) if s.command("EXISTS", f"k{source}") == "1"]
        assert len(holders) == 1
        owner[source] = holders[0]
    assert len(set(owner.values())) == 3, "60 clients should spread over all three shards"

    async with ambassador({"AMBASSADOR_CONFIG_FILE": str(config(4, port4))}):
        moved = []
        for source in sources:
            reply = await redis_call(port4, "GET", f"k{source}", source=source)
            if reply == b"$-1\r\n":
                moved.append(source)
                await redis_call(port4, "SET", f"k{source}", "v", source=source)
            else:
                assert reply == b"$1\r\nv\r\n"
    for source in moved:  # keys move only to the new shard, never between old ones
        assert shards[3].command("EXISTS", f"k{source}") == "1"
    assert 0 < len(moved) < len(sources) // 2


async def test_half_close_reaches_the_upstream_and_the_answer_comes_back() -> None:
    server = await asyncio.start_server(echo_until_eof, "127.0.0.1", 0)
    upstream = server.sockets[0].getsockname()[1]
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
    }
    async with server, ambassador(env):
        answer = await send_then_half_close(port, 100_000)
    assert answer == b"got 100000 bytes"


async def test_proxy_protocol_v1_and_v2_headers_reach_the_upstream() -> None:
    seen: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"hello"))
        writer.close()

    server = await asyncio.start_server(record, "127.0.0.1", 0)
    upstream = server.sockets[0].getsockname()[1]
    async with server:
        for version in ("v1", "v2"):
            port = free_port()
            env = {
                "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
                "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
                "AMBASSADOR_PROXY_PROTOCOL": version,
            }
            async with ambassador(env):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                client_port = writer.get_extra_info("sockname")[1]
                writer.write(b"hello")
                async with asyncio.timeout(10):
                    assert await reader.read() == b""
                writer.close()
            header = seen[-1]
            if version == "v1":
                expected = f"PROXY TCP4 127.0.0.1 127.0.0.1 {client_port} {port}\r\n".encode()
                assert header.startswith(expected)
            else:
                assert header[:12] == b"\r\n\r\n\x00\r\nQUIT\n"
                assert header[12:16] == b"\x21\x11\x00\x0c"
                assert header[16:24] == socket.inet_aton("127.0.0.1") * 2
                assert int.from_bytes(header[24:26], "big") == client_port
                assert int.from_bytes(header[26:28], "big") == port
            assert header.endswith(b"hello")


async def test_bulk_then_small_exchanges_keep_every_byte_in_order() -> None:
    """Megabytes and then small messages on one connection, twice: whatever a full
    destination left over is sent before the next read, so nothing is reordered."""
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    upstream = server.sockets[0].getsockname()[1]
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
    }
    bulk = os.urandom(3 << 20)
    async with server, ambassador(env) as amb:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async with asyncio.timeout(30):
            for round_ in range(2):
                writer.write(bulk)
                assert await reader.readexactly(len(bulk)) == bulk
                for index in range(20):
                    message = b"small %d.%d\n" % (round_, index)
                    writer.write(message)
                    assert await reader.readexactly(len(message)) == message
            writer.write_eof()
            assert await reader.read() == b""
        writer.close()
        sent = await amb.sample("ambassador_listener_sent_bytes_total", listener="default")
    assert sent is not None
    assert sent >= 2 * len(bulk)

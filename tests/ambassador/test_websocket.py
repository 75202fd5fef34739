"""http mode passes an Upgrade (WebSocket) on and relays the switched connection as bytes."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from sidecars.testing import free_port

from .conftest import ambassador


async def _websocket_server() -> tuple[web.AppRunner, int]:
    """A real aiohttp WebSocket server: greets, echoes text, and serves one plain page."""

    async def socket_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("hello")
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"echo {message.data}")
        return ws

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="plain")

    app = web.Application()
    app.router.add_get("/ws", socket_handler)
    app.router.add_get("/plain", plain)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


async def test_websocket_through_http_mode() -> None:
    runner, upstream = await _websocket_server()
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_MODE": "http",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
    }
    try:
        async with ambassador(env) as amb, aiohttp.ClientSession() as session:
            async with asyncio.timeout(20):
                async with session.get(f"http://127.0.0.1:{port}/plain") as response:
                    assert await response.text() == "plain"
                async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
                    assert await ws.receive_str() == "hello"
                    for index in range(3):
                        await ws.send_str(f"m{index}")
                        assert await ws.receive_str() == f"echo m{index}"
                    big = "x" * 300_000  # more than a socket buffer: flow control both ways
                    await ws.send_str(big)
                    assert await ws.receive_str() == f"echo {big}"
                    await ws.close()
                assert ws.close_code == aiohttp.WSCloseCode.OK
                async with session.get(f"http://127.0.0.1:{port}/plain") as response:
                    assert await response.text() == "plain"
            assert await amb.sample("ambassador_http_requests_total", code="1xx") == 1.0
    finally:
        await runner.cleanup()


async def test_tunnel_passes_half_close_and_the_upgrade_headers() -> None:
    """The upstream switches to a raw protocol, reads to EOF, answers and closes."""
    seen: list[bytes] = []

    async def switch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: count\r\n\r\n"
        )
        data = await reader.read()
        writer.write(b"got %d bytes" % len(data))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(switch, "127.0.0.1", 0)
    upstream = server.sockets[0].getsockname()[1]
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_MODE": "http",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
    }
    async with server, ambassador(env):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /count HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: count\r\n\r\n"
        )
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(b"y" * 200_000)
            writer.write_eof()
            answer = await reader.read()
        writer.close()
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"\r\nConnection: Upgrade\r\n" in head
    assert b"\r\nUpgrade: count\r\n" in head
    assert b"\r\nConnection: Upgrade\r\n" in seen[0]
    assert b"\r\nUpgrade: count\r\n" in seen[0]
    assert answer == b"got 200000 bytes"


async def test_an_unasked_101_is_a_bad_gateway() -> None:
    async def rogue(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(rogue, "127.0.0.1", 0)
    upstream = server.sockets[0].getsockname()[1]
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_MODE": "http",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
        "AMBASSADOR_RETRIES": "0",
    }
    async with server, ambassador(env):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(10):
            answer = await reader.readuntil(b"\r\n\r\n")
        writer.close()
    assert answer.startswith(b"HTTP/1.1 502 ")

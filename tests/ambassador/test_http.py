"""http mode with nginx upstreams and curl (or raw sockets) as the client."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path

from sidecars.testing import free_port

from .conftest import GZ_TEXT, NginxFactory, ambassador, curl, wait_for


def _env(port: int, *upstreams: str, **extra: str) -> dict[str, str]:
    env = {
        "AMBASSADOR_MODE": "http",
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": ",".join(upstreams),
    }
    env.update({f"AMBASSADOR_{key.upper()}": value for key, value in extra.items()})
    return env


async def test_headers_are_added_removed_and_forwarded_for(nginx_factory: NginxFactory) -> None:
    nginx = nginx_factory("a")
    port = free_port()
    env = _env(
        port,
        nginx.address,
        request_headers_add="X-Test: added",
        request_headers_remove="X-Drop",
        response_headers_add="X-Via: ambassador",
        response_headers_remove="X-Secret",
    )
    async with ambassador(env):
        result = await asyncio.to_thread(
            curl, "-i", "-H", "X-Drop: secret", "-H", "X-Forwarded-For: 10.1.1.1",
            f"http://127.0.0.1:{port}/echo?q=1",
        )  # fmt: skip
    head, _, body = result.stdout.partition("\n\n")  # text mode turned CRLF into LF
    assert head.startswith("HTTP/1.1 200")
    assert body == "name=a xff=10.1.1.1, 127.0.0.1 test=added drop=\n"
    assert "X-Via: ambassador" in head
    assert "X-Secret" not in head


async def test_keep_alive_client_requests_reuse_one_upstream_connection(
    nginx_factory: NginxFactory,
) -> None:
    nginx = nginx_factory("a")
    port = free_port()
    async with ambassador(_env(port, nginx.address)) as amb:
        url = f"http://127.0.0.1:{port}/hello.txt"
        result = await asyncio.to_thread(curl, url, url, url, url, url)
        assert result.stdout == "hello from a\n" * 5
        assert (
            await amb.sample("ambassador_upstream_connections_total", endpoint=nginx.address) == 1.0
        )
        assert await amb.sample("ambassador_http_requests_total", code="2xx") == 5.0
        count = await amb.sample("ambassador_http_request_duration_seconds_count")
        assert count == 5.0


async def test_routes_by_host_and_path_prefix(nginx_factory: NginxFactory, tmp_path: Path) -> None:
    a, b = nginx_factory("a"), nginx_factory("b")
    port = free_port()
    listener = {
        "listen": f"127.0.0.1:{port}",
        "mode": "http",
        "upstreams": [a.address],
        "routes": [
            {"host": "b.local", "upstreams": [b.address]},
            {"prefix": "/flaky", "upstreams": [b.address]},
        ],
    }
    config = tmp_path / "routes.json"
    config.write_text(json.dumps({"listeners": [listener]}))
    base = f"http://127.0.0.1:{port}"
    async with ambassador({"AMBASSADOR_CONFIG_FILE": str(config)}):
        plain = await asyncio.to_thread(curl, f"{base}/echo")
        by_host = await asyncio.to_thread(curl, "-H", "Host: b.local", f"{base}/echo")
        by_path = await asyncio.to_thread(curl, f"{base}/flaky")
    assert plain.stdout.startswith("name=a ")
    assert by_host.stdout.startswith("name=b ")
    assert by_path.stdout == "flaky b\n"


async def test_idempotent_requests_are_retried_on_another_endpoint(
    nginx_factory: NginxFactory,
) -> None:
    bad, good = nginx_factory("bad", flaky=503), nginx_factory("good")
    port = free_port()
    env = _env(port, bad.address, good.address, eject_after="1000", retry_budget="1")
    async with ambassador(env) as amb:
        url = f"http://127.0.0.1:{port}/flaky"
        gets = [await asyncio.to_thread(curl, "-w", " %{http_code}", url) for _ in range(6)]
        posts = [
            await asyncio.to_thread(curl, "-w", " %{http_code}", "-d", "x=1", url) for _ in range(6)
        ]
        retries = await amb.sample("ambassador_upstream_retries_total")
    assert [r.stdout for r in gets] == ["flaky good\n 200"] * 6
    assert retries is not None
    assert retries >= 1
    assert "flaky bad\n 503" in [r.stdout for r in posts], "a POST must not be retried"


async def test_chunked_upload_and_pipelined_request_on_one_connection(
    nginx_factory: NginxFactory,
) -> None:
    nginx = nginx_factory("a")
    port = free_port()
    async with ambassador(_env(port, nginx.address)):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
            b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        bodies = []
        async with asyncio.timeout(10):
            for _ in range(2):
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                bodies.append(await reader.readexactly(length))
        writer.close()
    assert bodies[0].startswith(b"name=a ")
    assert bodies[1] == b"hello from a\n"


async def test_large_download_streams_intact(nginx_factory: NginxFactory) -> None:
    nginx = nginx_factory("a")
    data = os.urandom(3 << 20)
    (nginx.root / "html" / "big.bin").write_bytes(data)
    port = free_port()
    async with ambassador(_env(port, nginx.address)):
        out = nginx.root / "download"
        result = await asyncio.to_thread(curl, "-o", str(out), f"http://127.0.0.1:{port}/big.bin")
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()


async def test_head_the_server_would_split_differently_is_refused(
    nginx_factory: NginxFactory,
) -> None:
    """nginx also ends header lines at a bare LF, so it would read five body bytes the
    ambassador does not know about: from the next request sent on the pooled connection."""
    nginx = nginx_factory("a")
    port = free_port()
    async with ambassador(_env(port, nginx.address)):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /hello.txt HTTP/1.1\r\nHost: x\nContent-Length: 5\r\n\r\n")
        async with asyncio.timeout(10):
            answer = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        after = await asyncio.to_thread(curl, f"http://127.0.0.1:{port}/hello.txt")
    assert answer.startswith(b"HTTP/1.1 400")
    assert after.stdout == "hello from a\n"


async def test_connect_through_a_forward_proxy_becomes_a_tunnel(
    nginx_factory: NginxFactory, tinyproxy: str
) -> None:
    nginx = nginx_factory("a")
    port = free_port()
    async with ambassador(_env(port, tinyproxy)):
        result = await asyncio.to_thread(
            curl, "--proxytunnel", "-x", f"http://127.0.0.1:{port}",
            f"http://{nginx.address}/hello.txt",
        )  # fmt: skip
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"CONNECT {nginx.address} HTTP/1.1\r\nHost: {nginx.address}\r\n\r\n".encode())
        async with asyncio.timeout(10):
            established = await reader.readuntil(b"\r\n\r\n")
            writer.write(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
        writer.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from a\n"
    assert established.startswith(b"HTTP/1.1 200")
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"hello from a\n")


async def test_slowloris_client_gets_408(nginx_factory: NginxFactory) -> None:
    nginx = nginx_factory("a")
    port = free_port()
    async with ambassador(_env(port, nginx.address, header_timeout="500ms")) as amb:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
        async with asyncio.timeout(10):
            answer = await reader.read()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408")
        assert await amb.sample("ambassador_listener_timeouts_total", kind="header") == 1.0


async def test_silent_upstream_gives_504_and_dead_one_502() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    silent_address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    port, port2 = free_port(), free_port()
    async with (
        server,
        ambassador(_env(port, silent_address, request_timeout="500ms", retries="0")),
        ambassador(_env(port2, f"127.0.0.1:{free_port()}")),
    ):
        timed_out = await asyncio.to_thread(curl, "-w", "%{http_code}", f"http://127.0.0.1:{port}/")
        refused = await asyncio.to_thread(curl, "-w", "%{http_code}", f"http://127.0.0.1:{port2}/")
        for peer in accepted:  # before the server's close, which waits for them since 3.12
            peer.close()
    assert timed_out.stdout.endswith("504")
    assert refused.stdout.endswith("502")


async def test_malformed_status_line_from_upstream_gives_502() -> None:
    async def odd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 +200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(odd, "127.0.0.1", 0)
    upstream = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    port = free_port()
    async with server, ambassador(_env(port, upstream, retries="0")):
        answer = await asyncio.to_thread(curl, "-w", "%{http_code}", f"http://127.0.0.1:{port}/")
    assert answer.stdout.endswith("502")


async def test_active_http_check_takes_a_failing_endpoint_out(nginx_factory: NginxFactory) -> None:
    sick, well = nginx_factory("sick", flaky=503), nginx_factory("well")
    port = free_port()
    env = _env(
        port, sick.address, well.address,
        health_check="http", health_check_path="/flaky", health_check_interval="200ms",
        retries="0",
    )  # fmt: skip
    async with ambassador(env) as amb:

        async def sick_marked() -> bool:
            value = await amb.sample("ambassador_upstream_endpoint_healthy", endpoint=sick.address)
            return value == 0.0

        await wait_for(sick_marked, what="the failing endpoint to be marked unhealthy")
        replies = [await asyncio.to_thread(curl, f"http://127.0.0.1:{port}/echo") for _ in range(4)]
    assert all(r.stdout.startswith("name=well ") for r in replies)


async def test_reused_connection_found_closed_is_retried_only_when_safe() -> None:
    """The upstream answers one request per connection, then closes on the next one unanswered:
    the way a server's keep-alive timeout races a proxy's reuse of a pooled connection."""

    async def one_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the next request on this connection...
        writer.transport.abort()  # ...is never answered

    server = await asyncio.start_server(one_per_connection, "127.0.0.1", 0)
    upstream = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    port = free_port()
    async with server, ambassador(_env(port, upstream, retries="0")) as amb:
        url = f"http://127.0.0.1:{port}/"
        first = await asyncio.to_thread(curl, "-w", " %{http_code}", url)
        again = await asyncio.to_thread(curl, "-w", " %{http_code}", url)
        post = await asyncio.to_thread(curl, "-w", " %{http_code}", "-d", "x=1", url)
        connections = await amb.sample("ambassador_upstream_connections_total", endpoint=upstream)
    assert first.stdout == "ok\n 200"
    assert again.stdout == "ok\n 200", "a GET on a closed pooled connection is sent again"
    assert post.stdout.endswith(" 502"), "a POST is never sent twice"
    assert connections == 2.0


async def test_http_1_0_client_gets_a_chunked_response_decoded_and_closed(
    nginx_factory: NginxFactory,
) -> None:
    nginx = nginx_factory("a")
    port = free_port()
    url = f"http://127.0.0.1:{port}/gz/lines.txt"
    async with ambassador(_env(port, nginx.address)):
        modern = await asyncio.to_thread(curl, "-i", "--compressed", url)
        legacy = await asyncio.to_thread(curl, "-i", "--http1.0", "--compressed", url)
    modern_head, _, modern_body = modern.stdout.partition("\n\n")
    legacy_head, _, legacy_body = legacy.stdout.partition("\n\n")
    assert "Transfer-Encoding: chunked" in modern_head, "the upstream must answer chunked"
    assert modern_body == GZ_TEXT
    assert "Transfer-Encoding" not in legacy_head
    assert "Connection: close" in legacy_head
    assert legacy_body == GZ_TEXT


async def test_interim_responses_reach_http_1_1_clients_only(nginx_factory: NginxFactory) -> None:
    """Requests go upstream as HTTP/1.1, so nginx answers 100 Continue to both."""
    nginx = nginx_factory("a")
    port = free_port()
    answers = {}
    async with ambassador(_env(port, nginx.address)):
        for version in ("1.1", "1.0"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"POST /echo HTTP/{version}\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: 5\r\nConnection: close\r\n\r\nhello".encode()
            )
            async with asyncio.timeout(10):
                answers[version] = await reader.read()
            writer.close()
    assert answers["1.1"].startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200")
    assert answers["1.0"].startswith(b"HTTP/1.1 200")

"""http mode against hostile clients and backends: each case is one way a request could be
smuggled past the ambassador, or a connection held or lost, with a raw backend that records
every byte it is sent."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import h11
import pytest

from sidecars.ambassador.http.framing import BadMessage, Chunked, parse_head
from sidecars.testing import HelperProcess, free_port

from .conftest import ambassador, wait_for

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Backend:
    """Records what each connection sends; answers every request h11 reads with ``answer``
    (or, when ``answer`` is a function of the request count, with what it gives)."""

    def __init__(self, answer: bytes = OK) -> None:
        self.answer = answer
        self.received: list[bytes] = []
        self.requests: list[h11.Request] = []
        self.bodies: list[bytes] = []
        self.port = 0
        self.ambassador: HelperProcess | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = len(self.received)
        self.received.append(b"")
        parser = h11.Connection(h11.SERVER)
        body = b""
        try:
            while data := await reader.read(65536):
                self.received[index] += data
                parser.receive_data(data)
                while True:
                    event = parser.next_event()
                    if event is h11.NEED_DATA or event is h11.PAUSED:
                        break
                    if isinstance(event, h11.ConnectionClosed):
                        writer.close()
                        return
                    if isinstance(event, h11.Request):
                        self.requests.append(event)
                    elif isinstance(event, h11.Data):
                        body += event.data
                    elif isinstance(event, h11.EndOfMessage):
                        self.bodies.append(body)
                        body = b""
                        writer.write(self.answer)
                        await writer.drain()
                        # the answer went out raw, past h11: a new parser reads what follows
                        rest = parser.trailing_data[0]
                        parser = h11.Connection(h11.SERVER)
                        if rest:  # (an empty one would tell h11 the peer closed)
                            parser.receive_data(rest)
                if parser.their_state is h11.ERROR:
                    break
        except (h11.RemoteProtocolError, h11.LocalProtocolError, ConnectionError):
            pass
        writer.close()


@asynccontextmanager
async def proxied(backend: Backend, **extra: str) -> AsyncIterator[int]:
    server = await asyncio.start_server(backend.handle, "127.0.0.1", 0)
    backend.port = server.sockets[0].getsockname()[1]
    port = free_port()
    env = {
        "AMBASSADOR_MODE": "http",
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{backend.port}",
    }
    env.update({f"AMBASSADOR_{key.upper()}": value for key, value in extra.items()})
    async with server, ambassador(env) as backend.ambassador:
        yield port


async def exchange(port: int, data: bytes, half_close: bool = False) -> bytes:
    """Everything the ambassador answers to ``data`` until it closes (at most 5 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    if half_close:
        writer.write_eof()
    answer = b""
    try:
        async with asyncio.timeout(5):
            while chunk := await reader.read(65536):
                answer += chunk
    except (TimeoutError, ConnectionError):
        pass
    writer.close()
    return answer


def statuses(answer: bytes) -> list[int]:
    """The status of each response the client can read from ``answer``."""
    client = h11.Connection(h11.CLIENT)
    found = []
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(answer)
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError:
            found.append(-1)
            break
        if event is h11.NEED_DATA or event is h11.PAUSED:
            break
        if isinstance(event, h11.Response):
            found.append(event.status_code)
        elif isinstance(event, h11.EndOfMessage):
            if client.our_state is not h11.DONE or client.their_state is not h11.DONE:
                break
            client.start_next_cycle()
            client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
            client.send(h11.EndOfMessage())
    return found


SMUGGLED = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "named", [b"Content-Length", b"Transfer-Encoding", b"Host", b"close, content-length"]
)
async def test_a_request_whose_connection_names_a_framing_field_is_refused(named: bytes) -> None:
    body = SMUGGLED
    framing = (
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        if named == b"Transfer-Encoding"
        else b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    request = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: %s\r\n%s" % (named, framing)
    backend = Backend()
    async with proxied(backend) as port:
        answer = await exchange(port, request)
    assert statuses(answer) == [400]
    assert backend.received == []


async def test_a_response_whose_connection_names_content_length_is_a_bad_gateway() -> None:
    backend = Backend(
        b"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 2\r\n\r\nok"
    )
    async with proxied(backend, retries="0") as port:
        answer = await exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert statuses(answer) == [502]


async def test_every_x_forwarded_for_line_is_kept_before_the_client_is_appended() -> None:
    backend = Backend()
    request = (
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\n"
        b"X-Forwarded-For: 10.0.0.7\r\nConnection: close\r\n\r\n"
    )
    async with proxied(backend) as port:
        assert statuses(await exchange(port, request)) == [200]
    forwarded = [v for k, v in backend.requests[0].headers if k == b"x-forwarded-for"]
    assert forwarded == [b"6.6.6.6, 10.0.0.7, 127.0.0.1"]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Internal : secret\r\n\r\n",
        b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n \r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + SMUGGLED,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\x00\r\nx\r\n0\r\n"
        b"\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET http://x/ HTTP/1.1\r\nHost: y\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
    ],
    ids=[
        "vertical tab before chunked",
        "space before a colon of an unread field",
        "NUL in the target",
        "DEL in the target",
        "control byte in a value",
        "whitespace-only trailer line",
        "request line as a trailer",
        "NUL in a chunk extension",
        "HTTP/1.1 without Host",
        "absolute-form authority against Host",
        "asterisk-form outside OPTIONS",
        "bare LF line ends",
        "70 KiB head in one write",
    ],
)
async def test_lax_input_is_refused_and_nothing_reaches_the_backend(request_bytes: bytes) -> None:
    backend = Backend()
    async with proxied(backend) as port:
        answer = await exchange(port, request_bytes)
    assert statuses(answer) in ([400], [431])
    # a chunked body may have started streaming before its trailer was found bad: then the
    # backend got an unfinished request, never a whole one
    assert backend.bodies == []


async def test_bare_lf_arriving_in_pieces_is_refused_at_once() -> None:
    backend = Backend()
    async with proxied(backend, header_timeout="30s") as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\n")
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(b"Host: x\n\n")
        async with asyncio.timeout(10):
            answer = await reader.read()
        writer.close()
    assert statuses(answer) == [400]


async def test_an_absolute_form_target_routes_by_its_path_and_names_the_host(
    tmp_path: Path,
) -> None:
    default, v2 = Backend(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd"), Backend()
    servers = [await asyncio.start_server(b.handle, "127.0.0.1", 0) for b in (default, v2)]
    default_port, v2_port = (s.sockets[0].getsockname()[1] for s in servers)
    port = free_port()
    listener = {
        "listen": f"127.0.0.1:{port}",
        "mode": "http",
        "upstreams": [f"127.0.0.1:{default_port}"],
        "routes": [{"prefix": "/v2/", "upstreams": [f"127.0.0.1:{v2_port}"]}],
    }
    config = tmp_path / "routes.json"
    config.write_text(json.dumps({"listeners": [listener]}))
    async with servers[0], servers[1], ambassador({"AMBASSADOR_CONFIG_FILE": str(config)}):
        answer = await exchange(
            port, b"GET http://App.Example/v2/items HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
    assert statuses(answer) == [200]
    assert answer.endswith(b"ok")
    assert default.requests == []
    assert [v for k, v in v2.requests[0].headers if k == b"host"] == [b"app.example"]


async def test_a_silent_connection_gets_408_at_the_header_timeout() -> None:
    backend = Backend()
    async with proxied(backend, header_timeout="1s") as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async with asyncio.timeout(10):
            answer = await reader.read()
        writer.close()
    assert statuses(answer) == [408]


async def test_a_kept_alive_connection_closes_quietly_at_the_header_timeout() -> None:
    backend = Backend()
    async with proxied(backend, header_timeout="1s") as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(10):
            answer = await reader.read()
        writer.close()
    assert statuses(answer) == [200]
    assert answer.endswith(b"ok")


async def test_a_half_closed_client_is_answered_then_closed() -> None:
    backend = Backend()
    async with proxied(backend) as port:
        get = await exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", half_close=True)
        post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        posted = await exchange(port, post + post, half_close=True)
        partial = await exchange(port, b"GET / HTTP/1.1\r\nHo", half_close=True)
    assert statuses(get) == [200]
    assert statuses(posted) == [200, 200]
    assert statuses(partial) == [400]
    assert backend.bodies == [b"", b"abc", b"abc"]


async def test_a_malformed_response_is_not_retried_and_pipelined_requests_go_on() -> None:
    count = 0

    class Rogue(Backend):
        async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal count
            while await reader.readuntil(b"\r\n\r\n"):
                count += 1
                writer.write(b"HTTP/1.1 200 OK\nContent-Length: 0\n\n" if count == 1 else OK)
                await writer.drain()

    backend = Rogue()
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    async with proxied(backend) as port:
        answer = await exchange(port, request + request + b"GET / HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")  # fmt: skip
    assert statuses(answer) == [502, 200, 200]
    assert count == 3


async def test_an_http_1_0_keep_alive_response_says_so() -> None:
    backend = Backend()
    async with proxied(backend) as port:
        answer = await exchange(
            port, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", half_close=True
        )
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\nconnection: keep-alive" in head
    assert backend.requests[0].headers[0] == (b"host", b"localhost")


async def test_connections_past_the_cap_are_refused_and_counted() -> None:
    backend = Backend()
    async with proxied(backend, max_connections="2") as port:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            answer = await exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert answer == b""
        finally:
            for sock in held:
                sock.close()

        async def served() -> bool:
            got = await exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return statuses(got) == [200]

        await wait_for(served, what="a connection accepted again under the cap")
        assert backend.ambassador is not None
        refused = await backend.ambassador.sample("ambassador_listener_connections_refused_total")
        assert refused is not None
        assert refused >= 1


@pytest.mark.usefixtures("head_reader")
@pytest.mark.parametrize(
    "line",
    [b"0\r\n \r\n", b"0\r\nGET / HTTP/1.1\r\n", b"0\r\nX : y\r\n", b"1;\r\nx\r\n", b"0x1\r\n"],
)
def test_chunk_lines_and_trailers_follow_the_grammar(line: bytes) -> None:
    with pytest.raises(BadMessage):
        Chunked().feed(line + b"\r\n")


@pytest.mark.usefixtures("head_reader")
def test_every_line_of_a_repeated_field_is_combined() -> None:
    head = parse_head(b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\na:  3 ", request=True)
    assert head.get_all(b"a") == b"1, 3"
    assert head.get_all(b"c") is None

"""A small HTTP/1.1 server for the admin endpoints: h11 parses, asyncio streams carry.

The admin server answers probes and scrapes a few times a minute; a full web framework
would cost every helper 15 MB of memory and a fifth of a CPU-second at start-up, so the
protocol work is left to h11 and the rest is this file.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import h11

from .web import Headers, Request, Response

__all__ = ["HttpServer"]

log = logging.getLogger("sidecars.runtime")

MAX_HEAD = 16 << 10
MAX_BODY = 1 << 20
REQUEST_TIMEOUT = 30.0
"""A request (or the wait for the next one on a kept-alive connection) must arrive whole
within this many seconds: a client trickling bytes cannot hold a connection forever."""
_GZIP_FROM = 1024
_KNOWN = frozenset(HTTPStatus)


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


class HttpServer:
    """Serves ``respond`` on one listening address until ``stop()``."""

    def __init__(
        self,
        respond: Callable[[Request], Awaitable[Response]],
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.respond = respond
        self.request_timeout = request_timeout
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.Task[None]] = set()
        self.busy: set[asyncio.Task[None]] = set()
        self.closing = False

    async def start(self, host: str | None, port: int) -> tuple[str, int]:
        """Bind and serve; returns the address bound (port 0 picks a free one).

        The socket is bound here rather than by the event loop: uvloop passes every host
        through the ``idna`` codec, which loads ``unicodedata`` (0.4 MB) for an address
        that is always ASCII. No host means every interface, IPv4 and IPv6 on one socket.
        """
        if host:
            sock = socket.create_server((host, port), family=_family(host))
        elif socket.has_dualstack_ipv6():
            sock = socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
        else:
            sock = socket.create_server(("", port))
        self.server = await asyncio.start_server(self._connection, sock=sock)
        bound: tuple[str, int] = sock.getsockname()[:2]
        return bound

    async def stop(self, grace: float = 2.0) -> None:
        """Stop listening, close idle connections, give requests in progress ``grace``
        seconds to be answered, then cancel what is left."""
        if self.server is None:
            return
        self.closing = True
        self.server.close()
        for task in self.connections - self.busy:
            task.cancel()
        if self.connections:
            await asyncio.wait(self.connections, timeout=grace)
        for task in self.connections:
            task.cancel()
        if self.connections:
            await asyncio.wait(self.connections, timeout=grace)
        await self.server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        peer = writer.get_extra_info("peername")
        remote = str(peer[0]) if isinstance(peer, tuple) else None
        try:
            while await self._exchange(conn, reader, writer, remote) and not self.closing:
                conn.start_next_cycle()
        except (ConnectionError, TimeoutError, h11.ProtocolError):
            pass
        except asyncio.CancelledError:
            # The drain closing an idle keep-alive connection. This task is asyncio's own
            # per-connection task, whose done-callback (3.11) logs a cancellation as an error.
            pass
        finally:
            self.connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _exchange(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        remote: str | None,
    ) -> bool:
        """Read one request and answer it; ``False`` once the connection should close."""
        try:
            async with asyncio.timeout(self.request_timeout):
                request = await _read(conn, reader, writer, remote)
        except h11.RemoteProtocolError as exc:
            response = Response(f"bad request: {exc}\n", exc.error_status_hint)
            request = None
        except _Refused as exc:
            response = Response(exc.reason + "\n", exc.status, headers={"Connection": "close"})
            request = None
        else:
            if request is None:
                return False
            task = asyncio.current_task()
            assert task is not None
            self.busy.add(task)
            try:
                response = await self._answer(request)
                if self.closing:
                    response.headers["Connection"] = "close"
                return await _reply(conn, writer, request, response)
            finally:
                self.busy.discard(task)
        return await _reply(conn, writer, request, response)

    async def _answer(self, request: Request) -> Response:
        try:
            return await self.respond(request)
        except Exception:
            log.exception("admin route failed", extra={"path": request.path})
            return Response("internal error\n", 500)


def _family(host: str) -> socket.AddressFamily:
    """The family of a literal address, read without ``getaddrinfo``: it loads the idna codec
    (half a MiB in every helper); names resolve to IPv4, as the loop did first."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return family
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    return infos[0][0] if infos else socket.AF_INET


async def _reply(
    conn: h11.Connection,
    writer: asyncio.StreamWriter,
    request: Request | None,
    response: Response,
) -> bool:
    """Send ``response``; whether the connection may carry another request."""
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return False
    _send(conn, writer, request, response)
    await writer.drain()
    return _reusable(conn)


def _reusable(conn: h11.Connection) -> bool:
    return conn.our_state is h11.DONE and conn.their_state is h11.DONE


async def _read(
    conn: h11.Connection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    remote: str | None,
) -> Request | None:
    """The next whole request, or ``None`` when the client closed between requests."""
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            if head is not None and conn.they_are_waiting_for_100_continue:
                writer.write(
                    conn.send(
                        h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
                    )
                )
            conn.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Request):
            head = event
            length = dict(event.headers).get(b"content-length", b"0")
            if length.isdigit() and int(length) > MAX_BODY:
                raise _Refused(413, f"request body over {MAX_BODY} bytes")
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise _Refused(413, f"request body over {MAX_BODY} bytes")
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            path, _, query = head.target.decode("latin-1").partition("?")
            headers = Headers((n.decode("latin-1"), v.decode("latin-1")) for n, v in head.headers)
            return Request(head.method.decode(), path, query, headers, bytes(body), remote)
        else:
            return None


def _send(
    conn: h11.Connection,
    writer: asyncio.StreamWriter,
    request: Request | None,
    response: Response,
) -> None:
    payload = response.payload()
    headers = {"Content-Type": response.content_type, **response.headers}
    accepted = request.headers.get("Accept-Encoding", "") if request else ""
    if len(payload) >= _GZIP_FROM and "gzip" in accepted and "Content-Encoding" not in headers:
        payload = gzip.compress(payload, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(len(payload))
    reason = HTTPStatus(response.status).phrase.encode() if response.status in _KNOWN else b""
    head = h11.Response(status_code=response.status, headers=list(headers.items()), reason=reason)
    writer.write(conn.send(head))
    if request is None or request.method != "HEAD":
        writer.write(conn.send(h11.Data(data=payload)))
    writer.write(conn.send(h11.EndOfMessage()))

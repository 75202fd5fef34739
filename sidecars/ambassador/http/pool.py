"""http mode's upstream leg: one keep-alive connection, pooled per endpoint between requests."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Final, cast

from ..upstream.cluster import set_socket_options
from ..upstream.endpoint import Endpoint
from .framing import MAX_HEAD, BadMessage, Chunked, Head, read_head

if TYPE_CHECKING:
    from .client import HttpClient

__all__ = ["HttpUpstream", "take_idle"]

# what the connection reads next
HEAD: Final = 0
LENGTH_BODY: Final = 1
CHUNKED_BODY: Final = 2
BODY_TO_EOF: Final = 3
DONE: Final = 4
TUNNELED: Final = 5


class HttpUpstream:
    """Reads one response at a time and streams it to the client it currently serves."""

    __slots__ = (
        "buf",
        "chunked",
        "client",
        "closed",
        "endpoint",
        "got_bytes",
        "head",
        "idle_since",
        "keepalive",
        "remaining",
        "reusable",
        "reused",
        "state",
        "transport",
    )

    # set by connection_made, which asyncio calls before any other method
    transport: asyncio.Transport

    def __init__(self, keepalive: bool) -> None:
        self.keepalive = keepalive
        self.client: HttpClient | None = None
        self.endpoint: Endpoint | None = None
        self.buf = b""
        self.state = HEAD
        self.head: Head | None = None
        self.remaining = 0
        self.chunked: Chunked | None = None
        self.reusable = True
        self.reused = False
        self.got_bytes = False
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        set_socket_options(transport, self.keepalive)

    def begin(self, client: HttpClient) -> None:
        """A new request goes out on this connection."""
        self.client = client
        self.state = HEAD
        self.buf = b""
        self.head = None
        self.got_bytes = False

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None:
            self.reusable = False
            self.transport.close()
            return
        self.got_bytes = True
        client.ticks += 1
        state = self.state
        if state == LENGTH_BODY:
            size = len(data)
            if size < self.remaining:
                self.remaining -= size
                client.send(data)
                return
            if size > self.remaining:
                self.reusable = False
                data = data[: self.remaining]
            self.remaining = 0
            client.send(data)
            self._done()
        elif state == HEAD:
            self._head(self.buf + data if self.buf else data)
        elif state == CHUNKED_BODY:
            self._chunk(data, 0)
        elif state in (BODY_TO_EOF, TUNNELED):
            client.send(data)
        else:
            self.reusable = False
            self.transport.close()

    def _head(self, data: bytes) -> None:
        client = self.client
        assert client is not None
        partial = bool(self.buf)  # then scanned only once whole, not once per piece
        while True:
            try:
                whole = not partial or data.find(b"\r\n\r\n") >= 0
                head = read_head(data, request=False) if whole else None
            except BadMessage as exc:
                self._broken(str(exc))
                return
            if head is None:
                if len(data) > MAX_HEAD:
                    self._broken("response head too large")
                    return
                self.buf = data
                return
            status = head.status
            if head.size > MAX_HEAD:
                self._broken("response head too large")
                return
            if status < 0:
                self._broken("bad status code")
                return
            rest = head.size
            if 100 <= status < 200 and status != 101:
                if not client.legacy:  # an HTTP/1.0 client must not get interim responses
                    client.send(data[:rest])  # 100 Continue, 103 Early Hints: as they are
                data = data[rest:]
                continue
            break
        self.buf = b""
        self.head = head
        if status == 101 or (client.method == b"CONNECT" and 200 <= status < 300):
            self._switch(client, head, status, data[rest:])
            return
        if client.method == b"HEAD" or status in (204, 304):
            head.body = "none"
        self.reusable = not head.close and head.body != "eof"
        client.response_head(self, head, status)
        if self.client is None:
            return
        if head.body == "length":
            if len(data) - rest == head.length:  # the usual small response: all here
                client.send(data[rest:] if rest < len(data) else b"")
                self.state = DONE
                client.response_done(self)
                return
            self.state = LENGTH_BODY
            self.remaining = head.length
            if rest < len(data):
                self.data_received(data[rest:])
        elif head.body == "chunked":
            self.state = CHUNKED_BODY
            self.chunked = Chunked()
            self._chunk(data, rest)
        elif head.body == "eof":
            self.state = BODY_TO_EOF
            if rest < len(data):
                client.send(data[rest:])
        else:
            if rest < len(data):
                self.reusable = False
            self._done()
        if self.client is not None:
            self.client.flush()

    def _switch(self, client: HttpClient, head: Head, status: int, rest: bytes) -> None:
        """101 Switching Protocols, or a CONNECT accepted by a forward proxy: this connection
        becomes the client's tunnel."""
        self.reusable = False
        if status == 101 and not client.upgrade:
            self._broken("101 Switching Protocols to a request that asked for no upgrade")
            return
        head.body = "none"  # a 2xx to CONNECT has no body, whatever its head says
        client.response_head(self, head, status)
        if self.client is None:
            return
        self.state = TUNNELED
        client.tunnel(self, rest)

    def _chunk(self, data: bytes, start: int) -> None:
        assert self.chunked is not None
        assert self.client is not None
        pieces: list[bytes] | None = [] if self.client.legacy else None  # HTTP/1.0: decoded
        try:
            end = self.chunked.feed(data, start, pieces)
        except BadMessage as exc:
            self._broken(str(exc))
            return
        if pieces is not None:
            self.client.send(b"".join(pieces))
        elif end > start:
            self.client.send(data[start:end] if start or end < len(data) else data)
        if self.chunked.done:
            if end < len(data):
                self.reusable = False
            self._done()

    def _done(self) -> None:
        self.state = DONE
        client = self.client
        if client is not None:
            client.flush()
            client.response_done(self)

    def _broken(self, reason: str) -> None:
        self.reusable = False
        client = self.client
        self.transport.abort()
        if client is not None:
            client.upstream_failed(self, reason)

    def eof_received(self) -> bool:
        if self.state == TUNNELED and self.client is not None:
            return self.client.upstream_eof()
        if self.state == BODY_TO_EOF and self.client is not None:
            self.reusable = False
            self._done()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        endpoint = self.endpoint
        if endpoint is not None and self.client is None:
            with contextlib.suppress(ValueError):
                endpoint.idle.remove(self)
        client = self.client
        if client is not None and client.upstream is self:
            if self.state == TUNNELED:
                client.close()
            elif self.state == BODY_TO_EOF:
                self._done()
            else:
                client.upstream_failed(self, str(exc) if exc else "upstream closed the connection")

    def pause_writing(self) -> None:
        if self.client is not None:
            self.client.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.client is not None:
            self.client.transport.resume_reading()


def take_idle(endpoint: Endpoint) -> HttpUpstream | None:
    """The most recently used live pooled connection of ``endpoint``, if any."""
    idle = endpoint.idle
    while idle:
        connection = idle.pop()
        assert isinstance(connection, HttpUpstream)
        if not connection.closed:
            return connection
    return None

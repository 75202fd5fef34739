"""TCP mode: two paired protocols that hand every chunk straight to the other side.

No streams, no per-chunk tasks: ``data_received`` writes to the peer transport, a full peer
buffer pauses reading on this side (``pause_writing``), each EOF is passed on as a
half-close, and both transports are closed once both directions have ended.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol, cast

from ..upstream.cluster import ConnectFailed, set_socket_options
from ..upstream.endpoint import Endpoint

if TYPE_CHECKING:
    from ..listener import Listener
    from ..settings import AmbassadorSettings

__all__ = ["TcpClient"]


class Swept(Protocol):
    """What ``past_limits`` reads and resets: a ``TcpClient`` or a raw-path connection."""

    @property
    def ticks(self) -> int: ...

    seen: int
    idle_since: float
    started: float


def past_limits(conn: Swept, s: AmbassadorSettings, now: float) -> str | None:
    """``idle`` or ``age`` once a connection went past one of those limits; activity since
    the last sweep (its ``ticks`` moved) restarts the idle clock."""
    if conn.ticks != conn.seen:
        conn.seen = conn.ticks
        conn.idle_since = now
    elif s.idle_timeout and now - conn.idle_since >= s.idle_timeout:
        return "idle"
    if s.max_connection_age and now - conn.started >= s.max_connection_age:
        return "age"
    return None


class Relay(Protocol):
    """A client leg relaying bytes both ways (tcp mode, or an http tunnel)."""

    eof_in: bool
    eof_out: bool
    transport: asyncio.Transport

    def close(self) -> None: ...


def upstream_ended(conn: Relay) -> bool:
    """The upstream half-closed: pass it on to the client, or close once both directions
    have ended; True keeps the upstream connection open for writing."""
    conn.eof_out = True
    transport = conn.transport
    if conn.eof_in or not transport.can_write_eof():
        conn.close()
        return False
    transport.write_eof()
    return True


class TcpClient(asyncio.Protocol):
    """The client's leg; it owns the connection's state and counters."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "closed",
        "endpoint",
        "eof_in",
        "eof_out",
        "idle_since",
        "listener",
        "pending",
        "seen",
        "started",
        "ticks",
        "transport",
        "tuned",
        "upstream",
    )

    # set by connection_made, which asyncio calls before any other method
    transport: asyncio.Transport

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.upstream: asyncio.Transport | None = None
        self.endpoint: Endpoint | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.ticks = 0
        self.seen = 0
        self.started = self.idle_since = listener.loop.time()
        self.eof_in = False
        self.eof_out = False
        self.closed = False
        self.tuned = False
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.pause_reading()
        if not self.listener.opened(self):
            self.closed = True
            self.transport.abort()
            return
        self.listener.loop.create_task(self._connect())

    async def _connect(self) -> None:
        listener = self.listener
        settings = listener.settings
        peer = None
        if settings.lb == "ketama" or settings.proxy_protocol != "off":
            peer = self.transport.get_extra_info("peername")
        key = str(peer[0]).encode() if isinstance(peer, tuple) else None
        try:
            upstream, _, endpoint = await listener.cluster.connect(lambda: TcpUpstream(self), key)
        except ConnectFailed as exc:
            listener.stats.connect_failures += 1
            listener.log.warning(
                "no upstream took the connection",
                extra={"listener": listener.name, "error": str(exc)},
            )
            self.transport.close()
            return
        if self.closed:
            upstream.close()
            return
        self.upstream = upstream
        self.endpoint = endpoint
        endpoint.active += 1
        endpoint.total += 1
        version = listener.settings.proxy_protocol
        if version != "off":
            from .proxyproto import proxy_header  # loads with the PROXY protocol only

            upstream.write(proxy_header(version, peer, self.transport.get_extra_info("sockname")))
        if self.pending:
            upstream.write(b"".join(self.pending))
            self.pending.clear()
        if self.eof_in:
            if upstream.can_write_eof():
                upstream.write_eof()
            return
        self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self.ticks += 1
        upstream = self.upstream
        if upstream is None:
            self.pending.append(data)  # uvloop may deliver the first read before we paused
            return
        upstream.write(data)

    def eof_received(self) -> bool:
        self.eof_in = True
        upstream = self.upstream
        if upstream is None:
            return True  # passed on once connected
        if self.eof_out:
            self.close()
            return False
        if upstream.can_write_eof():
            upstream.write_eof()
        return True

    def pause_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc)

    def upstream_eof(self) -> bool:
        return upstream_ended(self)

    def upstream_lost(self, exc: Exception | None) -> None:
        self._finish(exc)

    def expired(self, now: float) -> str | None:
        """Called by the listener's sweep: the limit this connection went past, if any."""
        return past_limits(self, self.listener.settings, now)

    def tune(self) -> None:
        """Keep-alive on the upstream leg, set from the listener's sweep rather than per
        connect: probes start hours later anyway, and short connections never pay for it."""
        self.tuned = True
        if self.upstream is not None and self.listener.settings.tcp_keepalive:
            set_socket_options(self.upstream, keepalive=True)

    def time_out(self, reason: str) -> None:
        self.close()

    def idle_between_requests(self) -> bool:
        return False  # bytes without requests: never known to be idle

    def close(self) -> None:
        """End both legs, sending what is buffered first."""
        self.transport.close()
        if self.upstream is not None:
            self.upstream.close()

    def abort(self) -> None:
        self.transport.abort()
        if self.upstream is not None:
            self.upstream.abort()

    def _finish(self, exc: Exception | None) -> None:
        if exc is not None:
            self.abort()
        else:
            self.close()
        if self.closed:
            return
        self.closed = True
        endpoint = self.endpoint
        if endpoint is not None:
            endpoint.active -= 1
            endpoint.bytes_out += self.bytes_in
            endpoint.bytes_in += self.bytes_out
        self.listener.closed(self)


class TcpUpstream(asyncio.Protocol):
    """The upstream's leg: forwards to the client's transport, reports to ``TcpClient``."""

    __slots__ = ("client", "out")

    def __init__(self, client: TcpClient) -> None:
        self.client = client
        self.out = client.transport

    def data_received(self, data: bytes) -> None:
        client = self.client
        client.bytes_out += len(data)
        client.ticks += 1
        self.out.write(data)

    def eof_received(self) -> bool:
        return self.client.upstream_eof()

    def pause_writing(self) -> None:
        self.out.pause_reading()

    def resume_writing(self) -> None:
        self.out.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.upstream_lost(exc)

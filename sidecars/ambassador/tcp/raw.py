"""tcp mode without TLS: one proxied connection on raw sockets, two ``Pump``s moving its bytes.

Both legs are raw non-blocking sockets watched through the listener's ``Poller``. Connects
are plain non-blocking ``connect`` calls on resolved addresses (no task, no coroutine, no
``getaddrinfo``), tried on further endpoints on failure; the listener's sweep enforces the
connect timeout, the idle timeout and the maximum age. Bytes go through the listener's one
copy buffer (see ``pump.py``); an idle connection owns only its two sockets.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from typing import TYPE_CHECKING

from ..upstream.endpoint import Endpoint
from .client import past_limits
from .pump import Pump

if TYPE_CHECKING:
    from ..listener import Listener

__all__ = ["RawConnection"]


class RawConnection:
    """Both legs of one proxied connection, with the counters the listener and metrics read."""

    __slots__ = (
        "attempts",
        "buf",
        "client",
        "closed",
        "connect_started",
        "down",
        "endpoint",
        "idle_since",
        "key",
        "listener",
        "loop",
        "peer",
        "poller",
        "reason",
        "seen",
        "started",
        "tried",
        "tuned",
        "up",
        "upstream",
    )

    def __init__(self, listener: Listener, client: socket.socket, peer: object) -> None:
        self.listener = listener
        self.loop = listener.loop
        self.buf = listener.buf
        assert listener.poller is not None
        self.poller = listener.poller
        self.client = client
        self.peer = peer
        self.upstream: socket.socket | None = None
        self.endpoint: Endpoint | None = None
        self.up: Pump | None = None
        self.down: Pump | None = None
        self.seen = self.attempts = 0
        self.started = self.idle_since = self.connect_started = self.loop.time()
        self.closed = False
        self.tuned = False
        self.tried: list[Endpoint] = []
        self.key: bytes | None = None
        self.reason = "no endpoints"
        if listener.settings.lb == "ketama" and isinstance(peer, tuple):
            self.key = str(peer[0]).encode()

    @property
    def bytes_in(self) -> int:
        return self.up.moved if self.up is not None else 0

    @property
    def bytes_out(self) -> int:
        return self.down.moved if self.down is not None else 0

    @property
    def ticks(self) -> int:
        """Events in either direction: the listener's sweep sees activity as a change."""
        up, down = self.up, self.down
        return (up.events if up is not None else 0) + (down.events if down is not None else 0)

    # connecting

    def connect(self) -> None:
        """Start a connect to the next endpoint, or give up and close the client."""
        listener = self.listener
        settings = listener.settings
        endpoint = None
        if self.attempts < settings.connect_attempts:
            endpoint = listener.cluster.pick(self.key, self.tried)
        if endpoint is None:
            listener.stats.connect_failures += 1
            listener.log.warning(
                "no upstream took the connection",
                extra={"listener": listener.name, "error": self.reason},
            )
            self.close()
            return
        self.attempts += 1
        self.tried.append(endpoint)
        self.endpoint = endpoint
        self.connect_started = self.loop.time()
        try:
            sock = socket.socket(endpoint.family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        except OSError as exc:
            self._connect_failed(str(exc.strerror))
            return
        self.upstream = sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(endpoint.sockaddr)
        if code == 0:
            self._connected()
        elif code == errno.EINPROGRESS:
            # writable once connected; a refused connect reports through either event
            self.poller.watch(sock.fileno(), self._connect_done, self._connect_done)
        else:
            self._connect_failed(os.strerror(code))

    def _connect_done(self) -> None:
        sock = self.upstream
        assert sock is not None
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._connect_failed(os.strerror(code))
        else:
            self._connected()

    def _connect_failed(self, reason: str, timed_out: bool = False) -> None:
        endpoint = self.endpoint
        assert endpoint is not None
        if timed_out:
            endpoint.timeouts += 1
            reason = "connect timed out"
        else:
            endpoint.connect_errors += 1
        self.reason = f"{endpoint.label}: {reason}"
        self.endpoint = None
        sock = self.upstream
        if sock is not None:
            self.poller.forget(sock.fileno())
            sock.close()
            self.upstream = None
        self.listener.cluster.failed(endpoint)
        if not self.closed:
            self.connect()

    def _connected(self) -> None:
        if self.closed:
            return
        upstream = self.upstream
        endpoint = self.endpoint
        assert upstream is not None
        assert endpoint is not None
        endpoint.active += 1
        endpoint.total += 1
        if endpoint.failures:
            self.listener.cluster.succeeded(endpoint)
        version = self.listener.settings.proxy_protocol
        if version != "off":
            from .proxyproto import proxy_header  # loads with the PROXY protocol only

            header = proxy_header(version, self.peer, self.client.getsockname())
            try:
                upstream.send(header)
            except OSError as exc:
                self.fail(exc)
                return
        self.up = up = Pump(self, self.client, upstream)
        self.down = down = Pump(self, upstream, self.client)
        self.poller.watch(up.src, up.copier, None)
        self.poller.watch(down.src, down.copier, None)
        up.copier()  # the client's first bytes are usually there already

    # data path callbacks

    def ended(self) -> bool:
        """A direction ended; once both have, the connection closes (True)."""
        up, down = self.up, self.down
        if up is not None and down is not None and up.done and down.done:
            self.close()
            return True
        return False

    def fail(self, exc: OSError) -> None:
        self.close()

    # listener interface

    def expired(self, now: float) -> str | None:
        """Called by the listener's sweep: the limit this connection went past, if any."""
        s = self.listener.settings
        if self.up is None:
            if (
                self.upstream is not None
                and s.connect_timeout
                and now - self.connect_started >= s.connect_timeout
            ):
                self._connect_failed("", timed_out=True)
            return None
        return past_limits(self, s, now)

    def tune(self) -> None:
        """Keep-alive on the upstream leg, set from the sweep rather than per connect."""
        self.tuned = True
        if self.upstream is not None and self.listener.settings.tcp_keepalive:
            with contextlib.suppress(OSError):
                self.upstream.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def time_out(self, reason: str) -> None:
        self.close()

    def idle_between_requests(self) -> bool:
        return False  # bytes without requests: never known to be idle

    def abort(self) -> None:
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        poller = self.poller
        for pump in (self.up, self.down):
            if pump is not None:
                pump.release()
        fd = self.client.fileno()
        poller.forget(fd)
        self.client.close()
        upstream = self.upstream
        if upstream is not None:
            fd = upstream.fileno()
            poller.forget(fd)
            upstream.close()
        endpoint = self.endpoint
        if endpoint is not None and self.up is not None:
            endpoint.active -= 1
            endpoint.bytes_out += self.bytes_in
            endpoint.bytes_in += self.bytes_out
        self.listener.closed(self)
        self.up = self.down = None  # the cycle through the pumps ends: freed by refcount

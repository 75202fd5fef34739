"""tcp mode without TLS: the kernel moves bulk bytes (``splice`` through a pipe), Python steers.

Both legs are raw non-blocking sockets watched through the listener's ``Poller``; a
bulk transfer is spliced from its source socket into a pipe and from the pipe into the other
socket, so its payload never enters Python. Connects are plain non-blocking ``connect`` calls
on resolved addresses (no task, no coroutine, no ``getaddrinfo``); the listener's sweep
enforces the connect timeout. Pipes are borrowed from a pool while they hold bytes, so an
idle connection owns only its two sockets.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from .endpoint import Endpoint
from .proxyproto import proxy_header

if TYPE_CHECKING:
    from .listener import Listener

__all__ = ["PipePool", "SpliceConnection"]

_CHUNK = 1 << 18
_PIPE_SIZE = 1 << 18
_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)
_F_SETPIPE_SZ = 1031
_SPARE_PIPES = 128
_COPY_BUFFER = 1 << 16
_BULK = 1 << 14  # a read this large suggests a bulk transfer: splice it
_SMALL_READS = 64  # then this many small reads in a row go back to copying


class PipePool:
    """Empty pipes between uses: taking one is a list pop, not two system calls."""

    __slots__ = ("buf", "size", "spare", "view")

    def __init__(self) -> None:
        self.spare: list[tuple[int, int]] = []
        self.size = _PIPE_SIZE
        self.buf = bytearray(_COPY_BUFFER)  # one loop, one read at a time: shared by all
        self.view = memoryview(self.buf)

    def take(self) -> tuple[int, int]:
        if self.spare:
            return self.spare.pop()
        read, write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.size:
            try:
                fcntl.fcntl(write, _F_SETPIPE_SZ, self.size)
            except OSError:
                self.size = 0  # over the user's pipe budget: keep the default 64 KiB
        return read, write

    def give(self, pipe: tuple[int, int]) -> None:
        """Only ever an empty pipe: a pipe with bytes left in it is closed instead."""
        if len(self.spare) < _SPARE_PIPES:
            self.spare.append(pipe)
        else:
            _close_pipe(pipe)

    def close(self) -> None:
        while self.spare:
            _close_pipe(self.spare.pop())


def _close_pipe(pipe: tuple[int, int]) -> None:
    for fd in pipe:
        with contextlib.suppress(OSError):
            os.close(fd)


class Pump:
    """One direction: source socket to destination socket, half-close at the end.

    Small reads are copied through one shared buffer (``recv_into`` then ``send``: for a
    few hundred bytes two plain calls cost less than two splices); once a read fills a
    bulk-sized share of the buffer the direction switches to splicing through a pipe, and
    back when reads turn small again, much as HAProxy's ``splice-auto`` does.
    """

    __slots__ = (
        "blocked",
        "buf",
        "conn",
        "done",
        "dst",
        "dst_sock",
        "left",
        "moved",
        "pending",
        "pipe",
        "poller",
        "small",
        "splicing",
        "src",
        "src_sock",
        "view",
    )

    def __init__(self, conn: SpliceConnection, src: socket.socket, dst: socket.socket) -> None:
        self.conn = conn
        self.poller = conn.poller
        self.src = src.fileno()
        self.dst = dst.fileno()
        self.src_sock = src
        self.dst_sock = dst
        self.buf = conn.pipes.buf
        self.view = conn.pipes.view
        self.pipe: tuple[int, int] | None = None
        self.pending = 0  # bytes in the pipe not yet written on
        self.left = b""  # copied bytes the destination did not take yet
        self.moved = 0
        self.done = False
        self.blocked = False  # waiting for the destination to take more, not reading
        self.splicing = False
        self.small = 0  # small splice reads in a row

    def readable(self) -> None:
        if self.splicing:
            self._splice_in()
            return
        try:
            size = self.src_sock.recv_into(self.buf)
        except BlockingIOError:
            return
        except OSError as exc:
            self.conn.fail(exc)
            return
        if not size:
            self.poller.reader(self.src, None)
            self._finish()
            return
        self.moved += size
        self.conn.ticks += 1
        try:
            sent = self.dst_sock.send(self.view[:size])
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.conn.fail(exc)
            return
        if sent < size:
            self.left = bytes(self.view[sent:size])
            self._block(self._send_left)
        elif size >= _BULK:
            self.splicing = True

    def _send_left(self) -> None:
        try:
            sent = self.dst_sock.send(self.left)
        except BlockingIOError:
            return
        except OSError as exc:
            self.conn.fail(exc)
            return
        self.left = self.left[sent:]
        if not self.left:
            self._unblock()

    def _splice_in(self) -> None:
        pipe = self.pipe
        if pipe is None:
            pipe = self.pipe = self.conn.pipes.take()
        try:
            size = os.splice(self.src, pipe[1], _CHUNK, None, None, _FLAGS)
        except BlockingIOError:
            self.pipe = None
            self.conn.pipes.give(pipe)
            return
        except OSError as exc:
            self.conn.fail(exc)
            return
        if not size:
            self.poller.reader(self.src, None)
            self._finish()
            return
        self.moved += size
        self.conn.ticks += 1
        self.pending = size
        if size >= _BULK:
            self.small = 0
        else:
            self.small += 1
            if self.small >= _SMALL_READS:
                self.splicing = False
                self.small = 0
        self._splice_out()

    def _splice_out(self) -> None:
        pipe = self.pipe
        assert pipe is not None
        try:
            size = os.splice(pipe[0], self.dst, self.pending, None, None, _FLAGS)
        except BlockingIOError:
            size = 0
        except OSError as exc:
            self.conn.fail(exc)
            return
        self.pending -= size
        if self.pending:
            if not self.blocked:
                self._block(self._splice_out)
            return
        self.conn.pipes.give(pipe)
        self.pipe = None
        if self.blocked:
            self._unblock()

    def _block(self, callback: Callable[[], None]) -> None:
        """The destination is full: stop reading until it has taken what we hold."""
        self.blocked = True
        self.poller.reader(self.src, None)
        self.poller.writer(self.dst, callback)

    def _unblock(self) -> None:
        self.blocked = False
        if not self.conn.closed:
            self.conn.ticks += 1
            self.poller.writer(self.dst, None)
            self.poller.reader(self.src, self.readable)

    def _finish(self) -> None:
        """The source ended: pass the half-close on."""
        if self.pipe is not None:
            self.conn.pipes.give(self.pipe)
            self.pipe = None
        self.done = True
        if not self.conn.ended():  # else both ends are closed at once: no shutdown needed
            with contextlib.suppress(OSError):
                self.dst_sock.shutdown(socket.SHUT_WR)

    def release(self) -> None:
        """The connection ends: a pipe still holding bytes cannot go back to the pool."""
        pipe = self.pipe
        if pipe is not None:
            self.pipe = None
            if self.pending:
                _close_pipe(pipe)
            else:
                self.conn.pipes.give(pipe)


class SpliceConnection:
    """Both legs of one proxied connection, with the counters the listener and metrics read."""

    __slots__ = (
        "attempts",
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
        "pipes",
        "poller",
        "reason",
        "seen",
        "started",
        "ticks",
        "tried",
        "tuned",
        "up",
        "upstream",
    )

    def __init__(self, listener: Listener, client: socket.socket, peer: object) -> None:
        self.listener = listener
        self.loop = listener.loop
        self.pipes = listener.pipes
        assert listener.poller is not None
        self.poller = listener.poller
        self.client = client
        self.peer = peer
        self.upstream: socket.socket | None = None
        self.endpoint: Endpoint | None = None
        self.up: Pump | None = None
        self.down: Pump | None = None
        self.ticks = self.seen = self.attempts = 0
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
            header = proxy_header(version, self.peer, self.client.getsockname())
            try:
                upstream.send(header)
            except OSError as exc:
                self.fail(exc)
                return
        self.up = up = Pump(self, self.client, upstream)
        self.down = down = Pump(self, upstream, self.client)
        self.poller.watch(up.src, up.readable, None)
        self.poller.watch(down.src, down.readable, None)
        up.readable()  # the client's first bytes are usually there already

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
        if self.ticks != self.seen:
            self.seen = self.ticks
            self.idle_since = now
        elif s.idle_timeout and now - self.idle_since >= s.idle_timeout:
            return "idle"
        if s.max_connection_age and now - self.started >= s.max_connection_age:
            return "age"
        return None

    def tune(self) -> None:
        """Keep-alive on the upstream leg, set from the sweep rather than per connect."""
        self.tuned = True
        if self.upstream is not None and self.listener.settings.tcp_keepalive:
            with contextlib.suppress(OSError):
                self.upstream.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def time_out(self, reason: str) -> None:
        self.close()

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

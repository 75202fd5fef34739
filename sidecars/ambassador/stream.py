"""http mode's plain TCP legs: a transport of our own on a raw socket.

uvloop's transports move bytes with ``read(2)`` and ``write(2)``, which on a socket pass
through the file layer (position lock, permission hooks) that ``recv(2)`` and ``send(2)``
skip: about a microsecond of kernel time per proxied request. ``SocketStream`` is the part
of ``asyncio.Transport`` the http legs use, on a socket the listener's ``Poller`` watches.
Its protocol is driven as asyncio drives one: ``connection_made`` first, ``eof_received``
(False closes), ``pause_writing`` and ``resume_writing`` around a full send buffer, and
``connection_lost`` soon after the socket is closed.

Only worth it compiled: interpreted, the Python calls of each event cost more than the
kernel time saved, so ``NATIVE`` tells the listener whether to use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
from collections.abc import Callable
from typing import Any, Final, Protocol

from .endpoint import Endpoint
from .poller import Poller

__all__ = ["NATIVE", "SocketStream", "StreamProtocol", "Transport", "connect"]

NATIVE: Final = not __file__.endswith(".py")

_READ: Final = 1 << 16  # recv(n) allocates n bytes: more than this costs an mmap per read
_HIGH: Final = 1 << 16
_LOW: Final = 1 << 14


class StreamProtocol(Protocol):
    def connection_made(self, transport: Any) -> None: ...
    def data_received(self, data: bytes) -> None: ...
    def eof_received(self) -> bool: ...
    def connection_lost(self, exc: Exception | None) -> None: ...
    def pause_writing(self) -> None: ...
    def resume_writing(self) -> None: ...


class SocketStream:
    """One connected non-blocking socket and the protocol it feeds."""

    __slots__ = (
        "closed",
        "closing",
        "eof",
        "eof_asked",
        "fd",
        "high",
        "loop",
        "low",
        "peer",
        "pending",
        "poller",
        "protocol",
        "reading",
        "recv",
        "send",
        "size",
        "sock",
        "writing_paused",
    )

    def __init__(
        self, poller: Poller, sock: socket.socket, protocol: StreamProtocol, peer: object = None
    ) -> None:
        self.poller = poller
        self.loop = poller.loop
        self.sock = sock
        self.fd = sock.fileno()
        # bound once: a call through the socket looks the method up by name every time
        self.recv: Callable[[int], bytes] = sock.recv
        self.send: Callable[[bytes], int] = sock.send
        self.protocol = protocol
        self.peer = peer
        self.pending: list[bytes] = []  # what the socket did not take yet
        self.size = 0
        self.high = _HIGH
        self.low = _LOW
        self.reading = True
        self.eof = False  # the peer ended its direction
        self.eof_asked = False  # write_eof(): shut our direction once the buffer is out
        self.closing = False
        self.closed = False
        self.writing_paused = False
        poller.watch(self.fd, self._readable, None)
        protocol.connection_made(self)

    def _readable(self) -> None:
        try:
            data = self.recv(_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._finish(exc)
            return
        if data:
            self.protocol.data_received(data)
            return
        self.eof = True
        self.pause_reading()
        if not self.protocol.eof_received():
            self.close()

    def write(self, data: bytes) -> None:
        if self.closing or self.eof_asked or not data:
            return
        if not self.size:
            try:
                sent = self.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._finish(exc)
                return
            if sent == len(data):
                return
            data = data[sent:]
            self.poller.writer(self.fd, self._writable)
        self.pending.append(data)
        self.size += len(data)
        if self.size > self.high and not self.writing_paused:
            self.writing_paused = True
            self.protocol.pause_writing()

    def _writable(self) -> None:
        pending = self.pending
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        try:
            sent = self.send(data)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._finish(exc)
            return
        self.size -= sent
        self.pending = [data[sent:]] if self.size else []
        if self.writing_paused and self.size <= self.low:
            self.writing_paused = False
            self.protocol.resume_writing()
        if self.size or self.closed:
            return
        self.poller.writer(self.fd, None)
        if self.closing:
            self._finish(None)
        elif self.eof_asked:
            self._shut()

    def write_eof(self) -> None:
        if self.eof_asked or self.closing:
            return
        self.eof_asked = True
        if not self.size:
            self._shut()

    def _shut(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def can_write_eof(self) -> bool:
        return True

    def pause_reading(self) -> None:
        if self.reading:
            self.reading = False
            if not self.closed:
                self.poller.reader(self.fd, None)

    def resume_reading(self) -> None:
        if not self.reading and not self.eof and not self.closing:
            self.reading = True
            self.poller.reader(self.fd, self._readable)

    def is_reading(self) -> bool:
        return self.reading

    def close(self) -> None:
        """Stop reading, send what is buffered, then close."""
        if self.closing:
            return
        self.closing = True
        self.pause_reading()
        if not self.size:
            self._finish(None)

    def abort(self) -> None:
        self._finish(None)

    def is_closing(self) -> bool:
        return self.closing

    def _finish(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = self.closing = True
        self.pending = []
        self.size = 0
        self.poller.forget(self.fd)
        self.sock.close()
        self.loop.call_soon(self.protocol.connection_lost, exc)

    def get_write_buffer_size(self) -> int:
        return self.size

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.high = _HIGH if high is None else high
        self.low = self.high // 4 if low is None else low

    def get_protocol(self) -> StreamProtocol:
        return self.protocol

    def set_protocol(self, protocol: StreamProtocol) -> None:
        self.protocol = protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "socket":
            return self.sock
        if name == "peername" and self.peer is not None:
            return self.peer
        if name in ("peername", "sockname") and not self.closed:
            with contextlib.suppress(OSError):
                return self.sock.getpeername() if name == "peername" else self.sock.getsockname()
        return default


# A leg's transport: ours, or uvloop's for TLS. Compiled, a call on this union goes straight
# to SocketStream's method when it is one, instead of through a method lookup by name.
Transport = SocketStream | asyncio.Transport


async def connect(poller: Poller, endpoint: Endpoint) -> socket.socket:
    """A connected non-blocking socket to ``endpoint``; ``OSError`` as asyncio raises it."""
    sock = socket.socket(endpoint.family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
    fd = sock.fileno()
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(endpoint.sockaddr)
        if code == errno.EINPROGRESS:
            done: asyncio.Future[None] = poller.loop.create_future()

            def ready() -> None:
                if not done.done():
                    done.set_result(None)

            poller.watch(fd, ready, ready)  # a refused connect reports through either
            await done
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, os.strerror(code))
    except BaseException:
        poller.forget(fd)
        sock.close()
        raise
    return sock

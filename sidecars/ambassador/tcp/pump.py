"""One direction of a tcp mode connection on raw sockets, copied through one shared buffer.

``Pump`` moves bytes from a source socket to a destination socket and passes the source's
EOF on as a half-close; the listener's ``COPY_BUFFER``-sized buffer is what every read goes
through.

Why copying and not ``splice``: with a 256 KiB buffer, ``recv`` then ``send`` moved 1 MiB
responses 10-25% faster than splicing through a 256 KiB pipe, at about the same CPU per
MiB (four same-run comparisons on loopback, benchmarks/ambassador/README.md). A direction
blocked on a slow destination holds at most one buffer's worth, as the pipe did.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from .poller import EOF, SHORT, Copier

if TYPE_CHECKING:
    from .raw import RawConnection

__all__ = ["COPY_BUFFER", "Pump"]

COPY_BUFFER: Final = 1 << 18


class Pump:
    """One direction: source socket to destination socket, half-close at the end.

    The direction's ``Copier`` is the source's reader (``recv_into`` the shared buffer, then
    ``send``); what a full destination did not take waits in ``left``, with the source not
    read, until the destination has taken it.
    """

    __slots__ = (
        "conn",
        "copier",
        "done",
        "dst",
        "dst_sock",
        "left",
        "poller",
        "send",
        "src",
        "ticks",
    )

    def __init__(self, conn: RawConnection, src: socket.socket, dst: socket.socket) -> None:
        self.conn = conn
        self.poller = conn.poller
        self.src = src.fileno()
        self.dst = dst.fileno()
        self.dst_sock = dst
        self.send: Callable[[bytes | memoryview], int] = dst.send
        self.copier = Copier(src, dst, conn.buf, self.copied)
        self.left = b""  # copied bytes the destination did not take yet
        self.ticks = 0  # events the copier does not count
        self.done = False

    @property
    def moved(self) -> int:
        return self.copier.moved

    @property
    def events(self) -> int:
        return self.copier.copies + self.ticks

    def copied(self, result: int) -> None:
        """The copier's report of whatever was not a plain copy."""
        if result == SHORT:
            left = self.copier.left
            assert left is not None
            self.left = left
            self._block(self._send_left)
        elif result == EOF:
            self._finish()
        else:
            self.conn.fail(OSError(-result, os.strerror(-result)))

    def _send_left(self) -> None:
        try:
            sent = self.send(self.left)
        except BlockingIOError:
            return
        except OSError as exc:
            self.conn.fail(exc)
            return
        self.left = self.left[sent:]
        if not self.left:
            self._unblock()

    def _block(self, callback: Callable[[], None]) -> None:
        """The destination is full: stop reading until it has taken what we hold."""
        self.poller.reader(self.src, None)
        self.poller.writer(self.dst, callback)

    def _unblock(self) -> None:
        if not self.conn.closed:
            self.ticks += 1
            self.poller.writer(self.dst, None)
            self.poller.reader(self.src, self.copier)

    def _finish(self) -> None:
        """The source ended: pass the half-close on."""
        self.done = True
        if not self.conn.ended():  # else both ends are closed at once: no shutdown needed
            self.poller.reader(self.src, None)  # a closed socket leaves the epoll set anyway
            with contextlib.suppress(OSError):
                self.dst_sock.shutdown(socket.SHUT_WR)

    def release(self) -> None:
        """The connection ends: the copier lets go of the buffer and of this pump."""
        self.copier.close()

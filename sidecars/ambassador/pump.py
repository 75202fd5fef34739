"""One direction of a tcp mode connection on raw sockets: copied when small, spliced when bulk.

``Pump`` moves bytes from a source socket to a destination socket and passes the source's
EOF on as a half-close; ``PipePool`` lends it the pipes that ``splice`` needs and the one
buffer that small copies go through.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from .poller import BULK, EOF, SHORT, Copier

if TYPE_CHECKING:
    from .splice import SpliceConnection

__all__ = ["PipePool", "Pump"]

_CHUNK: Final = 1 << 18
_PIPE_SIZE: Final = 1 << 18
_FLAGS: Final = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)
_F_SETPIPE_SZ: Final = 1031
_SPARE_PIPES: Final = 128
_COPY_BUFFER: Final = 1 << 16
_BULK: Final = 1 << 14  # a read this large suggests a bulk transfer: splice it
_SMALL_READS: Final = 64  # then this many small reads in a row go back to copying


class PipePool:
    """Empty pipes between uses: taking one is a list pop, not two system calls."""

    __slots__ = ("buf", "size", "spare")

    def __init__(self) -> None:
        self.spare: list[tuple[int, int]] = []
        self.size = _PIPE_SIZE
        self.buf = bytearray(_COPY_BUFFER)  # one loop, one read at a time: shared by all

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

    Small reads are copied through one shared buffer by the direction's ``Copier``, the
    source's reader (``recv_into`` then ``send``: for a few hundred bytes two plain calls
    cost less than two splices); once a read fills a bulk-sized share of the buffer the
    direction switches to splicing through a pipe, and back when reads turn small again,
    much as HAProxy's ``splice-auto`` does.
    """

    __slots__ = (
        "blocked",
        "conn",
        "copier",
        "done",
        "dst",
        "dst_sock",
        "left",
        "pending",
        "pipe",
        "poller",
        "send",
        "small",
        "spliced",
        "splicing",
        "src",
        "src_sock",
        "ticks",
    )

    def __init__(self, conn: SpliceConnection, src: socket.socket, dst: socket.socket) -> None:
        self.conn = conn
        self.poller = conn.poller
        self.src = src.fileno()
        self.dst = dst.fileno()
        self.src_sock = src
        self.dst_sock = dst
        self.send: Callable[[bytes | memoryview], int] = dst.send
        self.copier = Copier(src, dst, conn.pipes.buf, self.copied, _BULK)
        self.pipe: tuple[int, int] | None = None
        self.pending = 0  # bytes in the pipe not yet written on
        self.left = b""  # copied bytes the destination did not take yet
        self.spliced = 0
        self.ticks = 0  # events the copier does not count
        self.done = False
        self.blocked = False  # waiting for the destination to take more, not reading
        self.splicing = False
        self.small = 0  # small splice reads in a row

    @property
    def moved(self) -> int:
        return self.copier.moved + self.spliced

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
        elif result == BULK:
            self.splicing = True
            self.poller.reader(self.src, self.readable)
        elif result == EOF:
            self._finish()
        else:
            self.conn.fail(OSError(-result, os.strerror(-result)))

    def readable(self) -> None:
        """The source's reader while splicing."""
        self._splice_in()

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
            self._finish()
            return
        self.spliced += size
        self.ticks += 1
        self.pending = size
        if size >= _BULK:
            self.small = 0
        else:
            self.small += 1
            if self.small >= _SMALL_READS:
                self.splicing = False
                self.small = 0
                self.poller.reader(self.src, self.copier)
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
            self.ticks += 1
            self.poller.writer(self.dst, None)
            self.poller.reader(self.src, self.readable if self.splicing else self.copier)

    def _finish(self) -> None:
        """The source ended: pass the half-close on."""
        if self.pipe is not None:
            self.conn.pipes.give(self.pipe)
            self.pipe = None
        self.done = True
        if not self.conn.ended():  # else both ends are closed at once: no shutdown needed
            self.poller.reader(self.src, None)  # a closed socket leaves the epoll set anyway
            with contextlib.suppress(OSError):
                self.dst_sock.shutdown(socket.SHUT_WR)

    def release(self) -> None:
        """The connection ends: a pipe still holding bytes cannot go back to the pool."""
        self.copier.close()
        pipe = self.pipe
        if pipe is not None:
            self.pipe = None
            if self.pending:
                _close_pipe(pipe)
            else:
                self.conn.pipes.give(pipe)

"""One epoll set of our own for tcp mode's raw sockets, watched by the event loop as one fd,
and the ``Copier`` that moves a direction's bytes.

uvloop's ``add_reader`` gives every fd a libuv poll handle whose set-up checks the fd with an
extra epoll add and delete plus an ioctl, and drops it again whenever neither reader nor
writer is left: some fourteen epoll calls for one short proxied connection. Here a socket
costs one ``register``, a ``modify`` when it starts or stops waiting to write, and nothing on
close (closing an fd takes it out of the set).

``_poller.c`` is the same two classes in C, built with ``SIDECARS_COMPILE=1`` and used
where it was built: there a Copier's read and send cost no call into Python at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import select
import socket
from collections.abc import Callable
from typing import Final

__all__ = ["EOF", "SHORT", "Copier", "Poller"]

Callback = Callable[[], None]
_IN: Final = select.EPOLLIN
_OUT: Final = select.EPOLLOUT
_IN_EVENTS: Final = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR
_OUT_EVENTS: Final = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR
_BATCH: Final = 512

# what a Copier reports to its outcome callback; an error is reported as -errno
EOF: Final = 0
SHORT: Final = 1


class Poller:
    """Level-triggered readiness callbacks per fd, run from the loop's own poll."""

    __slots__ = ("dropped", "epoll", "loop", "watched")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.epoll = select.epoll()
        self.watched: dict[int, list[Callback | None]] = {}  # fd: [reader, writer]
        # fds forgotten while a batch is dispatched: their number may already name a new
        # socket, and the batch's events for them are stale (libuv does the same)
        self.dropped: set[int] = set()
        loop.add_reader(self.epoll.fileno(), self._ready)

    def watch(self, fd: int, reader: Callback | None, writer: Callback | None) -> None:
        """Set both callbacks of ``fd`` (``None``: not interested). With neither, the fd
        leaves the set: epoll reports a hang-up even to an empty mask, again and again."""
        mask = (_IN if reader is not None else 0) | (_OUT if writer is not None else 0)
        entry = self.watched.get(fd)
        if entry is None:
            if mask:
                self.watched[fd] = [reader, writer]
                self.epoll.register(fd, mask)
        elif not mask:
            del self.watched[fd]
            self.epoll.unregister(fd)
        else:
            entry[0] = reader
            entry[1] = writer
            self.epoll.modify(fd, mask)

    def reader(self, fd: int, reader: Callback | None) -> None:
        entry = self.watched.get(fd)
        self.watch(fd, reader, entry[1] if entry is not None else None)

    def writer(self, fd: int, writer: Callback | None) -> None:
        entry = self.watched.get(fd)
        self.watch(fd, entry[0] if entry is not None else None, writer)

    def forget(self, fd: int) -> None:
        """Call before closing ``fd``: the close itself removes it from the epoll set."""
        self.watched.pop(fd, None)
        self.dropped.add(fd)

    def _ready(self) -> None:
        watched = self.watched
        dropped = self.dropped
        dropped.clear()
        for fd, events in self.epoll.poll(0, _BATCH):
            entry = watched.get(fd)
            if entry is None or fd in dropped:
                continue
            if events & _IN_EVENTS:
                reader = entry[0]
                if reader is not None:
                    reader()
            if events & _OUT_EVENTS:
                writer = entry[1]
                if writer is not None and watched.get(fd) is entry:
                    writer()

    def fileno(self) -> int:
        return self.epoll.fileno()

    def close(self) -> None:
        if self.epoll.closed:
            return
        self.loop.remove_reader(self.epoll.fileno())
        self.epoll.close()
        self.watched.clear()


class Copier:
    """One direction's reads, set as the source's reader: ``recv_into`` the shared buffer,
    ``send`` on. A plain copy reports nothing; ``outcome`` hears of the rest: the source's
    EOF, a destination that took only part (the rest is in ``left``), or an error (as
    ``-errno``)."""

    __slots__ = ("copies", "left", "moved", "outcome", "recv_into", "send", "view")

    def __init__(
        self,
        src: socket.socket,
        dst: socket.socket,
        buf: bytearray,
        outcome: Callable[[int], None],
    ) -> None:
        self.recv_into: Callable[[memoryview], int] = src.recv_into
        self.send = dst.send
        self.view = memoryview(buf)
        self.outcome = outcome
        self.left: bytes | None = None
        self.moved = 0
        self.copies = 0

    def __call__(self) -> None:
        view = self.view
        try:
            size = self.recv_into(view)
        except BlockingIOError:
            return
        except OSError as exc:
            self.outcome(-(exc.errno or errno.EIO))
            return
        if not size:
            self.outcome(EOF)
            return
        self.moved += size
        self.copies += 1
        try:
            sent = self.send(view[:size])
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.outcome(-(exc.errno or errno.EIO))
            return
        if sent < size:
            self.left = bytes(view[sent:size])
            self.outcome(SHORT)

    def close(self) -> None:
        """Drop the outcome callback and the buffer: the cycle through the Pump ends here,
        so a closed connection is freed at once rather than by the cyclic collector."""
        self.recv_into = _closed
        self.outcome = lambda result: None
        self.view.release()


def _closed(buffer: memoryview) -> int:
    raise ValueError("the Copier is closed")


PurePoller, PureCopier = Poller, Copier
with contextlib.suppress(ImportError):  # where it was not built: the classes above
    from ._poller import Copier, Poller  # type: ignore[assignment]

"""The tcp mode's own epoll set and its copier, in Python and (where built) in C: events for a
descriptor closed mid-batch are dropped, and a copy reports all but the plain case."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import os
import select
import socket
import weakref
from collections.abc import Iterator

import pytest

from sidecars.ambassador.tcp import poller as poller_module
from sidecars.ambassador.tcp.poller import EOF, SHORT, Copier, Poller, PureCopier, PurePoller

# The C classes stand in for the Python ones, so both are typed by the Python classes.
Classes = tuple[type[Poller], type[Copier]]

_BUILT = poller_module.Poller is not PurePoller
if os.environ.get("SIDECARS_COMPILED") == "1" and not _BUILT:
    raise pytest.UsageError("SIDECARS_COMPILED=1 but sidecars.ambassador.tcp._poller is not built")
_IMPLEMENTATIONS: dict[str, Classes] = {"python": (PurePoller, PureCopier)}
if _BUILT:
    _IMPLEMENTATIONS["c"] = (poller_module.Poller, poller_module.Copier)


@pytest.fixture(params=list(_IMPLEMENTATIONS))
def classes(request: pytest.FixtureRequest) -> Classes:
    return _IMPLEMENTATIONS[request.param]


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket, socket.socket, socket.socket]]:
    """A source with its writing peer, a destination with its reading peer."""
    src_peer, src = socket.socketpair()
    dst, dst_peer = socket.socketpair()
    for sock in (src, dst, src_peer, dst_peer):
        sock.setblocking(False)
    yield src_peer, src, dst, dst_peer
    for sock in (src_peer, src, dst, dst_peer):
        sock.close()


async def test_an_event_for_a_closed_descriptor_never_reaches_its_new_owner(
    classes: Classes,
) -> None:
    """A callback closes the other socket and the same number is taken at once by a new
    socket (as a new connect may do): that number's event from the same batch is stale."""
    poller = classes[0](asyncio.get_running_loop())
    a, a_peer = socket.socketpair()
    b, b_peer = socket.socketpair()
    a_peer.send(b"x")
    b_peer.send(b"x")
    calls: list[str] = []
    replacement: list[socket.socket] = []

    def first(own: socket.socket, other: socket.socket) -> None:
        own.recv(1)
        calls.append("first")
        fd = other.fileno()
        poller.forget(fd)
        fresh, fresh_peer = socket.socketpair()
        os.dup2(fresh.fileno(), fd)  # the closed number now names a new socket
        replacement.extend((fresh, fresh_peer))
        other.detach()
        poller.watch(fd, lambda: calls.append("new owner"), None)

    poller.watch(a.fileno(), lambda: first(a, b), None)
    poller.watch(b.fileno(), lambda: first(b, a), None)
    try:
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert calls == ["first"]
    finally:
        poller.close()
        for sock in (a, a_peer, b, b_peer, *replacement):
            sock.close()


async def test_a_socket_watched_for_nothing_leaves_the_epoll_set(
    classes: Classes,
) -> None:
    """epoll reports a hang-up even to an empty mask: kept in the set, a paused socket
    whose peer is gone would wake the loop again and again."""
    poller = classes[0](asyncio.get_running_loop())
    ours, peer = socket.socketpair()
    try:
        poller.watch(ours.fileno(), lambda: None, None)
        poller.reader(ours.fileno(), None)
        peer.close()
        assert select.select([poller.fileno()], [], [], 0)[0] == []
        poller.writer(ours.fileno(), lambda: None)  # watched again: the hang-up is seen
        assert select.select([poller.fileno()], [], [], 0)[0] == [poller.fileno()]
    finally:
        poller.close()
        ours.close()
        peer.close()


async def test_reader_and_writer_run_on_their_events_and_can_be_replaced(
    classes: Classes,
) -> None:
    poller = classes[0](asyncio.get_running_loop())
    ours, peer = socket.socketpair()
    calls: list[str] = []

    def read() -> None:
        calls.append(f"read {ours.recv(16)!r}")
        poller.reader(ours.fileno(), None)
        poller.writer(ours.fileno(), write)

    def write() -> None:
        calls.append("write")
        poller.watch(ours.fileno(), None, None)

    try:
        poller.watch(ours.fileno(), read, None)
        peer.send(b"ping")
        for _ in range(100):
            if "write" in calls:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert calls == ["read b'ping'", "write"]
    finally:
        poller.close()
        ours.close()
        peer.close()


def test_a_small_read_is_copied_and_reports_nothing(
    classes: Classes,
    pair: tuple[socket.socket, socket.socket, socket.socket, socket.socket],
) -> None:
    src_peer, src, dst, dst_peer = pair
    reports: list[int] = []
    copier = classes[1](src, dst, bytearray(1024), reports.append)
    copier()  # nothing to read yet
    src_peer.send(b"hello")
    copier()
    assert dst_peer.recv(64) == b"hello"
    assert (copier.moved, copier.copies, reports) == (5, 1, [])


def test_a_read_as_large_as_the_buffer_is_copied_whole(
    classes: Classes,
    pair: tuple[socket.socket, socket.socket, socket.socket, socket.socket],
) -> None:
    src_peer, src, dst, dst_peer = pair
    reports: list[int] = []
    copier = classes[1](src, dst, bytearray(1024), reports.append)
    data = os.urandom(1500)
    src_peer.send(data)
    copier()
    copier()
    assert dst_peer.recv(2048) == data
    assert (copier.moved, copier.copies, reports) == (1500, 2, [])


def test_what_a_full_destination_did_not_take_is_kept(
    classes: Classes,
    pair: tuple[socket.socket, socket.socket, socket.socket, socket.socket],
) -> None:
    src_peer, src, dst, dst_peer = pair
    dst.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    reports: list[int] = []
    copier = classes[1](src, dst, bytearray(1 << 16), reports.append)
    data = os.urandom(1 << 15)
    written = bytearray()
    for _ in range(100):  # fill the destination until it takes only part of a read
        with contextlib.suppress(BlockingIOError):
            written += data[: src_peer.send(data)]
        copier()
        if reports:
            break
    assert reports == [SHORT]
    left = copier.left
    assert left
    received = bytearray()
    with contextlib.suppress(BlockingIOError):
        for _ in range(10_000):
            received += dst_peer.recv(1 << 16)
    assert bytes(received) + left == written[: copier.moved]


def test_the_source_ending_and_a_broken_destination_are_reported(
    classes: Classes,
    pair: tuple[socket.socket, socket.socket, socket.socket, socket.socket],
) -> None:
    src_peer, src, dst, dst_peer = pair
    reports: list[int] = []
    copier = classes[1](src, dst, bytearray(1024), reports.append)
    dst_peer.close()
    src_peer.send(b"lost")
    copier()
    src_peer.shutdown(socket.SHUT_WR)
    copier()
    assert reports == [-errno.EPIPE, EOF]


def test_a_closed_copier_lets_go_of_its_buffer_and_its_outcome(
    classes: Classes,
    pair: tuple[socket.socket, socket.socket, socket.socket, socket.socket],
) -> None:
    """A Pump and its Copier hold each other; closing the copier ends that cycle, so a closed
    connection is freed by reference counting instead of waiting for the cyclic collector."""
    src_peer, src, dst, _ = pair
    buf = bytearray(1024)

    class Owner:
        copier: Copier

        def outcome(self, result: int) -> None:
            pass

    owner = Owner()
    copier = classes[1](src, dst, buf, owner.outcome)
    owner.copier = copier
    gone = weakref.ref(owner)
    with pytest.raises(BufferError):
        buf.extend(b"x")  # the open copier holds the buffer
    copier.close()
    buf.extend(b"x")
    src_peer.send(b"late")
    with pytest.raises(ValueError, match="closed"):
        copier()
    gc.disable()
    try:
        del owner
        assert gone() is None
    finally:
        gc.enable()


async def test_a_copier_is_a_reader_the_poller_runs(
    classes: Classes,
    pair: tuple[socket.socket, socket.socket, socket.socket, socket.socket],
) -> None:
    poller_class, copier_class = classes
    src_peer, src, dst, dst_peer = pair
    poller = poller_class(asyncio.get_running_loop())
    reports: list[int] = []

    def outcome(result: int) -> None:
        reports.append(result)
        poller.watch(src.fileno(), None, None)  # a report may unwatch the copier itself

    copier = copier_class(src, dst, bytearray(1024), outcome)
    poller.watch(src.fileno(), copier, None)
    try:
        received = bytearray()
        for i in range(20):
            src_peer.send(b"%d;" % i)
            for _ in range(100):
                await asyncio.sleep(0.001)
                try:
                    received += dst_peer.recv(1024)
                except BlockingIOError:
                    continue
                if received.endswith(b"%d;" % i):
                    break
        src_peer.shutdown(socket.SHUT_WR)
        for _ in range(100):
            if reports:
                break
            await asyncio.sleep(0.01)
        assert bytes(received) == b"".join(b"%d;" % i for i in range(20))
        assert reports == [EOF]
    finally:
        poller.close()

"""The tcp mode's own epoll set: events for a descriptor closed mid-batch are dropped."""

from __future__ import annotations

import asyncio
import os
import socket

from sidecars.ambassador.poller import Poller


async def test_an_event_for_a_closed_descriptor_never_reaches_its_new_owner() -> None:
    """A callback closes the other socket and the same number is taken at once by a new
    socket (as a new connect may do): that number's event from the same batch is stale."""
    poller = Poller(asyncio.get_running_loop())
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


async def test_a_socket_watched_for_nothing_leaves_the_epoll_set() -> None:
    """epoll reports a hang-up even to an empty mask: kept in the set, a paused socket
    whose peer is gone would wake the loop again and again."""
    poller = Poller(asyncio.get_running_loop())
    ours, peer = socket.socketpair()
    try:
        poller.watch(ours.fileno(), lambda: None, None)
        poller.reader(ours.fileno(), None)
        peer.close()
        assert poller.epoll.poll(0) == []
        assert ours.fileno() not in poller.watched
    finally:
        poller.close()
        ours.close()
        peer.close()

"""The issue's two reference forwarders, so its calibration can be measured on this machine.

Run: python forwarders.py protocol|splice LISTEN_PORT UPSTREAM_PORT

``protocol`` is a protocol-level asyncio forwarder on uvloop: ``data_received`` writes to
the other leg's transport, with flow control and half-close. ``splice`` is the same on raw
non-blocking sockets with ``os.splice`` through a pipe per direction, so bytes stay in the
kernel. Neither balances, retries or counts anything: they are the floor of what an asyncio
program costs per byte and per request, the figures the targets were set from.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Coroutine

import uvloop

TASKS: set[asyncio.Task[None]] = set()  # held until done: the loop keeps only weak references
FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
CHUNK = 1 << 18


def spawn(coro: Coroutine[None, None, None]) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    TASKS.add(task)
    task.add_done_callback(TASKS.discard)


class Leg(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: Leg | None = None
        self.eof = False
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.peer is None or self.peer.transport is None:
            self.early.append(data)  # before the upstream leg is connected
        else:
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None:
            return False
        if peer.eof:  # both directions ended: close both transports
            peer.transport.close()
            return False
        peer.transport.write_eof()
        return True

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


class Downstream(Leg):
    def __init__(self, upstream: int) -> None:
        super().__init__()
        self.upstream = upstream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        spawn(self.dial())

    async def dial(self) -> None:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        try:
            _, up = await loop.create_connection(Leg, "127.0.0.1", self.upstream)
        except OSError:
            self.transport.close()
            return
        up.peer, self.peer = self, up
        assert up.transport is not None
        if self.transport.is_closing():
            up.transport.close()
            return
        for data in self.early:
            up.transport.write(data)
        self.early.clear()
        if self.eof:
            up.transport.write_eof()


class Direction:
    """src to dst through a pipe; the reader on src is dropped while dst is full."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pair: Pair, src: int, dst: int) -> None:
        self.loop, self.pair, self.src, self.dst = loop, pair, src, dst
        self.read_end, self.write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.pending = 0
        self.done = False
        loop.add_reader(src, self.readable)

    def readable(self) -> None:
        try:
            moved = os.splice(self.src, self.write_end, CHUNK, flags=FLAGS)
        except BlockingIOError:
            return
        except OSError:
            self.pair.close()
            return
        if moved == 0:
            self.loop.remove_reader(self.src)
            self.done = True
            self.pair.ended(self)
            return
        self.pending += moved
        self.drain()

    def drain(self) -> None:
        try:
            while self.pending:
                self.pending -= os.splice(self.read_end, self.dst, self.pending, flags=FLAGS)
        except BlockingIOError:
            self.loop.remove_reader(self.src)
            self.loop.add_writer(self.dst, self.writable)
        except OSError:
            self.pair.close()

    def writable(self) -> None:
        self.drain()
        if not self.pending and not self.pair.closed:
            self.loop.remove_writer(self.dst)
            self.loop.add_reader(self.src, self.readable)

    def close(self) -> None:
        self.loop.remove_reader(self.src)
        self.loop.remove_writer(self.dst)
        os.close(self.read_end)
        os.close(self.write_end)


class Pair:
    def __init__(self, loop: asyncio.AbstractEventLoop, down: socket.socket, up: socket.socket):
        self.socks = (down, up)
        self.closed = False
        self.directions = (
            Direction(loop, self, down.fileno(), up.fileno()),
            Direction(loop, self, up.fileno(), down.fileno()),
        )

    def ended(self, direction: Direction) -> None:
        if all(d.done for d in self.directions):
            self.close()
            return
        other = self.socks[1] if direction is self.directions[0] else self.socks[0]
        try:
            other.shutdown(socket.SHUT_WR)
        except OSError:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for direction in self.directions:
            direction.close()
        for sock in self.socks:
            sock.close()


async def splice_forwarder(listen: int, upstream: int) -> None:
    loop = asyncio.get_running_loop()
    server = socket.create_server(("127.0.0.1", listen), backlog=4096)
    server.setblocking(False)

    async def serve(down: socket.socket) -> None:
        up = socket.socket()
        up.setblocking(False)
        try:
            await loop.sock_connect(up, ("127.0.0.1", upstream))
        except OSError:
            up.close()
            down.close()
            return
        for sock in (down, up):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Pair(loop, down, up)

    while True:
        down, _ = await loop.sock_accept(server)
        down.setblocking(False)
        spawn(serve(down))


async def protocol_forwarder(listen: int, upstream: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Downstream(upstream), "127.0.0.1", listen)
    await server.serve_forever()


def main() -> None:
    kind, listen, upstream = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    forwarder = {"protocol": protocol_forwarder, "splice": splice_forwarder}[kind]
    uvloop.run(forwarder(listen, upstream))


if __name__ == "__main__":
    main()

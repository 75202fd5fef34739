"""http mode's own transport on raw sockets, against real socket pairs and listeners."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator

import pytest

from sidecars.ambassador.endpoint import Endpoint
from sidecars.ambassador.poller import Poller
from sidecars.ambassador.stream import SocketStream, connect

from .conftest import free_port


class Recorder:
    """A protocol that keeps what it is told."""

    def __init__(self, keep_open_on_eof: bool = False) -> None:
        self.keep_open_on_eof = keep_open_on_eof
        self.data = bytearray()
        self.events: list[str] = []
        self.lost = asyncio.get_running_loop().create_future()
        self.eof = asyncio.Event()

    def connection_made(self, transport: object) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> bool:
        self.events.append("eof")
        self.eof.set()
        return self.keep_open_on_eof

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")
        self.lost.set_result(exc)

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")


@pytest.fixture
async def poller() -> AsyncIterator[Poller]:
    poller = Poller(asyncio.get_running_loop())
    yield poller
    poller.close()


def _pair() -> tuple[socket.socket, socket.socket]:
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.setblocking(False)
    return ours, peer


async def _read_all(sock: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    got = bytearray()
    async with asyncio.timeout(10):
        while len(got) < size:
            chunk = await loop.sock_recv(sock, 1 << 16)
            if not chunk:
                break
            got += chunk
    return bytes(got)


async def test_a_full_send_buffer_pauses_the_writer_and_every_byte_arrives_in_order(
    poller: Poller,
) -> None:
    ours, peer = _pair()
    protocol = Recorder()
    stream = SocketStream(poller, ours, protocol)
    data = bytes(range(256)) * 16384  # 4 MiB: far beyond what the socket buffers take
    for at in range(0, len(data), 1 << 16):
        stream.write(data[at : at + (1 << 16)])
    assert "pause" in protocol.events
    assert stream.get_write_buffer_size() > 0
    got = await _read_all(peer, len(data))
    assert got == data
    assert protocol.events[-2:] == ["pause", "resume"]
    assert stream.get_write_buffer_size() == 0
    stream.close()
    assert await protocol.lost is None
    peer.close()


async def test_close_sends_what_is_buffered_before_the_socket_closes(poller: Poller) -> None:
    ours, peer = _pair()
    protocol = Recorder()
    stream = SocketStream(poller, ours, protocol)
    data = b"x" * (4 << 20)
    stream.write(data)
    stream.close()
    stream.write(b"after close")  # ignored, as asyncio's transports do
    assert not protocol.lost.done()
    got = await _read_all(peer, len(data) + 1)
    assert got == data  # then the end of the stream: nothing after it
    assert await protocol.lost is None
    peer.close()


async def test_the_peers_eof_closes_unless_the_protocol_keeps_writing(poller: Poller) -> None:
    ours, peer = _pair()
    closing = Recorder()
    SocketStream(poller, ours, closing)
    peer.shutdown(socket.SHUT_WR)
    assert await asyncio.wait_for(closing.lost, 5) is None
    assert closing.events == ["made", "eof", "lost"]
    peer.close()

    ours, peer = _pair()
    half = Recorder(keep_open_on_eof=True)
    stream = SocketStream(poller, ours, half)
    peer.send(b"question")
    peer.shutdown(socket.SHUT_WR)
    await asyncio.wait_for(half.eof.wait(), 5)
    assert bytes(half.data) == b"question"
    stream.write(b"answer")
    stream.write_eof()
    assert await _read_all(peer, 100) == b"answer"  # then EOF
    stream.close()
    assert await half.lost is None
    peer.close()


async def test_a_reset_reaches_the_protocol_as_the_error(poller: Poller) -> None:
    ours, peer = _pair()
    protocol = Recorder()
    stream = SocketStream(poller, ours, protocol)
    peer.close()
    for _ in range(100):  # writing to a closed peer fails within a few sends
        stream.write(b"y" * 4096)
        if protocol.lost.done() or stream.is_closing():
            break
        await asyncio.sleep(0)
    exc = await asyncio.wait_for(protocol.lost, 5)
    assert isinstance(exc, OSError)
    assert exc.errno in (errno.EPIPE, errno.ECONNRESET)


async def test_a_socket_watched_for_nothing_leaves_the_epoll_set(poller: Poller) -> None:
    """epoll reports a hang-up even to an empty mask: kept in the set, a paused socket
    whose peer is gone would wake the loop again and again."""
    ours, peer = _pair()
    poller.watch(ours.fileno(), lambda: None, None)
    poller.reader(ours.fileno(), None)
    peer.close()
    assert poller.epoll.poll(0) == []
    assert ours.fileno() not in poller.watched
    ours.close()


async def test_connect_reports_a_refused_port_as_oserror(poller: Poller) -> None:
    port = free_port()
    endpoint = Endpoint("127.0.0.1", port, "127.0.0.1")
    with pytest.raises(ConnectionRefusedError):
        await connect(poller, endpoint)
    assert not poller.watched

    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
    async with server:
        sock = await connect(poller, endpoint)
        assert sock.getpeername() == ("127.0.0.1", port)
        poller.forget(sock.fileno())
        sock.close()

"""Syslog framing and headers as NGINX and relays send them, over real sockets."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from sidecars.nginxlog.syslog import ListenAddress, SyslogListener, split, unwrap


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (b"<190>Nov 22 04:30:00 web-1 nginx: 1.2.3.4 - - x", b"1.2.3.4 - - x"),
        (b"<190>Nov  2 04:30:00 web-1 nginx[123]: a: b\n", b"a: b"),
        (b"<13>1 2026-11-22T04:30:00Z web-1 nginx 12 - - line here", b"line here"),
        (b'<13>1 2026-11-22T04:30:00Z h app - id [x a="1\\]"][y] \xef\xbb\xbfmsg', b"msg"),
        (b"no header at all", b"no header at all"),
    ],
)
def test_unwrap(message: bytes, line: bytes) -> None:
    assert unwrap(message) == line


def test_split_finds_the_tag() -> None:
    assert split(b"<190>Nov 22 04:30:00 web-1 nginx: x") == (b"nginx", b"x")
    assert split(b"<190>Nov  2 04:30:00 web-1 app[12]: y\n") == (b"app", b"y")
    assert split(b"<13>1 2026-11-22T04:30:00Z web-1 nginx 12 - - z") == (b"nginx", b"z")
    assert split(b"no header") == (b"", b"no header")


def test_listen_addresses() -> None:
    assert str(ListenAddress.parse("udp://127.0.0.1:514")) == "udp://127.0.0.1:514"
    assert ListenAddress.parse("unix:///run/log.sock").path == "/run/log.sock"
    for bad in ("127.0.0.1:514", "http://x:1", "udp://x", "unix://relative"):
        assert not _valid(bad), bad


def _valid(text: str) -> bool:
    try:
        ListenAddress.parse(text)
    except ValueError:
        return False
    return True


class _Lines(list[bytes]):
    """Collects lines and wakes whoever waits for them."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def add(self, line: bytes) -> None:
        self.append(line)
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self) < count:
                self.changed.clear()
                await self.changed.wait()


async def test_tcp_octet_counting_and_newline_framing() -> None:
    lines = _Lines()
    listener = SyslogListener(ListenAddress.parse("tcp://127.0.0.1:0"), lines.add, 4096)
    await listener.start()
    try:
        port = int(listener.bound.rsplit(":", 1)[1])
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        first = b"<190>Nov 22 04:30:00 h nginx: one"
        writer.write(str(len(first)).encode() + b" " + first)
        writer.write(b"<190>Nov 22 04:30:00 h nginx: two\n")
        await writer.drain()
        await lines.wait_for(2)
        writer.close()
        assert lines == [b"one", b"two"]
    finally:
        await listener.stop()


async def test_unix_datagram_socket(tmp_path: Path) -> None:
    lines = _Lines()
    path = tmp_path / "log.sock"
    listener = SyslogListener(ListenAddress.parse(f"unix://{path}"), lines.add, 4096)
    await listener.start()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"<190>Nov 22 04:30:00 h nginx: via unix", str(path))
        await lines.wait_for(1)
        assert lines == [b"via unix"]
    finally:
        await listener.stop()
    assert not path.exists()

"""Syslog listeners (UDP, TCP, unix datagram) for ``access_log syslog:server=...``.

Messages are unwrapped (RFC 3164 or RFC 5424 header removed) and handed on in batches,
so the parser still sees many lines at once even though each arrives on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

__all__ = ["ListenAddress", "SyslogListener", "split", "unwrap"]

_RFC3164 = re.compile(
    rb"<\d{1,3}>(?:[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} )?(?:[^ ]+ )??"
    rb"(?:([^ :\[]{1,48})(?:\[[0-9]+\])?: )",
    re.DOTALL,
)
_RFC5424 = re.compile(rb"<\d{1,3}>1 [^ ]+ [^ ]+ ([^ ]+) [^ ]+ [^ ]+ ")
_STRUCTURED = re.compile(rb'(?:\[(?:[^\]\\"]|"(?:[^"\\]|\\.)*"|\\.)*\])+ ?|- ?')


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where to listen: ``udp://host:port``, ``tcp://host:port`` or ``unix:///path``."""

    scheme: str
    host: str
    port: int
    path: str

    expected: ClassVar[str] = "udp://host:port, tcp://host:port or unix:///path"
    type_name: ClassVar[str] = "listen address"

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        scheme, sep, rest = text.strip().partition("://")
        if not sep or scheme not in ("udp", "tcp", "unix") or not rest:
            raise ValueError
        if scheme == "unix":
            if not rest.startswith("/"):
                raise ValueError
            return cls(scheme, "", 0, rest)
        host, colon, port = rest.rpartition(":")
        if not colon or not port.isdigit() or int(port) > 65535:
            raise ValueError
        return cls(scheme, host.strip("[]") or "0.0.0.0", int(port), "")

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def unwrap(message: bytes) -> bytes:
    """The log line inside one syslog message (header and trailing newline removed)."""
    return split(message)[1]


def split(message: bytes) -> tuple[bytes, bytes]:
    """The tag (RFC 3164) or app name (RFC 5424) of one message, empty if it has none,
    and the log line inside it."""
    message = message.rstrip(b"\r\n\x00")
    match = _RFC5424.match(message)
    if match is not None:
        rest = message[match.end() :]
        data = _STRUCTURED.match(rest)
        if data is not None:
            rest = rest[data.end() :]
        return match.group(1), rest.removeprefix(b"\xef\xbb\xbf")
    match = _RFC3164.match(message)
    if match is not None:
        return match.group(1), message[match.end() :]
    return b"", message


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self.sink = sink

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.sink(data)


class SyslogListener:
    """One listening socket; every message's line goes to ``sink``, or with ``tags``
    only the lines of messages with one of those tags (prometheus-nginxlog-exporter's
    ``source.syslog.tags``)."""

    def __init__(
        self,
        address: ListenAddress,
        sink: Callable[[bytes], None],
        max_line: int,
        tags: frozenset[bytes] = frozenset(),
    ) -> None:
        self.address = address
        self.line_sink = sink
        self.tags = tags
        self.max_line = max_line
        self._close: Callable[[], None] | None = None
        self._server: asyncio.Server | None = None
        self.bound: str = str(address)

    def sink(self, message: bytes) -> None:
        tag, line = split(message)
        if not self.tags or tag in self.tags:
            self.line_sink(line)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        address = self.address
        if address.scheme == "tcp":
            self._server = await asyncio.start_server(
                self._stream, address.host, address.port, limit=self.max_line + 64
            )
            port = self._server.sockets[0].getsockname()[1]
            self.bound = str(ListenAddress("tcp", address.host, port, ""))
            return
        if address.scheme == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(address.path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(address.path)
        else:
            family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.bind((address.host, address.port))
            port = sock.getsockname()[1]
            self.bound = str(ListenAddress("udp", address.host, port, ""))
        sock.setblocking(False)
        transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self.sink), sock=sock)
        self._close = transport.close

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """RFC 6587 framing: octet counting (``<length> <message>``) or one message a line."""
        try:
            while True:
                first = await reader.read(1)
                if not first:
                    break
                if first.isdigit():
                    size = first + await reader.readuntil(b" ")
                    length = int(size[:-1])
                    if length > self.max_line:
                        break
                    self.sink(await reader.readexactly(length))
                else:
                    self.sink(first + await reader.readuntil(b"\n"))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._close is not None:
            self._close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self.address.scheme == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.address.path)

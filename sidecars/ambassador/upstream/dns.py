"""Name resolution for upstreams: the system resolver, or direct DNS queries for TTLs and SRV.

``getaddrinfo`` hides record TTLs and cannot ask for SRV records, so when a DNS server is
named (or an SRV upstream is used) a small stub resolver asks it directly over UDP.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from pathlib import Path

from sidecars.runtime.types import HostPort

from ..config import Target

__all__ = ["Resolved", "resolve", "system_nameserver"]

A, AAAA, SRV = 1, 28, 33
_TIMEOUT = 2.0

Resolved = tuple[list[tuple[str, int, str]], float | None]
"""(host, port, server name) triples, and the smallest TTL seen (``None``: unknown)."""


def system_nameserver() -> HostPort:
    """The first ``nameserver`` of /etc/resolv.conf (what a Pod's DNS policy set)."""
    try:
        for line in Path("/etc/resolv.conf").read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return HostPort(parts[1], 53)
    except OSError:
        pass
    return HostPort("127.0.0.1", 53)


async def resolve(target: Target, server: HostPort | None) -> Resolved:
    """Every address of ``target``; raises ``OSError`` when the name does not resolve."""
    if not target.is_name:
        return [(target.host, target.port, target.host)], None
    if target.srv:
        return await _srv(target.host, server or system_nameserver())
    if server is None:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        found = {str(info[4][0]) for info in infos}
        return [(host, target.port, target.host) for host in sorted(found)], None
    addresses, ttl = await _addresses(target.host, server)
    return [(host, target.port, target.host) for host in addresses], ttl


async def _addresses(name: str, server: HostPort) -> tuple[list[str], float | None]:
    results = await asyncio.gather(_query(server, name, A), _query(server, name, AAAA))
    found: list[str] = []
    ttls: list[int] = []
    for records in results:
        for rtype, ttl, data in records:
            if rtype == A and len(data) == 4:
                found.append(socket.inet_ntop(socket.AF_INET, data))
            elif rtype == AAAA and len(data) == 16:
                found.append(socket.inet_ntop(socket.AF_INET6, data))
            else:
                continue
            ttls.append(ttl)
    if not found:
        raise OSError(f"{name}: no A or AAAA records")
    return sorted(set(found)), float(min(ttls))


async def _srv(name: str, server: HostPort) -> Resolved:
    records = await _query(server, name, SRV)
    entries: list[tuple[str, int, str]] = []
    ttls: list[float] = []
    for rtype, ttl, data in records:
        if rtype != SRV or len(data) < 7:
            continue
        port = struct.unpack("!H", data[4:6])[0]
        host = data[6:].decode("ascii")
        ttls.append(ttl)
        addresses, address_ttl = await _addresses(host, server)
        ttls.append(address_ttl or ttl)
        entries += [(address, port, host) for address in addresses]
    if not entries:
        raise OSError(f"{name}: no SRV records")
    return entries, min(ttls)


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, ident: int) -> None:
        self.ident = ident
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        ours = len(data) >= 2 and struct.unpack("!H", data[:2])[0] == self.ident
        if ours and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def _query(server: HostPort, name: str, rtype: int) -> list[tuple[int, int, bytes]]:
    ident = random.randrange(65536)
    question = b"".join(
        bytes([len(label)]) + label for label in name.rstrip(".").encode("idna").split(b".")
    )
    packet = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + b"\0"
    packet += struct.pack("!HH", rtype, 1)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Answer(ident), remote_addr=(server.host, server.port)
    )
    try:
        transport.sendto(packet)
        async with asyncio.timeout(_TIMEOUT):
            reply = await protocol.reply
    except TimeoutError:
        raise OSError(f"{name}: no answer from {server}") from None
    finally:
        transport.close()
    return _parse(reply, name)


def _parse(reply: bytes, name: str) -> list[tuple[int, int, bytes]]:
    _, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", reply[:12])
    code = flags & 0xF
    if code == 3:
        raise OSError(f"{name}: no such name")
    if code:
        raise OSError(f"{name}: DNS error code {code}")
    pos = 12
    for _ in range(qdcount):
        _, pos = _name(reply, pos)
        pos += 4
    records = []
    for _ in range(ancount):
        _, pos = _name(reply, pos)
        rtype, _, ttl, length = struct.unpack("!HHIH", reply[pos : pos + 10])
        pos += 10
        data = reply[pos : pos + length]
        if rtype == SRV:
            target, _ = _name(reply, pos + 6)
            data = data[:6] + target.encode("ascii")
        records.append((rtype, ttl, data))
        pos += length
    return records


def _name(packet: bytes, pos: int) -> tuple[str, int]:
    labels: list[str] = []
    end = -1
    for _ in range(128):
        length = packet[pos]
        if length >= 0xC0:
            if end < 0:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | packet[pos + 1]
            continue
        if length == 0:
            return ".".join(labels), (end if end >= 0 else pos + 1)
        labels.append(packet[pos + 1 : pos + 1 + length].decode("ascii"))
        pos += 1 + length
    raise OSError("malformed DNS name")

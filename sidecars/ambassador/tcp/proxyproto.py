"""PROXY protocol headers, so an upstream sees the real client address (HAProxy's spec)."""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

__all__ = ["proxy_header"]

_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_header(version: str, client: Any, local: Any) -> bytes:
    """The header for a connection from ``client`` to our ``local`` (socket addresses)."""
    try:
        src = ipaddress.ip_address(client[0])
        dst = ipaddress.ip_address(local[0])
        sport, dport = int(client[1]), int(local[1])
    except (TypeError, ValueError, IndexError):
        return b"PROXY UNKNOWN\r\n" if version == "v1" else _V2_SIGNATURE + b"\x20\x00\x00\x00"
    if src.version != dst.version:
        src, dst = _as_v6(src), _as_v6(dst)
    if version == "v1":
        kind = "TCP4" if src.version == 4 else "TCP6"
        return f"PROXY {kind} {src} {dst} {sport} {dport}\r\n".encode()
    family = 0x11 if src.version == 4 else 0x21
    addresses = src.packed + dst.packed + struct.pack("!HH", sport, dport)
    return _V2_SIGNATURE + struct.pack("!BBH", 0x21, family, len(addresses)) + addresses


def _as_v6(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    if isinstance(address, ipaddress.IPv6Address):
        return address
    return ipaddress.IPv6Address(f"::ffff:{address}")

"""One upstream address and what is known about it: load, traffic, health."""

from __future__ import annotations

import socket
from typing import Any

__all__ = ["Endpoint"]


class Endpoint:
    """Plain counters bumped on the data path; the collector reads them at scrape time."""

    __slots__ = (
        "active",
        "bytes_in",
        "bytes_out",
        "connect_errors",
        "ejected_until",
        "ejections",
        "failures",
        "family",
        "healthy",
        "host",
        "idle",
        "label",
        "port",
        "removed",
        "server_name",
        "sockaddr",
        "streak",
        "timeouts",
        "total",
    )

    def __init__(self, host: str, port: int, server_name: str) -> None:
        self.host = host
        self.port = port
        self.server_name = server_name
        self.label = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sockaddr: tuple[Any, ...] = (host, port, 0, 0) if ":" in host else (host, port)
        self.active = 0
        self.total = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.connect_errors = 0
        self.timeouts = 0
        self.failures = 0
        self.ejections = 0
        self.streak = 0
        self.ejected_until = 0.0
        self.healthy = True
        self.removed = False
        self.idle: list[Any] = []

    def __repr__(self) -> str:
        return f"Endpoint({self.label})"

"""How one endpoint is chosen among the available ones."""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Sequence
from typing import Final, Protocol

from .endpoint import Endpoint

__all__ = ["Balancer", "make_balancer"]

_KETAMA_POINTS: Final = 40  # digests per endpoint, four ring points each: 160 points like libketama


class Balancer(Protocol):
    def rebuild(self, endpoints: Sequence[Endpoint]) -> None:
        """Membership changed; ``endpoints`` is the new full list."""

    def pick(self, available: Sequence[Endpoint], key: bytes | None) -> Endpoint:
        """One of ``available`` (never empty), which is a subset of the last rebuild's list."""


class RoundRobin:
    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def rebuild(self, endpoints: Sequence[Endpoint]) -> None:
        return

    def pick(self, available: Sequence[Endpoint], key: bytes | None) -> Endpoint:
        self._next += 1
        return available[self._next % len(available)]


class LeastConn:
    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def rebuild(self, endpoints: Sequence[Endpoint]) -> None:
        return

    def pick(self, available: Sequence[Endpoint], key: bytes | None) -> Endpoint:
        self._next += 1
        count = len(available)
        best = available[self._next % count]
        for offset in range(1, count):
            candidate = available[(self._next + offset) % count]
            if candidate.active < best.active:
                best = candidate
        return best


class PowerOfTwo:
    """Random two, the less busy wins: near least-conn balance without a global scan."""

    __slots__ = ()

    def rebuild(self, endpoints: Sequence[Endpoint]) -> None:
        return

    def pick(self, available: Sequence[Endpoint], key: bytes | None) -> Endpoint:
        if len(available) == 1:
            return available[0]
        first, second = random.sample(available, 2)
        return first if first.active <= second.active else second


class Ketama:
    """Consistent hashing as libketama does it, so keys move only from nodes that left."""

    __slots__ = ("_hashes", "_owners")

    def __init__(self) -> None:
        self._hashes: list[int] = []
        self._owners: list[Endpoint] = []

    def rebuild(self, endpoints: Sequence[Endpoint]) -> None:
        points: list[tuple[int, str, Endpoint]] = []
        for endpoint in endpoints:
            for index in range(_KETAMA_POINTS):
                digest = hashlib.md5(f"{endpoint.label}-{index}".encode()).digest()
                for part in range(4):
                    value = int.from_bytes(digest[part * 4 : part * 4 + 4], "little")
                    points.append((value, endpoint.label, endpoint))
        points.sort(key=lambda point: (point[0], point[1]))
        self._hashes = [point[0] for point in points]
        self._owners = [point[2] for point in points]

    def pick(self, available: Sequence[Endpoint], key: bytes | None) -> Endpoint:
        if key is None or not self._hashes:
            return available[random.randrange(len(available))]
        value = int.from_bytes(hashlib.md5(key).digest()[:4], "little")
        start = bisect.bisect_left(self._hashes, value)
        size = len(self._hashes)
        allowed = set(map(id, available))
        for step in range(size):
            owner = self._owners[(start + step) % size]
            if id(owner) in allowed:
                return owner
        return available[0]


def make_balancer(name: str) -> Balancer:
    if name == "least_conn":
        return LeastConn()
    if name == "p2c":
        return PowerOfTwo()
    if name == "ketama":
        return Ketama()
    return RoundRobin()

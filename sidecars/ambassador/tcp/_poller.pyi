"""Types of _poller.c: poller.py's Poller and Copier in C."""

import asyncio
import socket
from collections.abc import Callable
from typing import Final

EOF: Final[int]
SHORT: Final[int]

class Poller:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None: ...
    def watch(
        self, fd: int, reader: Callable[[], None] | None, writer: Callable[[], None] | None
    ) -> None: ...
    def reader(self, fd: int, reader: Callable[[], None] | None) -> None: ...
    def writer(self, fd: int, writer: Callable[[], None] | None) -> None: ...
    def forget(self, fd: int) -> None: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...

class Copier:
    moved: int
    copies: int
    left: bytes | None
    def __init__(
        self,
        src: socket.socket,
        dst: socket.socket,
        buf: bytearray,
        outcome: Callable[[int], None],
    ) -> None: ...
    def __call__(self) -> None: ...
    def close(self) -> None: ...

"""What a dependency is and how one attempt checks whether it answers."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from yarl import URL

if TYPE_CHECKING:
    import aiohttp

__all__ = ["Target"]


@dataclass(frozen=True, slots=True)
class Target:
    """One dependency: ``tcp://host:port``, ``http(s)://...``, ``file:///path`` or ``dns://name``.

    An HTTP target answers when its status is 200-399, like a Kubernetes ``httpGet`` probe,
    or one of the statuses listed in the fragment: ``http://app/ready#status=204,409``.
    """

    url: URL
    statuses: frozenset[int] = frozenset()

    expected: ClassVar[str] = (
        "a target such as tcp://host:port, http://host/path[#status=200], "
        "file:///path or dns://name"
    )
    type_name: ClassVar[str] = "target"

    @classmethod
    def parse(cls, text: str) -> Target:
        url = URL(text.strip())
        statuses: frozenset[int] = frozenset()
        if url.scheme == "tcp":
            if not url.host or url.explicit_port is None or url.path not in ("", "/"):
                raise ValueError
        elif url.scheme in ("http", "https"):
            if not url.host:
                raise ValueError
            if url.fragment:
                key, _, codes = url.fragment.partition("=")
                if key != "status" or not codes:
                    raise ValueError
                statuses = frozenset(int(code) for code in codes.split(","))
                url = url.with_fragment(None)
        elif url.scheme == "file":
            if not url.path or url.path == "/":
                raise ValueError
        elif url.scheme == "dns":
            if not url.host:
                raise ValueError
        else:
            raise ValueError
        return cls(url, statuses)

    def __str__(self) -> str:
        shown = self.url.with_password("****") if self.url.password else self.url
        if self.statuses:
            shown = shown.with_fragment("status=" + ",".join(map(str, sorted(self.statuses))))
        return str(shown)

    @property
    def is_http(self) -> bool:
        return self.url.scheme in ("http", "https")

    async def check(self, session: aiohttp.ClientSession | None, limit: float) -> None:
        """One attempt; returns when the target answers, raises ``OSError`` or
        ``TimeoutError`` with the reason otherwise. ``session`` is needed by HTTP targets only."""
        async with asyncio.timeout(limit):
            if self.url.scheme == "tcp":
                await self._tcp()
            elif self.url.scheme == "file":
                if not await asyncio.to_thread(os.path.exists, self.url.path):
                    raise FileNotFoundError(f"{self.url.path} does not exist")
            elif self.url.scheme == "dns":
                assert self.url.host is not None
                await asyncio.get_running_loop().getaddrinfo(self.url.host, None)
            else:
                assert session is not None, "an HTTP target needs a session"
                await self._http(session)

    async def _tcp(self) -> None:
        _, writer = await asyncio.open_connection(self.url.host, self.url.port)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def _http(self, session: aiohttp.ClientSession) -> None:
        import aiohttp

        try:
            async with session.get(self.url, allow_redirects=False) as response:
                status = response.status
        except aiohttp.ClientError as exc:
            raise ConnectionError(str(exc) or type(exc).__name__) from None
        if self.statuses and status in self.statuses:
            return
        if not self.statuses and 200 <= status < 400:
            return
        raise ConnectionError(f"HTTP {status}")

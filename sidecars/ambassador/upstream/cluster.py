"""An upstream group: its endpoints (kept current from DNS), their health, picking one and
connecting to it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, Protocol, TypeVar, cast

from ..config import Target
from ..settings import AmbassadorSettings
from .balancer import make_balancer
from .endpoint import Endpoint

__all__ = ["Cluster", "ConnectFailed", "TlsConnect", "set_socket_options"]

P = TypeVar("P")  # an asyncio protocol, duck-typed (see http.client.HttpClient)
_MAX_DOUBLINGS: Final = 10
_BURST: Final = 10.0  # retry tokens saved up at most


class TlsConnect(Protocol):
    """Opens a TLS connection and runs ``factory``'s protocol over the decrypted stream
    (``tcp.tlsstream.open_tls``); passed in, so that upstream/ needs no transport of its own."""

    def __call__(
        self,
        factory: Callable[[], P],
        host: str,
        port: int,
        context: ssl.SSLContext,
        server_hostname: str | None,
        /,
    ) -> Awaitable[tuple[asyncio.Transport, P]]: ...


class ConnectFailed(Exception):
    """No endpoint took the connection; the message says what happened with the last one."""


class Cluster:
    """Endpoints of one upstream group and the policy to reach them."""

    def __init__(
        self,
        name: str,
        settings: AmbassadorSettings,
        targets: Iterable[Target],
        log: logging.Logger,
        *,
        connect_tls: TlsConnect,
    ) -> None:
        self.name = name
        self.connect_tls = connect_tls
        self.settings = settings
        self.targets = tuple(targets)
        self.log = log
        self.endpoints: list[Endpoint] = []
        self.balancer = make_balancer(settings.lb)
        self.hashed = settings.lb == "ketama"
        self.ssl: ssl.SSLContext | None = None
        if settings.tls:
            from ..tls import client_context  # TLS settings load only where TLS is used

            self.ssl = client_context(settings)
        self.retries = 0
        self.requests = 0  # each request adds ``retry_budget`` to the retry tokens
        self.retry_tokens = _BURST
        self._counted = 0  # requests already turned into tokens
        self.on_removed: list[Callable[[Endpoint], None]] = []
        # read on every request: copied from the settings (an interpreted object) once
        self.pool_size = settings.pool_size
        self._members: dict[Target, list[Endpoint]] = {}
        self.loop = asyncio.get_running_loop()
        self.recovered_by = 0.0  # no endpoint is ejected after this time (0: none is)
        self.all_healthy = True  # no active check failing
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Resolve every target once (failures are logged and retried), then keep watching."""
        await asyncio.gather(*(self._refresh(target) for target in self.targets))
        for target in self.targets:
            if target.is_name:
                self._tasks.append(asyncio.create_task(self._watch(target)))
        if self.settings.health_check != "off":
            self._tasks.append(asyncio.create_task(self._check_loop()))

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _refresh(self, target: Target) -> float:
        s = self.settings
        if not target.is_name:  # an address: no DNS client to load
            self._apply(target, [(target.host, target.port, target.host)])
            return float(s.dns_min_ttl)
        from .dns import resolve

        try:
            entries, ttl = await resolve(target, s.dns_server)
        except (OSError, UnicodeError) as exc:
            self.log.warning(
                "cannot resolve upstream", extra={"upstream": str(target), "error": str(exc)}
            )
            return float(s.dns_min_ttl)
        self._apply(target, entries)
        return min(max(ttl if ttl is not None else 0.0, s.dns_min_ttl), s.dns_max_ttl)

    async def _watch(self, target: Target) -> None:
        delay = float(self.settings.dns_min_ttl)
        while True:
            await asyncio.sleep(delay)
            delay = await self._refresh(target)

    def _apply(self, target: Target, entries: list[tuple[str, int, str]]) -> None:
        old = {(e.host, e.port): e for e in self._members.get(target, [])}
        new = []
        for host, port, server_name in entries:
            endpoint = old.pop((host, port), None) or Endpoint(host, port, server_name)
            new.append(endpoint)
        self._members[target] = new
        for gone in old.values():
            gone.removed = True
            for callback in self.on_removed:
                callback(gone)
        seen: dict[tuple[str, int], Endpoint] = {}
        for members in self._members.values():
            for endpoint in members:
                seen.setdefault((endpoint.host, endpoint.port), endpoint)
        if list(seen.values()) != self.endpoints:
            if self.endpoints or old:
                self.log.info(
                    "upstream endpoints changed",
                    extra={"upstream": self.name, "endpoints": [e.label for e in seen.values()]},
                )
            self.endpoints = list(seen.values())
            self.balancer.rebuild(self.endpoints)

    def pick(self, key: bytes | None, tried: Iterable[Endpoint] = ()) -> Endpoint | None:
        """The endpoint for the next connection or request; ``None`` if none is left to try."""
        if not tried and self.all_healthy:
            if self.recovered_by and self.loop.time() >= self.recovered_by:
                self.recovered_by = 0.0
            if not self.recovered_by:
                return self.balancer.pick(self.endpoints, key) if self.endpoints else None
        now = self.loop.time()
        excluded = set(map(id, tried))
        candidates = [
            e
            for e in self.endpoints
            if e.healthy and e.ejected_until <= now and id(e) not in excluded
        ]
        if not candidates and not excluded:
            candidates = self.endpoints  # every endpoint is down: trying beats refusing
        if not candidates:
            return None
        return self.balancer.pick(candidates, key)

    def succeeded(self, endpoint: Endpoint) -> None:
        endpoint.failures = 0
        endpoint.streak = 0

    def failed(self, endpoint: Endpoint) -> None:
        """A connect failure or a 5xx: enough in a row eject the endpoint for a while."""
        endpoint.failures += 1
        if endpoint.failures < self.settings.eject_after:
            return
        period = float(self.settings.eject_time) * 2 ** min(endpoint.streak, _MAX_DOUBLINGS)
        endpoint.streak += 1
        endpoint.ejections += 1
        endpoint.failures = self.settings.eject_after - 1
        endpoint.ejected_until = self.loop.time() + period
        self.recovered_by = max(self.recovered_by, endpoint.ejected_until)
        self.log.warning(
            "endpoint ejected",
            extra={"upstream": self.name, "endpoint": endpoint.label, "seconds": period},
        )

    def take_retry(self) -> bool:
        """Spend one retry if the budget allows (refilled by each request, counted here
        rather than on every request)."""
        earned = (self.requests - self._counted) * self.settings.retry_budget
        self._counted = self.requests
        self.retry_tokens = min(self.retry_tokens + earned, _BURST)
        if self.retry_tokens < 1.0:
            return False
        self.retry_tokens -= 1.0
        self.retries += 1
        return True

    async def connect(
        self,
        factory: Callable[[], P],
        key: bytes | None,
        first: Endpoint | None = None,
        tried: list[Endpoint] | None = None,
    ) -> tuple[asyncio.Transport, P, Endpoint]:
        """A connection to ``first`` or a picked endpoint, trying others on failure.

        Raises ``ConnectFailed`` once ``connect_attempts`` endpoints failed; ``tried`` (if
        given) collects the endpoints that did.
        """
        loop = asyncio.get_running_loop()
        tried = [] if tried is None else tried
        reason = "no endpoints"
        for _ in range(self.settings.connect_attempts):
            endpoint = first if first is not None else self.pick(key, tried)
            first = None
            if endpoint is None:
                break
            tried.append(endpoint)
            try:
                async with asyncio.timeout(self.settings.connect_timeout or None):
                    if self.ssl is None:
                        transport, made = await loop.create_connection(
                            cast("Callable[[], asyncio.Protocol]", factory),
                            endpoint.host,
                            endpoint.port,
                        )
                        protocol = cast("P", made)
                    else:
                        transport, protocol = await self.connect_tls(
                            factory,
                            endpoint.host,
                            endpoint.port,
                            self.ssl,
                            self._server_name(endpoint),
                        )
            except TimeoutError:
                endpoint.timeouts += 1
                reason = f"{endpoint.label}: connect timed out"
            except (OSError, ssl.SSLError) as exc:
                endpoint.connect_errors += 1
                reason = (
                    f"{endpoint.label}: {exc.strerror or exc}"
                    if isinstance(exc, OSError)
                    else f"{endpoint.label}: {exc}"
                )
            else:
                return transport, protocol, endpoint
            self.failed(endpoint)
        raise ConnectFailed(reason)

    def _server_name(self, endpoint: Endpoint) -> str | None:
        if self.ssl is None:
            return None
        return self.settings.tls_server_name or endpoint.server_name

    async def _check_loop(self) -> None:
        while True:
            await asyncio.gather(*(self._check(e) for e in list(self.endpoints)))
            await asyncio.sleep(float(self.settings.health_check_interval))

    async def _check(self, endpoint: Endpoint) -> None:
        from .health import probe  # loads with active checks only

        ok = await probe(endpoint, self.settings, self.ssl, self._server_name(endpoint))
        if ok != endpoint.healthy:
            self.log.warning(
                "endpoint health changed",
                extra={"upstream": self.name, "endpoint": endpoint.label, "healthy": ok},
            )
        endpoint.healthy = ok
        self.all_healthy = all(e.healthy for e in self.endpoints)


def set_socket_options(transport: asyncio.BaseTransport, keepalive: bool) -> None:
    """TCP_NODELAY always (we forward what we get at once), keep-alive when asked."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

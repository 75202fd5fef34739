"""One bound address: accepts connections, tracks them, times out idle ones, drains them."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

from .config import ListenerConfig
from .connection import Connection
from .stats import ListenerStats
from .tcp.poller import Poller
from .tcp.pump import COPY_BUFFER
from .tcp.raw import RawConnection
from .upstream.cluster import Cluster
from .upstream.endpoint import Endpoint

if TYPE_CHECKING:
    import ssl

    from .http.headers import HeaderRules
    from .tcp.tlsstream import TlsStream
    from .tls import ServerTLS

__all__ = ["Listener"]

_MAX_SWEEP = 5.0
_MIN_SWEEP = 0.05
_ACCEPT_BATCH = 64
_ACCEPT_PAUSE = 0.1

P = TypeVar("P")


class Listener:
    """Owns the server socket, the set of open connections and the clusters it sends to."""

    def __init__(self, config: ListenerConfig, log: logging.Logger) -> None:
        self.name = config.name
        self.config = config
        self.settings = config.settings
        self.log = log
        self.loop = asyncio.get_running_loop()
        self.stats = ListenerStats()
        self.cluster = Cluster(
            config.name, config.settings, config.targets, log, connect_tls=_open_tls
        )
        self.routes = [
            (
                route.prefix,
                route.host,
                Cluster(
                    f"{config.name}{route.prefix}",
                    route.settings,
                    route.targets,
                    log,
                    connect_tls=_open_tls,
                ),
            )
            for route in config.routes
        ]
        # http mode's header rules, per upstream group (upstream/ knows no HTTP)
        self.header_rules: dict[Cluster, HeaderRules] = {}
        if config.settings.mode == "http":
            from .http.headers import HeaderRules  # http/ loads for http listeners only

            self.header_rules = {
                cluster: HeaderRules(cluster.settings) for cluster in self.clusters
            }
        self.connections: set[Connection] = set()
        self.draining = False
        for cluster in self.clusters:
            cluster.on_removed.append(_close_idle)
        self.server: asyncio.Server | None = None
        self.tls: ServerTLS | None = None
        s = self.settings
        if s.listen_tls_cert_file is not None and s.listen_tls_key_file is not None:
            from .tls import ServerTLS

            self.tls = ServerTLS(s.listen_tls_cert_file, s.listen_tls_key_file, log)
        self._tasks: list[asyncio.Task[None]] = []
        self.buf = bytearray()  # tcp mode's copy buffer, made at the first accept
        self.raw = s.mode == "tcp" and self.tls is None and self.cluster.ssl is None
        self.sock: socket.socket | None = None
        self.poller: Poller | None = None
        self.paused = False  # accepting stopped at AMBASSADOR_MAX_CONNECTIONS

    @property
    def clusters(self) -> list[Cluster]:
        return [self.cluster, *(cluster for _, _, cluster in self.routes)]

    async def start(self, factory: Callable[[], object]) -> None:
        """Resolve upstreams, then bind; ``OSError`` if the address is taken."""
        await asyncio.gather(*(cluster.start() for cluster in self.clusters))
        if self.raw:
            self.poller = Poller(self.loop)
            self.sock = self._socket()
            self.sock.listen(4096)
            self.loop.add_reader(self.sock.fileno(), self._accept)
        else:
            if self.tls is not None:
                factory = _terminating(self.tls, factory)
            self.server = await self.loop.create_server(
                cast("Callable[[], asyncio.Protocol]", factory), sock=self._socket(), backlog=4096
            )
        self._tasks.append(asyncio.create_task(self._sweep()))
        if self.tls is not None:
            self._tasks.append(asyncio.create_task(self.tls.watch()))

    def _socket(self) -> socket.socket:
        """The listening socket; accepted sockets inherit its SO_KEEPALIVE on Linux, which
        spares a setsockopt per connection."""
        listen = self.settings.listen
        family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.settings.tcp_keepalive:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind(
                (listen.host or ("::" if family == socket.AF_INET6 else "0.0.0.0"), listen.port)
            )
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _accept(self) -> None:
        """Accepts on the raw path; a full descriptor table pauses accepting briefly
        instead of spinning on a listening socket that stays readable."""
        sock = self.sock
        assert sock is not None
        if not self.buf:
            # one loop, one read at a time: shared by all; 256 KiB an idle Pod need not hold
            self.buf = bytearray(COPY_BUFFER)
        family = int(sock.family)
        for _ in range(_ACCEPT_BATCH):
            if len(self.connections) >= self.settings.max_connections:
                # full: new connections wait in the backlog until one closes
                self.paused = True
                self.loop.remove_reader(sock.fileno())
                return
            try:
                # socket.accept() converts family and type to enums for every call, which
                # costs about as much as the accept itself; _accept() returns the bare fd
                fd, peer = sock._accept()  # type: ignore[attr-defined]
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.log.warning(
                        "cannot accept", extra={"listener": self.name, "error": exc.strerror}
                    )
                    self.loop.remove_reader(sock.fileno())
                    self.loop.call_later(_ACCEPT_PAUSE, self._resume_accepting)
                return
            client = socket.socket(family, socket.SOCK_STREAM, 0, fd)
            client.setblocking(False)
            connection = RawConnection(self, client, peer)
            self.opened(connection)
            connection.connect()

    def _resume_accepting(self) -> None:
        if self.sock is not None and not self.draining:
            self.loop.add_reader(self.sock.fileno(), self._accept)

    @property
    def address(self) -> str:
        if self.sock is not None:
            host, port = self.sock.getsockname()[:2]
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def opened(self, connection: Connection) -> bool:
        """Count a new connection; False when the listener is full and must refuse it."""
        if len(self.connections) >= self.settings.max_connections:
            self.stats.refused += 1
            return False
        self.connections.add(connection)
        self.stats.connections += 1
        return True

    def closed(self, connection: Connection) -> None:
        if connection not in self.connections:
            return
        self.connections.remove(connection)
        self.stats.bytes_in += connection.bytes_in
        self.stats.bytes_out += connection.bytes_out
        if self.paused and len(self.connections) < self.settings.max_connections:
            self.paused = False
            self._resume_accepting()

    async def stop_accepting(self) -> None:
        self.draining = True
        if self.server is not None:
            self.server.close()
        if self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    async def drain(self, limit: float) -> None:
        """Wait up to ``limit`` seconds for open connections, then cut the rest."""
        deadline = self.loop.time() + limit
        while self.connections and self.loop.time() < deadline:
            for connection in list(self.connections):
                if connection.idle_between_requests():
                    connection.close()
            await asyncio.sleep(0.05)
        if self.connections:
            self.log.warning(
                "closing connections still open after the drain",
                extra={"listener": self.name, "connections": len(self.connections)},
            )
        for connection in list(self.connections):
            connection.abort()
        for cluster in self.clusters:
            for endpoint in cluster.endpoints:
                _close_idle(endpoint)
        for task in self._tasks:
            task.cancel()
        for cluster in self.clusters:
            cluster.stop()
        if self.poller is not None:
            self.poller.close()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)

    async def _sweep(self) -> None:
        """One timer for all connections: idle, header (slowloris) and age limits."""
        s = self.settings
        limits = [x for x in (s.idle_timeout, s.max_connection_age) if x > 0]
        if self.raw and s.connect_timeout > 0:
            limits.append(s.connect_timeout)
        if s.mode == "http":
            limits += [x for x in (s.header_timeout, s.request_timeout) if x > 0]
            limits += [s.pool_idle_timeout] if s.pool_idle_timeout > 0 else []
        if not limits:
            return
        period = min(max(min(limits) / 4, _MIN_SWEEP), _MAX_SWEEP)
        while True:
            await asyncio.sleep(period)
            now = self.loop.time()
            for connection in list(self.connections):
                if not connection.tuned:
                    connection.tune()
                reason = connection.expired(now)
                if reason is not None:
                    self.stats.timeouts[reason] = self.stats.timeouts.get(reason, 0) + 1
                    connection.time_out(reason)
            if s.mode == "http" and s.pool_idle_timeout > 0:
                for cluster in self.clusters:
                    for endpoint in cluster.endpoints:
                        for idle in list(endpoint.idle):
                            if now - idle.idle_since >= cluster.settings.pool_idle_timeout:
                                idle.transport.close()


def _terminating(tls: ServerTLS, app: Callable[[], object]) -> Callable[[], object]:
    """TLS first, then the mode's protocol; the context is read per connection, so a
    reloaded certificate serves the next handshake."""
    from .tcp.tlsstream import TlsStream

    return lambda: TlsStream(tls.context, True, app_factory=app)


async def _open_tls(
    factory: Callable[[], P],
    host: str,
    port: int,
    context: ssl.SSLContext,
    server_hostname: str | None,
) -> tuple[TlsStream, P]:
    """``tcp.tlsstream.open_tls``, loaded by the first TLS connection to an upstream:
    a listener without upstream TLS never needs it."""
    from .tcp.tlsstream import open_tls

    return await open_tls(factory, host, port, context, server_hostname)


def _close_idle(endpoint: Endpoint) -> None:
    for idle in list(endpoint.idle):
        idle.transport.close()

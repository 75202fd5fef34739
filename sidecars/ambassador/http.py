"""http mode's client leg: parse each request head, pick an upstream, stream the body both ways.

One request at a time per client connection (bytes of a pipelined next request wait in the
buffer). Upstream connections come from a per-endpoint keep-alive pool; a request without a
body whose reused connection turned out closed is sent again on a fresh one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from .cluster import Cluster, ConnectFailed
from .endpoint import Endpoint
from .framing import MAX_HEAD, BadMessage, Chunked, Head, parse_head
from .pool import HttpUpstream, take_idle

if TYPE_CHECKING:
    from .listener import Listener

__all__ = ["HttpClient"]

_IDEMPOTENT = frozenset((b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"))
_RETRY_STATUS = frozenset((502, 503, 504))
_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}
_BURST = 10.0

WAIT, CONNECTING, EXCHANGE, TUNNEL = 0, 1, 2, 3


class HttpClient(asyncio.Protocol):
    __slots__ = (
        "attempts",
        "body",
        "buf",
        "bytes_in",
        "bytes_out",
        "chunked",
        "closed",
        "cluster",
        "discard",
        "endpoint",
        "eof_in",
        "eof_out",
        "head_started",
        "held",
        "idle_since",
        "keep_alive",
        "key",
        "listener",
        "method",
        "out_head",
        "peer_ip",
        "remaining",
        "req_done",
        "responded",
        "seen",
        "stale_retried",
        "started",
        "state",
        "ticks",
        "transport",
        "tried",
        "tuned",
        "upgrade",
        "upstream",
    )

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.upstream: HttpUpstream | None = None
        self.cluster: Cluster = listener.cluster
        self.endpoint: Endpoint | None = None
        self.buf = b""
        self.state = WAIT
        self.bytes_in = self.bytes_out = self.ticks = self.seen = 0
        self.idle_since = listener.loop.time()
        self.head_started = self.started = 0.0
        self.closed = False
        self.tuned = True  # pooled upstream connections set their own options
        self.keep_alive = True
        self.method = b""
        self.out_head = b""
        self.held = b""
        self.body = "none"
        self.remaining = 0
        self.chunked: Chunked | None = None
        self.req_done = True
        self.responded = False
        self.discard = False
        self.stale_retried = False
        self.attempts = 0
        self.tried: list[Endpoint] = []
        self.key: bytes | None = None
        self.peer_ip = b""
        self.upgrade = b""  # the Upgrade header of a request that asks for one
        self.eof_in = self.eof_out = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]).encode() if isinstance(peer, tuple) else b""
        self.listener.opened(self)

    # client -> upstream

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self.ticks += 1
        if self.state == TUNNEL:
            self.upstream.transport.write(data)  # type: ignore[union-attr]
            return
        if self.state == EXCHANGE and not self.req_done:
            self._body(data)
            return
        self.buf = self.buf + data if self.buf else data
        if self.state == WAIT:
            self._next()
        elif len(self.buf) > MAX_HEAD:
            self.transport.pause_reading()  # type: ignore[union-attr]

    def _next(self) -> None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                self._error(431)
            elif buf and not self.head_started:
                self.head_started = self.listener.loop.time()
            return
        try:
            head = parse_head(buf[:end], request=True)
        except BadMessage:
            self._error(400)
            return
        self.buf = buf[end + 4 :]
        self.head_started = 0.0
        self.started = self.listener.loop.time()
        self.method = head.first[0]
        self.keep_alive = not head.close
        self.body = head.body
        self.remaining = head.length
        self.chunked = Chunked() if head.body == "chunked" else None
        self.req_done = head.body == "none"
        self.responded = self.discard = self.stale_retried = False
        self.upgrade = b""
        if head.upgrade and b"upgrade" in head.tokens and head.body == "none":
            self.upgrade = head.get(b"upgrade") or b""
        self.attempts = 0
        self.tried = []
        cluster = self._route(head)
        if cluster is None:
            self._error(404)
            return
        self.cluster = cluster
        self.out_head = self._rewrite(head, cluster)
        self.key = self._key(head, cluster)
        cluster.retry_tokens = min(cluster.retry_tokens + cluster.settings.retry_budget, _BURST)
        self.state = CONNECTING
        self._dispatch()

    def _route(self, head: Head) -> Cluster | None:
        routes = self.listener.routes
        if not routes:
            return self.listener.cluster
        host = (head.get(b"host") or b"").split(b":", 1)[0].decode("latin-1").lower()
        path = head.first[1].decode("latin-1")
        for prefix, route_host, cluster in routes:
            if (not route_host or route_host == host) and path.startswith(prefix):
                return cluster
        return self.listener.cluster if self.listener.cluster.targets else None

    def _key(self, head: Head, cluster: Cluster) -> bytes | None:
        spec = cluster.settings.hash_key
        if cluster.settings.lb != "ketama":
            return None
        if spec == "path":
            return head.first[1].split(b"?", 1)[0]
        if spec.startswith("header:"):
            value = head.get(spec[7:].lower().encode())
            if value is not None:
                return value
        return self.peer_ip

    def _rewrite(self, head: Head, cluster: Cluster) -> bytes:
        s = cluster.settings
        forwarded = head.get(b"x-forwarded-for") if s.x_forwarded_for else None
        extra = cluster.request_add
        if b"\r\nhost:" not in head.low:
            extra += b"\r\nHost: " + (s.tls_server_name or "localhost").encode()
        if s.x_forwarded_for:
            chain = self.peer_ip if forwarded is None else forwarded + b", " + self.peer_ip
            extra += b"\r\nX-Forwarded-For: " + chain
        if self.upgrade:
            extra += b"\r\nConnection: Upgrade\r\nUpgrade: " + self.upgrade
        raw = head.without(cluster.request_strip)
        if head.version != b"HTTP/1.1":
            end = raw.find(b"\r\n")
            raw = b"%s %s HTTP/1.1%s" % (
                head.first[0],
                head.first[1],
                raw[end:] if end > 0 else b"",
            )
        return raw + extra + b"\r\n\r\n"

    def _dispatch(self) -> None:
        endpoint = self.cluster.pick(self.key, self.tried)
        if endpoint is None:
            self._fail("no upstream endpoint available")
            return
        connection = take_idle(endpoint)
        if connection is not None:
            self._attach(connection, endpoint, reused=True)
        else:
            self.listener.loop.create_task(self._connect(endpoint))

    async def _connect(self, first: Endpoint) -> None:
        cluster = self.cluster
        keepalive = cluster.settings.tcp_keepalive
        try:
            _, connection, endpoint = await cluster.connect(
                lambda: HttpUpstream(keepalive), self.key, first=first, tried=self.tried
            )
        except ConnectFailed as exc:
            if not self.closed:
                self._fail(str(exc))
            return
        endpoint.total += 1
        connection.endpoint = endpoint
        if self.closed or self.state != CONNECTING:
            connection.transport.close()  # type: ignore[union-attr]
            return
        self._attach(connection, endpoint, reused=False)

    def _attach(self, connection: HttpUpstream, endpoint: Endpoint, reused: bool) -> None:
        self.state = EXCHANGE
        connection.reused = reused
        self.upstream = connection
        self.endpoint = endpoint
        endpoint.active += 1
        connection.begin(self)
        transport = connection.transport
        assert transport is not None
        transport.write(self.out_head)
        if not self.req_done:
            data, self.buf = self.buf, b""
            if data:
                self._body(data)
            self.transport.resume_reading()  # type: ignore[union-attr]

    def _body(self, data: bytes) -> None:
        upstream = self.upstream
        assert upstream is not None
        assert upstream.transport is not None
        if self.body == "length":
            size = len(data)
            if size <= self.remaining:
                self.remaining -= size
                upstream.transport.write(data)
                if self.remaining:
                    return
                data = b""
            else:
                upstream.transport.write(data[: self.remaining])
                data = data[self.remaining :]
                self.remaining = 0
        else:
            assert self.chunked is not None
            try:
                end = self.chunked.feed(data)
            except BadMessage:
                self._error(400)
                return
            upstream.transport.write(data[:end] if end < len(data) else data)
            if not self.chunked.done:
                return
            data = data[end:]
        self.req_done = True
        if data:
            self.buf = data + self.buf

    # upstream -> client

    def response_head(self, upstream: HttpUpstream, head: Head, status: int) -> None:
        """Called by the upstream leg with the final response head, before its body."""
        cluster = self.cluster
        if status >= 500:
            cluster.failed(self.endpoint)  # type: ignore[arg-type]
        else:
            cluster.succeeded(self.endpoint)  # type: ignore[arg-type]
        if status in _RETRY_STATUS and self._may_retry():
            self.discard = True
            return
        if self.listener.draining or head.body == "eof" or not self.req_done:
            self.keep_alive = False
        raw = head.without(cluster.response_strip)
        if head.version != b"HTTP/1.1":
            end = raw.find(b"\r\n")
            first = b"HTTP/1.1 " + head.first[1] + b" " + head.first[2]
            raw = first + (raw[end:] if end > 0 else b"")
        extra = cluster.response_add
        if status == 101:
            extra += b"\r\nConnection: Upgrade\r\nUpgrade: " + (head.get(b"upgrade") or b"")
        elif not self.keep_alive:
            extra += b"\r\nConnection: close"
        self.responded = True
        self.listener.stats.observe(status, self.listener.loop.time() - self.started)
        self.held = raw + extra + b"\r\n\r\n"

    def send(self, data: bytes) -> None:
        if self.discard:
            return
        if self.held:
            data = self.held + data
            self.held = b""
        self.bytes_out += len(data)
        self.transport.write(data)  # type: ignore[union-attr]

    def flush(self) -> None:
        """Send a response head still held back to go out with the first body bytes."""
        if self.held and not self.discard:
            self.send(b"")

    def response_done(self, upstream: HttpUpstream) -> None:
        endpoint = self.endpoint
        assert endpoint is not None
        endpoint.active -= 1
        self.upstream = None
        upstream.client = None
        if upstream.reusable and self.req_done and not endpoint.removed:
            upstream.idle_since = self.listener.loop.time()
            if len(endpoint.idle) < self.cluster.settings.pool_size:
                endpoint.idle.append(upstream)
            else:
                upstream.transport.close()  # type: ignore[union-attr]
        else:
            upstream.transport.close()  # type: ignore[union-attr]
        if self.discard:
            self._retry(endpoint)
            return
        self.state = WAIT
        if not self.keep_alive or not self.req_done:
            self.close()
            return
        self.idle_since = self.listener.loop.time()
        if self.buf:
            self.transport.resume_reading()  # type: ignore[union-attr]
            self._next()

    def upstream_failed(self, upstream: HttpUpstream, reason: str) -> None:
        """The upstream connection broke during this exchange."""
        endpoint = self.endpoint
        assert endpoint is not None
        if self.upstream is upstream:
            self.upstream = None
            endpoint.active -= 1
        upstream.client = None
        if self.closed or self.responded:
            self.abort()
            return
        stale = upstream.reused and not upstream.got_bytes and not self.stale_retried
        if stale and self.req_done and self.body == "none" and self.method in _IDEMPOTENT:
            self.stale_retried = True
            self.state = CONNECTING
            self.listener.loop.create_task(self._connect(endpoint))
            return
        self.cluster.failed(endpoint)
        if self._may_retry():
            self._retry(endpoint)
            return
        self._fail(reason)

    def _may_retry(self) -> bool:
        return (
            self.body == "none"
            and self.method in _IDEMPOTENT
            and self.attempts < self.cluster.settings.retries
            and self.cluster.take_retry()
        )

    def _retry(self, endpoint: Endpoint) -> None:
        self.attempts += 1
        self.discard = False
        self.tried.append(endpoint)
        if len(self.tried) >= len(self.cluster.endpoints):
            self.tried = []  # every endpoint had its turn: any may serve the retry
        self.state = CONNECTING
        self._dispatch()

    def _fail(self, reason: str) -> None:
        self.listener.stats.connect_failures += 1
        self.listener.log.warning(
            "request failed", extra={"listener": self.listener.name, "error": reason}
        )
        self._error(502)

    def _error(self, status: int) -> None:
        """Answer with an error and close: the connection's framing can no longer be trusted."""
        if self.responded or self.closed:
            self.abort()
            return
        self.responded = True
        self.listener.stats.observe(status, 0.0)
        body = f"{status} {_REASONS[status]}\n".encode()
        self.send(
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, _REASONS[status].encode(), len(body), body)
        )
        self.close()

    # after a 101: a byte tunnel both ways, half-closes passed on

    def tunnel(self, upstream: HttpUpstream, rest: bytes) -> None:
        """The upstream switched protocols: from now on bytes pass as they are."""
        self.state = TUNNEL
        self.flush()
        if rest:
            self.send(rest)
        if self.buf:
            data, self.buf = self.buf, b""
            upstream.transport.write(data)  # type: ignore[union-attr]
        self.transport.resume_reading()  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        """Outside a tunnel the client's EOF ends the connection (False closes it)."""
        upstream = self.upstream
        if self.state != TUNNEL or upstream is None or upstream.transport is None:
            return False
        self.eof_in = True
        if self.eof_out:
            self.close()
            upstream.transport.close()
            return False
        if upstream.transport.can_write_eof():
            upstream.transport.write_eof()
        return True

    def upstream_eof(self) -> bool:
        """The upstream half-closed a tunnel; True keeps its connection open for writing."""
        self.eof_out = True
        transport = self.transport
        assert transport is not None
        if self.eof_in or not transport.can_write_eof():
            self.close()
            return False
        transport.write_eof()
        return True

    # lifecycle

    def expired(self, now: float) -> str | None:
        s = self.listener.settings
        if self.ticks != self.seen:
            self.seen = self.ticks
            self.idle_since = now
        if self.state == WAIT:
            if (
                self.head_started
                and s.header_timeout
                and now - self.head_started > s.header_timeout
            ):
                return "header"
            if s.idle_timeout and now - self.idle_since >= s.idle_timeout:
                return "idle"
        elif self.state == TUNNEL:
            if s.idle_timeout and now - self.idle_since >= s.idle_timeout:
                return "idle"
        elif s.request_timeout and now - self.started > s.request_timeout:
            return "request"
        return None

    def tune(self) -> None:
        return

    def time_out(self, reason: str) -> None:
        if reason == "header":
            self._error(408)
        elif reason == "request":
            if self.upstream is not None and self.upstream.transport is not None:
                self.upstream.reusable = False
                self.upstream.client = None
                self.upstream.transport.abort()
            self._error(504)
        else:
            self.close()

    def idle_between_requests(self) -> bool:
        return self.state == WAIT and not self.buf

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        upstream = self.upstream
        if upstream is not None and upstream.transport is not None:
            upstream.reusable = False
            upstream.client = None
            upstream.transport.abort()

    def pause_writing(self) -> None:
        upstream = self.upstream
        if upstream is not None and upstream.transport is not None:
            upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        upstream = self.upstream
        if upstream is not None and upstream.transport is not None:
            upstream.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        upstream = self.upstream
        if upstream is not None:
            self.upstream = None
            if self.endpoint is not None:
                self.endpoint.active -= 1
            upstream.client = None
            upstream.reusable = False
            if upstream.transport is not None:
                upstream.transport.abort()
        self.listener.closed(self)

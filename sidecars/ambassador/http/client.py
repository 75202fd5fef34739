"""http mode's client leg: read each request head, stream its body, relay the response.

One request at a time per client connection (bytes of a pipelined next request wait in the
buffer). Where a request goes is ``routing``'s job, its heads follow ``headers``' rules,
``forwarding`` finds it an upstream connection and retries it, and after a 101 (or a
forward proxy's 2xx to CONNECT) ``tunnel`` relays bytes.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final, cast

from ..upstream.cluster import Cluster
from ..upstream.endpoint import Endpoint
from . import tunnel
from .forwarding import dispatch, may_retry, retry, upstream_failed
from .framing import MAX_HEAD, BadMessage, Chunked, Head, has_bare_lf, read_head
from .headers import HeaderRules, error_response, request_head, response_head
from .pool import HttpUpstream
from .routing import hash_key, route
from .state import CONNECTING, EXCHANGE, TUNNEL, WAIT

if TYPE_CHECKING:
    from ..listener import Listener

__all__ = ["HttpClient"]

_RETRY_STATUS: Final = frozenset((502, 503, 504))


class HttpClient:
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
        "legacy",
        "listener",
        "loop",
        "method",
        "out_head",
        "peer_ip",
        "remaining",
        "req_done",
        "responded",
        "rules",
        "seen",
        "served",
        "stale_retried",
        "started",
        "state",
        "stats",
        "ticks",
        "transport",
        "tried",
        "tuned",
        "upgrade",
        "upstream",
        "wait_since",
    )

    # set by connection_made, which asyncio calls before any other method
    transport: asyncio.Transport

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.loop = listener.loop
        self.stats = listener.stats
        self.upstream: HttpUpstream | None = None
        self.cluster: Cluster = listener.cluster
        self.rules: HeaderRules = listener.header_rules[listener.cluster]
        self.endpoint: Endpoint | None = None
        self.buf = b""
        self.state = WAIT
        self.bytes_in = self.bytes_out = self.ticks = self.seen = 0
        self.idle_since = self.wait_since = self.loop.time()
        self.served = False  # a response went out: the connection is a kept-alive one
        self.head_started = self.started = 0.0
        self.closed = False
        self.tuned = True  # pooled upstream connections set their own options
        self.keep_alive = True
        self.legacy = False  # the client's request was HTTP/1.0
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
        if not self.listener.opened(self):
            self.closed = True
            self.transport.abort()
            return
        self.wait_since = self.loop.time()  # the header timeout runs from the accept
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]).encode() if isinstance(peer, tuple) else b""

    # client -> upstream

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self.ticks += 1
        if self.state == TUNNEL:
            upstream = self.upstream
            assert upstream is not None  # a tunnel has its upstream until the end
            upstream.transport.write(data)
            return
        if self.state == EXCHANGE and not self.req_done:
            self.forward_body(data)
            return
        self.buf = self.buf + data if self.buf else data
        if self.state == WAIT:
            self._next()
        elif len(self.buf) > MAX_HEAD:
            self.transport.pause_reading()

    def _next(self) -> None:
        buf = self.buf
        try:
            # a head arriving in pieces is scanned once it is whole, not once per piece
            partial = self.head_started and buf.find(b"\r\n\r\n") < 0
            if partial and has_bare_lf(buf):
                raise BadMessage("bare CR or LF in the head")
            head = None if partial else read_head(buf, request=True)
        except BadMessage:
            self.error(400)
            return
        if head is None:
            if len(buf) > MAX_HEAD:
                self.error(431)
            elif self.eof_in:  # the client half-closed: no more of this head will come
                if buf:
                    self.error(400)
                else:
                    self.close()
            elif buf and not self.head_started:
                self.head_started = self.loop.time()
            return
        if head.size > MAX_HEAD:  # a large head that came in one read
            self.error(431)
            return
        self.buf = buf[head.size :] if head.size < len(buf) else b""
        listener = self.listener
        self.head_started = 0.0
        self.started = self.loop.time()
        self.method = head.first[0]
        self.keep_alive = not head.close
        self.legacy = head.version == b"HTTP/1.0"
        body = self.body = head.body
        self.req_done = body == "none"
        if not self.req_done:
            self.remaining = head.length
            self.chunked = Chunked() if body == "chunked" else None
        self.responded = self.discard = self.stale_retried = False
        self.upgrade = b""
        if head.upgrade and b"upgrade" in head.tokens and self.req_done:
            self.upgrade = head.get(b"upgrade") or b""
        self.attempts = 0
        if self.tried:
            self.tried = []
        cluster = self.cluster  # the listener's own group unless it has routes
        if listener.routes:
            routed = route(listener, head)
            if routed is None:
                self.error(404)
                return
            cluster = self.cluster = routed
            self.rules = listener.header_rules[routed]
        self.out_head = request_head(head, self.rules, self.peer_ip, self.upgrade)
        self.key = hash_key(head, cluster, self.peer_ip) if cluster.hashed else None
        cluster.requests += 1
        self.state = CONNECTING
        dispatch(self)

    def forward_body(self, data: bytes) -> None:
        upstream = self.upstream
        assert upstream is not None
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
                self.error(400)
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
        endpoint = self.endpoint
        assert endpoint is not None
        if status >= 500:
            cluster.failed(endpoint)
            if status in _RETRY_STATUS and may_retry(self):
                self.discard = True
                return
        elif endpoint.failures or endpoint.streak:
            cluster.succeeded(endpoint)
        listener = self.listener
        dechunk = self.legacy and head.body == "chunked"  # the close ends the body instead
        if listener.draining or head.body == "eof" or not self.req_done or dechunk:
            self.keep_alive = False
        self.responded = True
        self.stats.observe(status, self.loop.time() - self.started)
        self.held = response_head(head, self.rules, status, self.keep_alive, dechunk, self.legacy)

    def send(self, data: bytes) -> None:
        if self.discard:
            return
        if self.held:
            data = self.held + data
            self.held = b""
        self.bytes_out += len(data)
        self.transport.write(data)

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
        if (
            upstream.reusable
            and self.req_done
            and not endpoint.removed
            and len(endpoint.idle) < self.cluster.pool_size
        ):
            upstream.idle_since = self.started  # early: the safe side of the server's timer
            endpoint.idle.append(upstream)
        else:
            upstream.transport.close()
        if self.discard:
            retry(self, endpoint)
            return
        if self._after_response():
            self._next()

    def _after_response(self) -> bool:
        """Wait for the next request, or close where the exchange ended the connection;
        True when a next request is already buffered."""
        self.state = WAIT
        self.served = True
        self.wait_since = self.loop.time()
        if not self.keep_alive or not self.req_done:
            self.close()
            return False
        if self.buf:
            self.transport.resume_reading()
            return True
        if self.eof_in:
            self.close()
        return False

    def fail(self, reason: str) -> None:
        """No upstream answered: a 502, and the client's connection goes on where the
        request was read whole (its pipelined requests are not lost)."""
        self.stats.connect_failures += 1
        self.listener.log.warning(
            "request failed", extra={"listener": self.listener.name, "error": reason}
        )
        if self.responded or self.closed or not self.req_done or not self.keep_alive:
            self.error(502)
            return
        self.responded = True
        self.stats.observe(502, self.loop.time() - self.started)
        self.send(error_response(502, close=False, legacy=self.legacy))
        if self._after_response():
            self.loop.call_soon(self._next_if_waiting)

    def _next_if_waiting(self) -> None:
        if self.state == WAIT and self.buf and not self.closed:
            self._next()

    def error(self, status: int) -> None:
        """Answer with an error and close: the connection's framing can no longer be trusted."""
        if self.responded or self.closed:
            self.abort()
            return
        self.responded = True
        self.stats.observe(status, 0.0)
        self.send(error_response(status))
        self.close()

    def upstream_failed(self, upstream: HttpUpstream, reason: str) -> None:
        """The upstream connection broke during this exchange."""
        upstream_failed(self, upstream, reason)

    def tunnel(self, upstream: HttpUpstream, rest: bytes) -> None:
        """The upstream answered 101, or 2xx to CONNECT: relay bytes from now on."""
        tunnel.start(self, upstream, rest)

    def eof_received(self) -> bool:
        """A half-close: in a tunnel it is passed on; otherwise the request already sent is
        answered, then the connection closes (False closes it now)."""
        if self.state == TUNNEL:
            return tunnel.client_eof(self)
        self.eof_in = True
        if self.state == WAIT:
            if not self.buf:
                return False
            self._next()
        elif self.state == EXCHANGE and not self.req_done:
            self.error(400)  # the body can no longer end
        return not self.closed

    def upstream_eof(self) -> bool:
        return tunnel.upstream_eof(self)

    # lifecycle

    def expired(self, now: float) -> str | None:
        s = self.listener.settings
        if self.ticks != self.seen:
            self.seen = self.ticks
            self.idle_since = now
        if self.state == WAIT:
            # from the accept, or the end of the last response, to the next whole head
            if s.header_timeout and now - self.wait_since > s.header_timeout:
                return "header" if self.buf or not self.served else "idle"
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
            self.error(408)
        elif reason == "request":
            if self.upstream is not None:
                self.upstream.reusable = False
                self.upstream.client = None
                self.upstream.transport.abort()
            self.error(504)
        else:
            self.close()

    def idle_between_requests(self) -> bool:
        return self.state == WAIT and not self.buf

    def close(self) -> None:
        self.transport.close()

    def abort(self) -> None:
        self.transport.abort()
        upstream = self.upstream
        if upstream is not None:
            upstream.reusable = False
            upstream.client = None
            upstream.transport.abort()

    def pause_writing(self) -> None:
        upstream = self.upstream
        if upstream is not None:
            upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        upstream = self.upstream
        if upstream is not None:
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
            upstream.transport.abort()
        self.listener.closed(self)

"""http mode's forwarding: an upstream connection for each request, and its retries.

A pooled connection is taken when one is idle, else a new one is made (tried on other
endpoints on failure). A request without a body and with an idempotent method is sent again
after a broken connection or a 502/503/504, within the retry count and budget; one whose
reused connection turned out closed is sent once more on a fresh connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..upstream.cluster import ConnectFailed
from ..upstream.endpoint import Endpoint
from .pool import HttpUpstream, take_idle
from .state import CONNECTING, EXCHANGE

if TYPE_CHECKING:
    from .client import HttpClient

__all__ = ["attach", "dispatch", "may_retry", "retry", "upstream_failed"]

IDEMPOTENT: Final = frozenset((b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"))


def dispatch(client: HttpClient) -> None:
    """Send the client's request on an idle pooled connection, or start a new one."""
    endpoint = client.cluster.pick(client.key, client.tried)
    if endpoint is None:
        client.fail("no upstream endpoint available")
        return
    connection = take_idle(endpoint)
    if connection is not None:
        attach(client, connection, endpoint, reused=True)
    else:
        client.listener.loop.create_task(connect_new(client, endpoint))


async def connect_new(client: HttpClient, first: Endpoint) -> None:
    """A new connection, ``first`` tried first; the request may have ended meanwhile."""
    cluster = client.cluster
    keepalive = cluster.settings.tcp_keepalive
    try:
        _, connection, endpoint = await cluster.connect(
            lambda: HttpUpstream(keepalive), client.key, first=first, tried=client.tried
        )
    except ConnectFailed as exc:
        if not client.closed:
            client.fail(str(exc))
        return
    endpoint.total += 1
    connection.endpoint = endpoint
    if client.closed or client.state != CONNECTING:
        connection.transport.close()
        return
    attach(client, connection, endpoint, reused=False)


def attach(client: HttpClient, connection: HttpUpstream, endpoint: Endpoint, reused: bool) -> None:
    """Send the head (and what body is buffered) on ``connection``; the body streams on."""
    client.state = EXCHANGE
    connection.reused = reused
    client.upstream = connection
    client.endpoint = endpoint
    endpoint.active += 1
    connection.begin(client)
    connection.transport.write(client.out_head)
    if not client.req_done:
        data, client.buf = client.buf, b""
        if data:
            client.forward_body(data)
        if client.eof_in and not client.req_done:
            client.error(400)  # the client half-closed before its body's end
            return
        client.transport.resume_reading()


def upstream_failed(client: HttpClient, upstream: HttpUpstream, reason: str) -> None:
    """The upstream connection broke during this exchange."""
    endpoint = client.endpoint
    assert endpoint is not None
    if client.upstream is upstream:
        client.upstream = None
        endpoint.active -= 1
    upstream.client = None
    if client.responded and client.held and not client.discard:
        client.held = b""  # the response broke before a byte of it went out: a 502 instead
        client.responded = False
    if client.closed or client.responded:
        client.abort()
        return
    stale = upstream.reused and not upstream.got_bytes and not client.stale_retried
    if stale and client.req_done and client.body == "none" and client.method in IDEMPOTENT:
        client.stale_retried = True
        client.state = CONNECTING
        client.listener.loop.create_task(connect_new(client, endpoint))
        return
    client.cluster.failed(endpoint)
    # once the upstream answered anything, it ran the request: never run it again
    if not upstream.got_bytes and may_retry(client):
        retry(client, endpoint)
        return
    client.fail(reason)


def may_retry(client: HttpClient) -> bool:
    """Whether the request may go again: no body, idempotent, count and budget left."""
    return (
        client.body == "none"
        and client.method in IDEMPOTENT
        and client.attempts < client.cluster.settings.retries
        and client.cluster.take_retry()
    )


def retry(client: HttpClient, endpoint: Endpoint) -> None:
    """Send the request again, on another endpoint while one is left untried."""
    client.attempts += 1
    client.discard = False
    client.tried.append(endpoint)
    if len(client.tried) >= len(client.cluster.endpoints):
        client.tried = []  # every endpoint had its turn: any may serve the retry
    client.state = CONNECTING
    dispatch(client)

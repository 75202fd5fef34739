"""http mode: which upstream group serves a request, and its consistent-hash key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..upstream.cluster import Cluster
from .framing import Head

if TYPE_CHECKING:
    from ..listener import Listener

__all__ = ["hash_key", "route"]


def route(listener: Listener, head: Head) -> Cluster | None:
    """The first route whose prefix (and Host, if it names one) matches; else the default
    group, or ``None`` (a 404) when the listener has routes only."""
    routes = listener.routes
    if not routes:
        return listener.cluster
    host = head.host or head.authority
    host = host[: host.find(b"]") + 1] if host.startswith(b"[") else host.split(b":", 1)[0]
    name = host.decode("latin-1")
    path = head.path.decode("latin-1")
    for prefix, route_host, cluster in routes:
        if (not route_host or route_host == name) and path.startswith(prefix):
            return cluster
    return listener.cluster if listener.cluster.targets else None


def hash_key(head: Head, cluster: Cluster, peer_ip: bytes) -> bytes:
    """The ketama key: the path, a header, or the client address when the header is absent."""
    spec = cluster.settings.hash_key
    if spec == "path":
        return head.path.split(b"?", 1)[0]
    if spec.startswith("header:"):
        value = head.get(spec[7:].lower().encode())
        if value is not None:
            return value
    return peer_ip

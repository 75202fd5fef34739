"""Who may call an admin route that changes something (``POST /quitquitquit``, ``POST /reload``).

The admin port listens on every interface so that the kubelet can probe it, which also lets
anyone in the cluster reach it. Probes and ``/metrics`` only read, so they stay open; a
mutating route answers only peers on the loopback interface (the Pod itself), or, once
``<PREFIX>ADMIN_TOKEN`` is set, only requests that carry ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import ipaddress

from .web import Request, Response

__all__ = ["AdminGuard", "is_loopback"]


def is_loopback(remote: str | None) -> bool:
    """Whether a peer address is on the loopback interface (IPv4-mapped IPv6 included)."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.partition("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class AdminGuard:
    """Decides whether a request may reach a mutating route; ``token`` empty means loopback only."""

    def __init__(self, token: str, variable: str) -> None:
        self.token = token.encode()
        self.variable = variable

    def refusal(self, request: Request) -> Response | None:
        """``None`` when the request may go on, else the answer that refuses it."""
        if not self.token:
            if is_loopback(request.remote):
                return None
            return Response(
                f"forbidden: only loopback peers may call this unless {self.variable} is set\n",
                403,
            )
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip().encode(), self.token):
            return None
        return Response(
            "unauthorized: a bearer token is required\n",
            401,
            headers={"WWW-Authenticate": 'Bearer realm="sidecars admin"'},
        )


def _same(given: bytes, expected: bytes) -> bool:
    import hmac  # loaded on the first guarded request only: it pulls in OpenSSL's hashes

    return hmac.compare_digest(given, expected)

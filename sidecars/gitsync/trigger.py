"""Who may start a sync through ``POST /sync``: a bearer token, a GitHub or a GitLab webhook."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["authorize"]


def authorize(headers: Mapping[str, str], body: bytes, secret: str) -> str:
    """``accepted``, ``unauthorized`` (no credential at all) or ``forbidden`` (a wrong one).

    Any one of the three forms is enough; a present but wrong one is refused even if
    another form is missing, so a typo never reads as "not configured".
    """
    key = secret.encode()
    offered = False
    auth = headers.get("Authorization", "")
    if auth:
        offered = True
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), key):
            return "accepted"
    signature = headers.get("X-Hub-Signature-256", "")
    if signature:
        offered = True
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature.strip().encode(), expected.encode()):
            return "accepted"
    token = headers.get("X-Gitlab-Token", "")
    if token:
        offered = True
        if hmac.compare_digest(token.encode(), key):
            return "accepted"
    return "forbidden" if offered else "unauthorized"

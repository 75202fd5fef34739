"""Who may start a sync: bearer token, GitHub HMAC signature, GitLab token."""

from __future__ import annotations

import hashlib
import hmac

from sidecars.gitsync.trigger import authorize

SECRET = "top-secret"
BODY = b'{"ref": "refs/heads/main"}'


def test_no_credential_is_unauthorized() -> None:
    assert authorize({}, BODY, SECRET) == "unauthorized"


def test_bearer_token() -> None:
    assert authorize({"Authorization": f"Bearer {SECRET}"}, BODY, SECRET) == "accepted"
    assert authorize({"Authorization": "Bearer other"}, BODY, SECRET) == "forbidden"
    assert authorize({"Authorization": f"Basic {SECRET}"}, BODY, SECRET) == "forbidden"


def test_github_signature_covers_the_body() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": f"sha256={digest}"}
    assert authorize(headers, BODY, SECRET) == "accepted"
    assert authorize(headers, BODY + b" ", SECRET) == "forbidden"


def test_gitlab_token() -> None:
    assert authorize({"X-Gitlab-Token": SECRET}, BODY, SECRET) == "accepted"
    assert authorize({"X-Gitlab-Token": SECRET + "x"}, BODY, SECRET) == "forbidden"

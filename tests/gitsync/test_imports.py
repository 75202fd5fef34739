"""Start-up imports only what the configuration uses: each module is resident memory in
every Pod (GitPython alone was 3.5 MB; aiohttp 10 MB)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .support import Upstream, base_env, published

NEVER = {"git", "gitdb", "yaml", "cryptography", "watchfiles"}
"""Modules no gitsync configuration needs."""

ON_DEMAND = {
    "aiohttp": "GITSYNC_WEBHOOK_URL or GITSYNC_ASKPASS_URL",
    "hmac": "a trigger",
    "ctypes": "a long-running helper (inotify) or a repair",
}


def imported(env: dict[str, str]) -> set[str]:
    """Top-level modules a one-time run imported, from ``python -X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sidecars", "gitsync"],
        env={**os.environ, "GITSYNC_ONE_TIME": "true", "GITSYNC_ADMIN_ADDR": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_a_plain_sync_loads_no_http_client_nor_gitpython(
    tmp_path: Path, upstream: Upstream
) -> None:
    modules = imported(base_env(tmp_path / "root", upstream.url()))
    assert published(tmp_path / "root") == upstream.head()
    assert not modules & NEVER
    assert not modules & set(ON_DEMAND), ON_DEMAND


def test_the_webhook_loads_its_http_client(tmp_path: Path, upstream: Upstream) -> None:
    env = base_env(tmp_path / "root", upstream.url(), webhook_url="http://127.0.0.1:9/hook")
    env["GITSYNC_HOOK_RETRIES"] = "0"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sidecars", "gitsync"],
        env={**os.environ, "GITSYNC_ONE_TIME": "true", "GITSYNC_ADMIN_ADDR": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1  # nothing listens on port 9: the hook failed
    assert "| aiohttp" in done.stderr

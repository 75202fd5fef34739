"""Exec hook and webhook after each publish, retried with backoff, counted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from sidecars.testing import HelperProcess

from .support import Upstream, base_env, metric, until

HOOK = """\
n=$(cat "$COUNTER" 2>/dev/null || echo 0)
echo $((n + 1)) > "$COUNTER"
echo "$GITSYNC_HASH $(pwd) $(cat README)" >> "$LOG"
[ "$n" -ge 2 ]
"""


async def test_exec_hook_retries_until_it_succeeds(tmp_path: Path, upstream: Upstream) -> None:
    script = tmp_path / "hook.sh"
    script.write_text(
        HOOK.replace("$COUNTER", str(tmp_path / "count")).replace("$LOG", str(tmp_path / "log"))
    )
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), exec_hook=json.dumps(["/bin/sh", str(script)]))
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()

        async def succeeded() -> bool:
            return (
                await metric(proc, "gitsync_hook_runs_total", hook="exec", outcome="success") == 1
            )

        await until(succeeded, timeout=30, what="the hook to succeed on its third run")
        assert await metric(proc, "gitsync_hook_runs_total", hook="exec", outcome="error") == 2
    head = upstream.head()
    tree = (root / ".gitsync" / "trees" / head).resolve()
    lines = (tmp_path / "log").read_text().splitlines()
    assert lines == [f"{head} {tree} v1"] * 3


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """An HTTP endpoint that fails its first call and records every call."""
    calls: list[tuple[str, str, bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        calls.append((request.method, request.headers.get("X-Token", ""), await request.read()))
        return web.Response(status=500 if len(calls) == 1 else 204)

    app = web.Application()
    app.router.add_route("*", "/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/hook", calls
    await runner.cleanup()


async def test_webhook_retries_with_the_hash_in_the_body(
    tmp_path: Path, upstream: Upstream, receiver: tuple[str, list[tuple[str, str, bytes]]]
) -> None:
    url, calls = receiver
    env = base_env(
        tmp_path / "root",
        upstream.url(),
        webhook_url=url,
        webhook_method="PUT",
        webhook_headers="X-Token: abc",
        webhook_body='{"commit": "{hash}"}',
    )
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()

        async def succeeded() -> bool:
            return (
                await metric(proc, "gitsync_hook_runs_total", hook="webhook", outcome="success")
                == 1
            )

        await until(succeeded, timeout=30, what="the webhook to succeed")
        assert await metric(proc, "gitsync_hook_runs_total", hook="webhook", outcome="error") == 1
    body = json.dumps({"commit": upstream.head()}).encode()
    assert calls == [("PUT", "abc", body)] * 2

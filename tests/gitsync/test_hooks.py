"""Exec hook and webhook after each publish, retried with backoff, counted."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from sidecars.testing import HelperProcess

from .support import Upstream, base_env, metric, one_shot, published, until

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


def test_one_shot_exits_1_when_a_hook_fails_every_retry(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    done = one_shot(base_env(root, upstream.url(), exec_hook="exit 3", hook_retries="1"))
    assert done.returncode == 1, done.stderr
    assert "the exec hook failed on every retry" in done.stderr
    assert published(root) == upstream.head()
    assert (root / ".gitsync" / "hooks" / upstream.head()).exists()

    done = one_shot(base_env(root, upstream.url(), exec_hook="true"))
    assert done.returncode == 0, done.stderr
    assert not (root / ".gitsync" / "hooks" / upstream.head()).exists()


SLOW_FIRST_RUN = """\
echo "$GITSYNC_HASH" >> "$LOG"
[ "$(wc -l < "$LOG")" -gt 1 ] || sleep 30
"""


async def test_a_hook_cut_short_by_a_crash_runs_at_the_next_start(
    tmp_path: Path, upstream: Upstream
) -> None:
    log = tmp_path / "log"
    script = tmp_path / "hook.sh"
    script.write_text(SLOW_FIRST_RUN.replace("$LOG", str(log)))
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), exec_hook=json.dumps(["/bin/sh", str(script)]))
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        await until(log.exists, what="the hook to start")
        proc.send(signal.SIGKILL)
        await proc.wait()
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()

        async def succeeded() -> bool:
            return (
                await metric(proc, "gitsync_hook_runs_total", hook="exec", outcome="success") == 1
            )

        await until(succeeded, what="the interrupted hook to run again")
    assert log.read_text().split() == [upstream.head()] * 2
    assert not any((root / ".gitsync" / "hooks").iterdir())


async def test_a_webhook_is_retried_until_it_succeeds(tmp_path: Path, upstream: Upstream) -> None:
    """As git-sync: no retry limit by default; GITSYNC_WEBHOOK_BACKOFF is the first wait,
    doubled up to GITSYNC_MAX_BACKOFF."""
    calls: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        calls.append(1.0)
        return web.Response(status=503 if len(calls) <= 8 else 200)

    app = web.Application()
    app.router.add_route("POST", "/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    env = base_env(tmp_path / "root", upstream.url(), webhook_url=url, webhook_backoff="50ms")
    env["GITSYNC_MAX_BACKOFF"] = "200ms"
    try:
        async with HelperProcess("gitsync", env) as proc:
            await proc.wait_ready()

            async def succeeded() -> bool:
                return (
                    await metric(proc, "gitsync_hook_runs_total", hook="webhook", outcome="success")
                    == 1
                )

            await until(succeeded, timeout=30, what="the webhook to succeed on its ninth call")
            errors = await metric(proc, "gitsync_hook_runs_total", hook="webhook", outcome="error")
            assert errors == 8
    finally:
        await runner.cleanup()

"""Exec hook and webhook: run per publish, retried until they succeed, and at start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from sidecars.testing import HelperProcess

from ..support import GitDaemon, Upstream, base_env, free_port, published, until
from .common import run_once

RECORD = 'echo "$GITSYNC_HASH $(pwd) $(cat README)" >> {log}'


async def test_exec_hook_runs_in_each_new_tree(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    log = tmp_path / "log"
    root = tmp_path / "root"
    env = base_env(root, daemon.url(upstream), exec_hook=RECORD.format(log=log))
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        first = upstream.head()
        await until(lambda: log.exists(), what="the first hook run")
        second = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: len(log.read_text().splitlines()) == 2, what="the second hook run")
    trees = root / ".gitsync" / "trees"
    assert log.read_text().splitlines() == [
        f"{first} {(trees / first).resolve()} v1",
        f"{second} {(trees / second).resolve()} v2",
    ]


async def test_exec_hook_failing_is_retried_until_it_succeeds(
    tmp_path: Path, upstream: Upstream
) -> None:
    flag = tmp_path / "allowed"
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), exec_hook=f"test -e {flag}", exec_hook_backoff="50ms")
    env["GITSYNC_MAX_BACKOFF"] = "200ms"
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()

        async def failures() -> float:
            return await proc.sample("gitsync_hook_runs_total", hook="exec", outcome="error") or 0

        await until(lambda: _at_least(failures, 3), what="three failed runs")
        flag.touch()
        await until(
            lambda: proc.sample("gitsync_hook_runs_total", hook="exec", outcome="success"),
            what="the hook to succeed",
        )
        assert not (root / ".gitsync" / "hooks" / upstream.head()).exists()


async def _at_least(read: object, number: float) -> bool:
    assert callable(read)
    value: float = await read()
    return value >= number


@pytest.mark.parametrize(("command", "status"), [("true", 0), ("exit 7", 1)])
async def test_one_time_waits_for_the_exec_hook(
    tmp_path: Path, upstream: Upstream, command: str, status: int
) -> None:
    done = await run_once(base_env(tmp_path / "root", upstream.url(), exec_hook=command))
    assert done.returncode == status, done.stderr
    assert published(tmp_path / "root") == upstream.head()


async def test_hooks_run_at_start_for_a_tree_already_published(
    tmp_path: Path, upstream: Upstream
) -> None:
    """As git-sync: the first sync counts as a publish for the hooks, even when the tree
    was there already (a restart, or hooks configured later)."""
    root = tmp_path / "root"
    done = await run_once(base_env(root, upstream.url()))
    assert done.returncode == 0, done.stderr
    log = tmp_path / "log"
    done = await run_once(base_env(root, upstream.url(), exec_hook=RECORD.format(log=log)))
    assert done.returncode == 0, done.stderr
    tree = (root / ".gitsync" / "trees" / upstream.head()).resolve()
    assert log.read_text().splitlines() == [f"{upstream.head()} {tree} v1"]


class Receiver:
    """A webhook target that can be down (its port closed) or up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.calls: list[bytes] = []
        self.runner: web.AppRunner | None = None
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def up(self) -> None:
        async def handle(request: web.Request) -> web.Response:
            self.calls.append(await request.read())
            return web.Response(status=self.status)

        app = web.Application()
        app.router.add_post("/hook", handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def down(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    yield target
    await target.down()


async def test_webhook_target_down_then_up(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream, receiver: Receiver
) -> None:
    root = tmp_path / "root"
    env = base_env(
        root,
        daemon.url(upstream),
        webhook_url=receiver.url,
        webhook_body="{hash}",
        webhook_backoff="50ms",
        max_backoff="200ms",
    )
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()

        async def failures() -> float:
            sample = await proc.sample("gitsync_hook_runs_total", hook="webhook", outcome="error")
            return sample or 0

        await until(lambda: _at_least(failures, 2), what="calls to a closed port")
        await receiver.up()
        await until(lambda: receiver.calls, what="the webhook to arrive")
        assert receiver.calls == [upstream.head().encode()]
        head = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: len(receiver.calls) == 2, what="the webhook of the next commit")
        assert receiver.calls[1] == head.encode()


async def test_one_time_webhook_success_and_failure(
    tmp_path: Path, upstream: Upstream, receiver: Receiver
) -> None:
    env = base_env(tmp_path / "root", upstream.url(), webhook_url=receiver.url)
    done = await run_once(env)
    assert done.returncode == 1
    assert "webhook" in done.stderr
    await receiver.up()
    env["GITSYNC_ROOT"] = str(tmp_path / "other")
    done = await run_once(env)
    assert done.returncode == 0, done.stderr
    assert len(receiver.calls) == 1


@pytest.mark.parametrize(
    ("answer", "expected", "status"),
    [(200, "201", 1), (201, "201", 0), (500, "0", 0), (500, "-1", 0), (204, "", 0), (302, "", 1)],
)
async def test_webhook_success_status(
    tmp_path: Path,
    upstream: Upstream,
    receiver: Receiver,
    answer: int,
    expected: str,
    status: int,
) -> None:
    """As git-sync's GITSYNC_WEBHOOK_SUCCESS_STATUS: that status only; 0 or -1 any answer
    (fire and forget). Unset, any 2xx."""
    receiver.status = answer
    await receiver.up()
    env = base_env(tmp_path / "root", upstream.url(), webhook_url=receiver.url)
    if expected:
        env["GITSYNC_WEBHOOK_SUCCESS_STATUS"] = expected
    done = await run_once(env)
    assert done.returncode == status, done.stderr
    assert len(receiver.calls) == 1

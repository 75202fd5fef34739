"""The helper as operators meet it: trigger endpoint, one-shot mode, failures, health."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sidecars.testing import HelperProcess

from .support import (
    GitDaemon,
    Upstream,
    base_env,
    free_port,
    metric,
    one_shot,
    published,
    until,
)

SECRET = "s3cret"


async def test_trigger_needs_a_valid_secret_and_syncs_at_once(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    env = base_env(root, daemon.url(upstream), period="1h", trigger_secret=SECRET)
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        first = upstream.head()
        second = upstream.commit({"README": "v2\n"})
        upstream.push()
        body = json.dumps({"ref": "refs/heads/main"}).encode()
        assert (await proc.request("POST", "/sync"))[0] == 401
        wrong_bearer = {"Authorization": "Bearer nope"}
        assert (await proc.request("POST", "/sync", headers=wrong_bearer))[0] == 403
        wrong_hmac = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
        assert (await proc.request("POST", "/sync", data=body, headers=wrong_hmac))[0] == 403
        assert await metric(proc, "gitsync_trigger_requests_total", outcome="unauthorized") == 1
        assert await metric(proc, "gitsync_trigger_requests_total", outcome="forbidden") == 2
        assert await metric(proc, "gitsync_syncs_total", outcome="noop") == 0
        assert published(root) == first

        bearer = {"Authorization": f"Bearer {SECRET}"}
        assert (await proc.request("POST", "/sync", headers=bearer))[0] == 202
        await until(lambda: published(root) == second, what="triggered sync")

        third = upstream.commit({"README": "v3\n"})
        upstream.push()
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        github = {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "push"}
        assert (await proc.request("POST", "/sync", data=body, headers=github))[0] == 202
        await until(lambda: published(root) == third, what="GitHub-triggered sync")

        fourth = upstream.commit({"README": "v4\n"})
        upstream.push()
        gitlab = {"X-Gitlab-Token": SECRET}
        for _ in range(5):
            assert (await proc.request("POST", "/sync", headers=gitlab))[0] == 202
        await until(lambda: published(root) == fourth, what="GitLab-triggered sync")
        assert await metric(proc, "gitsync_trigger_requests_total", outcome="accepted") == 7
        syncs = await metric(proc, "gitsync_syncs_total", outcome="noop") + await metric(
            proc, "gitsync_syncs_total", outcome="success"
        )
        assert syncs < 1 + 7


async def test_trigger_is_off_without_a_secret(tmp_path: Path, upstream: Upstream) -> None:
    async with HelperProcess("gitsync", base_env(tmp_path / "r", upstream.url())) as proc:
        await proc.wait_ready()
        assert (await proc.request("POST", "/sync"))[0] == 404


def test_one_shot_success_and_failure(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    done = one_shot(base_env(root, upstream.url()))
    assert done.returncode == 0, done.stderr
    assert published(root) == upstream.head()
    assert (root / "current" / "README").read_text() == "v1\n"

    missing = f"git://127.0.0.1:{free_port()}/none.git"
    done = one_shot(base_env(tmp_path / "other", missing, init_timeout="2s"))
    assert done.returncode == 1
    assert "the first sync did not succeed within 2s" in done.stderr
    assert "Traceback" not in done.stderr


def test_one_shot_with_a_missing_ref_fails_at_once(tmp_path: Path, upstream: Upstream) -> None:
    env = base_env(tmp_path / "other", upstream.url(), ref="no-such-branch", init_timeout="10m")
    started = time.monotonic()
    done = one_shot(env)
    assert done.returncode == 1
    assert time.monotonic() - started < 20
    assert "one-time sync failed: the remote has no ref 'no-such-branch'" in done.stderr


def test_bad_settings_exit_2_naming_the_variable(tmp_path: Path) -> None:
    done = one_shot(
        {"GITSYNC_REPO": "not a url", "GITSYNC_ROOT": str(tmp_path), "GITSYNC_LINK": "."}
    )
    assert done.returncode == 2
    assert "GITSYNC_REPO" in done.stderr
    assert "GITSYNC_LINK" in done.stderr
    assert not any(tmp_path.iterdir())


async def test_unreachable_remote_backs_off_stays_up_and_recovers(
    tmp_path: Path, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), max_backoff="300ms", staleness="1s", init_timeout="0")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert (await proc.get("/healthz"))[0] == 200
        moved = upstream.bare.with_name("moved.git")
        upstream.bare.rename(moved)

        async def errors() -> bool:
            return await metric(proc, "gitsync_syncs_total", outcome="error") >= 3

        await until(errors, what="failed syncs")
        assert proc.process is not None
        assert proc.process.returncode is None
        assert (await proc.get("/readyz"))[0] == 200
        assert (root / "current" / "README").read_text() == "v1\n"
        assert await metric(proc, "gitsync_consecutive_failures") >= 3

        async def unhealthy() -> bool:
            return (await proc.get("/healthz"))[0] == 503

        await until(unhealthy, what="/healthz to report staleness")
        delays = [e["retry_in"] for e in proc.logs if e.get("msg") == "sync failed"]
        assert all(0 < d <= 0.3 for d in delays)
        moved.rename(upstream.bare)

        async def healthy() -> bool:
            return (await proc.get("/healthz"))[0] == 200

        await until(healthy, what="/healthz to recover")
        assert await metric(proc, "gitsync_consecutive_failures") == 0


async def test_not_ready_until_the_first_publish(tmp_path: Path, upstream: Upstream) -> None:
    hidden = upstream.bare.with_name("hidden.git")
    upstream.bare.rename(hidden)
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), max_backoff="200ms", init_timeout="0")
    async with HelperProcess("gitsync", env) as proc:

        async def failed_once() -> bool:
            return await metric(proc, "gitsync_syncs_total", outcome="error") >= 1

        await until(failed_once, what="a failed sync")
        assert (await proc.get("/readyz"))[0] == 503
        hidden.rename(upstream.bare)
        await proc.wait_ready()
        assert published(root) == upstream.head()


@pytest.mark.parametrize(("limit", "failures"), [("2", 2), ("0", 1)])
def test_max_failures_ends_the_helper(tmp_path: Path, limit: str, failures: int) -> None:
    """As git-sync: exit 1 once GITSYNC_MAX_FAILURES syncs failed in a row; 0 means the
    first failure (git-sync's default), negative never (ours)."""
    missing = f"git://127.0.0.1:{free_port()}/none.git"
    env = base_env(tmp_path / "root", missing, max_failures=limit, init_timeout="0")
    env.update({"GITSYNC_ADMIN_ADDR": "", "GITSYNC_MAX_BACKOFF": "100ms"})
    done = subprocess.run(
        [sys.executable, "-m", "sidecars", "gitsync"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert f"{failures} syncs failed in a row (GITSYNC_MAX_FAILURES={limit})" in done.stderr


async def test_sigterm_during_a_stalled_fetch_exits_cleanly(tmp_path: Path) -> None:
    held: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    env = base_env(tmp_path / "root", f"git://127.0.0.1:{port}/stalled.git", init_timeout="0")
    env["GITSYNC_DRAIN_TIMEOUT"] = "1s"
    try:
        async with HelperProcess("gitsync", env) as proc:
            await until(lambda: held, what="the helper to connect")
            assert await proc.stop(timeout=20) == 0
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def test_a_git_sync_manifest_with_the_old_names_works(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    env = {"GIT_SYNC_REPO": upstream.url(), "GIT_SYNC_ROOT": str(root), "GIT_SYNC_LINK": "html"}
    done = one_shot(env)
    assert done.returncode == 0, done.stderr
    assert (root / "html" / "README").read_text() == "v1\n"
    assert "GIT_SYNC_REPO is deprecated, use GITSYNC_REPO instead" in done.stderr


async def test_touch_file_and_error_file(tmp_path: Path, upstream: Upstream) -> None:
    """As git-sync: the touch file is touched after each publish, the error file holds the
    last failure and goes with the next success; both relative to the root or absolute."""
    root = tmp_path / "root"
    error_file = tmp_path / "status" / "error"
    env = base_env(
        root,
        upstream.url(),
        touch_file="signals/touched",
        error_file=str(error_file),
        max_backoff="200ms",
        init_timeout="0",
    )
    touched = root / "signals" / "touched"
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert touched.is_file()
        first = touched.stat().st_mtime_ns
        assert not error_file.exists()
        moved = upstream.bare.with_name("moved.git")
        upstream.bare.rename(moved)
        await until(error_file.exists, what="the error file")
        assert "git ls-remote failed" in error_file.read_text()
        moved.rename(upstream.bare)
        await until(lambda: not error_file.exists(), what="the error file to go")
        head = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: published(root) == head, what="the new commit")
        await until(lambda: touched.stat().st_mtime_ns > first, what="the touch")


async def test_readyz_reports_a_wedge_that_persists(tmp_path: Path, upstream: Upstream) -> None:
    """Failures shorter than GITSYNC_NOT_READY_AFTER leave /readyz alone; longer, it is 503
    with the reason, and 200 again after the next successful sync."""
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), max_backoff="200ms", not_ready_after="4s")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        moved = upstream.bare.with_name("moved.git")
        upstream.bare.rename(moved)
        await proc.wait_log(lambda e: e.get("msg") == "sync failed")
        assert (await proc.get("/readyz"))[0] == 200

        async def not_ready() -> bool:
            return (await proc.get("/readyz"))[0] == 503

        await until(not_ready, what="/readyz to report the wedge")
        status, body = await proc.get("/readyz")
        assert status == 503
        assert "GITSYNC_NOT_READY_AFTER" in body
        assert "ls-remote" in body
        assert (root / "current" / "README").read_text() == "v1\n"
        moved.rename(upstream.bare)
        await proc.wait_ready()

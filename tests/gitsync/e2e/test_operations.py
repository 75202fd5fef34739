"""What an operator relies on: status files, extra git configuration, sparse checkout,
a remote that goes away and comes back, timeouts, failure limits."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sidecars.testing import HelperProcess

from ..support import GitDaemon, Upstream, base_env, git, make_upstream, published, until
from .common import matches, read, run_once


async def test_error_file_and_touch_file_follow_the_syncs(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    """The error file holds the last failure until a sync succeeds; the touch file is
    touched by each publish, not by a poll that found nothing."""
    root = tmp_path / "root"
    error, touch = root / "error.txt", tmp_path / "touched"
    env = base_env(
        root,
        daemon.url(upstream),
        error_file="error.txt",
        touch_file=str(touch),
        max_backoff="200ms",
    )
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert touch.exists()
        assert not error.exists()
        os.utime(touch, ns=(0, 0))
        stamp = 0
        aside = upstream.bare.with_name("aside.git")
        upstream.bare.rename(aside)  # the repository goes away...
        await until(error.exists, what="the error file")
        assert error.read_text().startswith("git ls-remote failed: fatal:")
        assert touch.stat().st_mtime_ns == stamp
        aside.rename(upstream.bare)  # ...and comes back, with a new commit
        head = upstream.commit({"README": "back\n"})
        upstream.push()
        await until(lambda: published(root) == head, what="the commit after the return")
        await until(lambda: not error.exists(), what="the error file removed")
        assert touch.stat().st_mtime_ns > stamp
        assert matches(root, head)


async def test_extra_git_config_reaches_git(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    """A URL rewrite in GITSYNC_GIT_CONFIG: the configured URL does not exist, the one
    git is told to use instead does."""
    real = daemon.url(upstream)
    fake = "git://example.invalid/repo.git"
    config = f'"url.{real}.insteadOf":"{fake}",http.postBuffer:1048576'
    done = await run_once(base_env(tmp_path / "root", fake, git_config=config))
    assert done.returncode == 0, done.stderr
    assert matches(tmp_path / "root", upstream.head())


async def test_sparse_checkout_across_updates(tmp_path: Path, served: Path) -> None:
    upstream = make_upstream(served, "sparse", {"docs/a": "a\n", "src/b": "b\n", "c": "c\n"})
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), sparse_checkout="/docs/")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert sorted(p.name for p in (root / "current").iterdir()) == [".git", "docs"]
        head = upstream.commit({"docs/d": "d\n", "src/e": "e\n", "docs/a": "a2\n"})
        upstream.push()
        await until(lambda: published(root) == head, what="the next commit")
        assert sorted(p.name for p in (root / "current" / "docs").iterdir()) == ["a", "d"]
        assert read(root, "docs/a") == "a2\n"
        assert not (root / "current" / "src").exists()


SLOW_FETCH = """#!/bin/sh
for arg in "$@"; do
    if [ "$arg" = fetch ]; then sleep 5; break; fi
done
exec {git} "$@"
"""


async def test_a_slow_git_is_stopped_by_the_sync_timeout(
    tmp_path: Path, upstream: Upstream
) -> None:
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(SLOW_FETCH.format(git=shutil.which("git")))
    wrapper.chmod(0o755)
    env = base_env(tmp_path / "root", upstream.url(), sync_timeout="1s", init_timeout="1s")
    env["PATH"] = f"{wrapper.parent}:{os.environ['PATH']}"
    done = await run_once(env)
    assert done.returncode == 1
    assert "sync timeout" in done.stderr
    assert not (tmp_path / "root" / "current").is_symlink()
    env["GITSYNC_SYNC_TIMEOUT"] = "30s"
    done = await run_once(env)
    assert done.returncode == 0, done.stderr
    assert matches(tmp_path / "root", upstream.head())


async def test_max_failures_ends_a_helper_whose_remote_is_gone(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    env = base_env(root, daemon.url(upstream), max_failures="3", max_backoff="100ms")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        shutil.rmtree(upstream.bare)
        assert await proc.wait(30) == 1
        assert "3 syncs failed in a row" in proc.stderr()
    assert matches(root, upstream.head())  # what was published stays


async def test_a_partial_clone_holds_only_the_blobs_a_sparse_tree_needs(
    tmp_path: Path, served: Path, daemon: GitDaemon
) -> None:
    """git-sync's --filter with a sparse checkout: the checked-out files follow the commits
    across an update, the paths outside stay out, and their blobs were never fetched."""
    big = "x" * 100_000
    upstream = make_upstream(served, "partial", {"docs/a": "a\n", "src/big": big, "c": "c\n"})
    git("--git-dir", str(upstream.bare), "config", "uploadpack.allowFilter", "true")
    root = tmp_path / "root"
    env = base_env(root, daemon.url(upstream), sparse_checkout="/docs/", filter="blob:none")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert read(root, "docs/a") == "a\n"
        head = upstream.commit({"docs/a": "a2\n", "docs/d": "d\n", "src/big": big + "y"})
        upstream.push()
        await until(lambda: published(root) == head, what="the next commit")
        assert read(root, "docs/a") == "a2\n"
        assert read(root, "docs/d") == "d\n"
        assert not (root / "current" / "src").exists()
    listing = git(
        "--git-dir",
        str(root / ".gitsync" / "repo.git"),
        "rev-list",
        "--objects",
        "--missing=print",
        head,
    )
    missing = {line[1:] for line in listing.split() if line.startswith("?")}
    assert git("rev-parse", f"{head}:src/big", cwd=upstream.work) in missing
    assert git("rev-parse", f"{head}:docs/a", cwd=upstream.work) not in missing

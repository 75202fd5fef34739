"""git-sync v4 flags under their own names: git config, gc, group write, sync on signal."""

from __future__ import annotations

import json
import signal
import stat
from pathlib import Path

import pytest

from sidecars.gitsync.settings import GitConfig
from sidecars.testing import HelperProcess

from .support import Upstream, base_env, git, metric, one_shot, published, until


def test_git_config_parses_git_syncs_key_val_list() -> None:
    parsed = GitConfig.parse('a.b:1, "url.http://x/.insteadOf":"ssh://y/",c.d:"e,f"')
    assert parsed.pairs == (("a.b", "1"), ("url.http://x/.insteadOf", "ssh://y/"), ("c.d", "e,f"))
    with pytest.raises(ValueError):  # noqa: PT011
        GitConfig.parse("no-colon")


def test_git_config_reaches_every_git(tmp_path: Path, upstream: Upstream) -> None:
    """A URL rewrite through GITSYNC_GIT_CONFIG: the repository's URL is never contacted."""
    url = "http://example.invalid/repo.git"
    config = json.dumps(f"url.{upstream.url()}.insteadOf") + ":" + json.dumps(url)
    done = one_shot(base_env(tmp_path / "root", url, git_config=config))
    assert done.returncode == 0, done.stderr
    assert published(tmp_path / "root") == upstream.head()


def _loose_objects(repo: Path) -> int:
    counts = dict(line.split(": ") for line in git("count-objects", "-v", cwd=repo).splitlines())
    return int(counts["count"])


@pytest.mark.parametrize("mode", ["always", "aggressive"])
async def test_git_gc_always_packs_after_a_publish(
    tmp_path: Path, upstream: Upstream, mode: str
) -> None:
    root = tmp_path / "root"
    repo = root / ".gitsync" / "repo.git"
    async with HelperProcess("gitsync", base_env(root, upstream.url(), git_gc=mode)) as proc:
        await proc.wait_ready()
        await until(lambda: _loose_objects(repo) == 0, what="git gc to pack the objects")
        assert await metric(proc, "gitsync_git_commands_total", command="gc") >= 1


async def test_git_gc_off_runs_no_gc(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, upstream.url(), git_gc="off")) as proc:
        await proc.wait_ready()
        head = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: published(root) == head, what="the second commit")
        assert await metric(proc, "gitsync_git_commands_total", command="gc") == 0


def test_group_write_makes_files_group_writable(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    upstream.commit({"dir/file": "x\n"})
    upstream.push()
    done = one_shot(base_env(root, upstream.url(), group_write="true"))
    assert done.returncode == 0, done.stderr
    for path in (root / "current" / "README", root / "current" / "dir"):
        assert path.stat().st_mode & stat.S_IWGRP, path
    shared = git("config", "core.sharedRepository", cwd=root / ".gitsync" / "repo.git")
    assert shared in ("group", "1")


@pytest.mark.parametrize("name", ["SIGHUP", "10"])
async def test_sync_on_signal(tmp_path: Path, upstream: Upstream, name: str) -> None:
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), sync_on_signal=name)
    env["GITSYNC_PERIOD"] = "1h"
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        head = upstream.commit({"README": "v2\n"})
        upstream.push()
        proc.send(signal.Signals(int(name)) if name.isdigit() else signal.Signals[name])
        await until(lambda: published(root) == head, what="a sync on the signal")

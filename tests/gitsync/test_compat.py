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


def test_cookie_file_points_git_at_git_syncs_path() -> None:
    """GITSYNC_COOKIE_FILE=true: git's http.cookieFile is git-sync's fixed path."""
    from sidecars.gitsync.auth import COOKIE_FILE, git_environment
    from sidecars.gitsync.settings import GitSyncSettings

    settings = GitSyncSettings.from_env(
        {"GITSYNC_REPO": "https://example.invalid/r.git", "GITSYNC_COOKIE_FILE": "true"}
    )
    env = git_environment(settings, Path("/state"))
    pairs = {
        env[f"GIT_CONFIG_KEY_{n}"]: env[f"GIT_CONFIG_VALUE_{n}"]
        for n in range(int(env["GIT_CONFIG_COUNT"]))
    }
    assert pairs["http.cookieFile"] == COOKIE_FILE == "/etc/git-secret/cookie_file"


def test_a_bad_webhook_success_status_is_a_configuration_error() -> None:
    from sidecars import ConfigError
    from sidecars.gitsync.settings import GitSyncSettings

    environ = {"GITSYNC_REPO": "file:///r.git", "GITSYNC_WEBHOOK_SUCCESS_STATUS": "42"}
    with pytest.raises(ConfigError, match="GITSYNC_WEBHOOK_SUCCESS_STATUS"):
        GitSyncSettings.from_env(environ)


def test_sparse_checkout_file(tmp_path: Path, served: Path) -> None:
    from .support import make_upstream

    upstream = make_upstream(served, "sparse", {"docs/a": "a\n", "src/b": "b\n", "c": "c\n"})
    patterns = tmp_path / "patterns"
    patterns.write_text("/docs/\n\n/c\n")
    root = tmp_path / "root"
    done = one_shot(base_env(root, upstream.url(), sparse_checkout_file=str(patterns)))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (root / "current").iterdir()) == [".git", "c", "docs"]
    done = one_shot(base_env(tmp_path / "other", upstream.url(), sparse_checkout_file="/nope"))
    assert done.returncode == 2
    assert "GITSYNC_SPARSE_CHECKOUT_FILE=/nope: cannot read it" in done.stderr
    assert "Traceback" not in done.stderr

"""How much history is fetched: shallow by default, kept across updates, changed on restart."""

from __future__ import annotations

from pathlib import Path

from sidecars.testing import HelperProcess

from ..support import GitDaemon, Upstream, base_env, published, until
from .common import depth, matches, run_once


async def test_depth_is_kept_across_updates(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    for number in range(3):
        upstream.commit({"file": f"{number}\n"})
    upstream.push()
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream), depth="2")) as proc:
        await proc.wait_ready()
        assert depth(root) == 2
        for number in range(3):
            head = upstream.commit({"file": f"again {number}\n"})
            upstream.push()
            await until(lambda: published(root) == head, what="the next commit")  # noqa: B023
            assert depth(root) == 2


async def test_depth_changed_between_runs(tmp_path: Path, upstream: Upstream) -> None:
    """Shallow by default (1), then 2, back to 1, then 0: the whole history."""
    for number in range(3):
        upstream.commit({"file": f"{number}\n"})
    upstream.push()
    root = tmp_path / "root"
    for setting, expected in ((None, 1), ("2", 2), ("1", 1), ("0", 4)):
        env = base_env(root, upstream.url())
        if setting is not None:
            env["GITSYNC_DEPTH"] = setting
        done = await run_once(env)
        assert done.returncode == 0, done.stderr
        assert depth(root) == expected, setting
        assert matches(root, upstream.head())

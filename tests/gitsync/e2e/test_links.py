"""Where the tree is published, and how a missing tree or link is made good again."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from sidecars.testing import HelperProcess

from ..support import GitDaemon, Upstream, base_env, git, metric, published, until
from .common import matches, read, run_once


async def test_an_absolute_link_outside_the_root(tmp_path: Path, upstream: Upstream) -> None:
    root, link = tmp_path / "root", tmp_path / "elsewhere" / "link"
    done = await run_once(base_env(root, upstream.url(), link=str(link)))
    assert done.returncode == 0, done.stderr
    assert (link / "README").read_text() == "v1\n"
    target = os.readlink(link)
    assert not os.path.isabs(target)  # the volume may be mounted elsewhere in readers
    assert (link.parent / target).resolve() == (root / ".gitsync/trees" / upstream.head())


async def test_a_link_in_a_subdirectory_of_the_root(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    done = await run_once(base_env(root, upstream.url(), link="sub/dir/link"))
    assert done.returncode == 0, done.stderr
    assert matches(root, upstream.head(), link="sub/dir/link")
    assert os.readlink(root / "sub/dir/link").startswith("../../")


async def test_replaced_trees_go_after_the_grace_period(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    trees = root / ".gitsync" / "trees"
    env = base_env(root, daemon.url(upstream), grace_period="500ms")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        first = upstream.head()
        second = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: published(root) == second, what="the second commit")
        await until(lambda: not (trees / first).exists(), what="the old tree to go")
        assert sorted(p.name for p in trees.iterdir()) == [second]


async def test_a_tree_deleted_under_a_running_helper_is_rebuilt(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream))) as proc:
        await proc.wait_ready()
        head = upstream.head()
        # all at once, as git-sync's test deletes it with the helper paused
        os.rename(root / ".gitsync" / "trees" / head, tmp_path / "gone")
        shutil.rmtree(tmp_path / "gone")
        await until(lambda: read(root, "README") == "v1\n", what="the tree rebuilt")
        assert matches(root, head)
        os.unlink(root / "current")
        await until(lambda: published(root) == head, what="the link made again")

        # the link is made before the sync is counted
        async def counted() -> bool:
            return await metric(proc, "gitsync_syncs_total", outcome="success") >= 3

        await until(counted, what="the repair counted")
        assert await proc.sample("gitsync_syncs_total", outcome="success") == 3
        assert await proc.sample("gitsync_tree_repairs_total", reason="lost") == 2


async def test_one_time_after_the_link_or_all_trees_were_removed(
    tmp_path: Path, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    env = base_env(root, upstream.url())
    done = await run_once(env)
    assert done.returncode == 0, done.stderr
    os.unlink(root / "current")
    done = await run_once(env)
    assert done.returncode == 0, done.stderr
    assert matches(root, upstream.head())
    shutil.rmtree(root / ".gitsync" / "trees")
    done = await run_once(env)
    assert done.returncode == 0, done.stderr
    assert matches(root, upstream.head())
    shutil.rmtree(root / ".gitsync")
    done = await run_once(env)
    assert done.returncode == 0, done.stderr
    assert matches(root, upstream.head())


async def test_a_commit_made_inside_the_published_tree_is_undone(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    """A reader edits a file and runs ``git commit`` in the tree: the next poll puts back
    the commit's files and the tree's git HEAD."""
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream))) as proc:
        await proc.wait_ready()
        head = upstream.head()
        tree = root / "current"
        (tree / "README").write_text("unexpected\n")
        await asyncio.to_thread(git, "commit", "-qam", "corrupt it", cwd=tree)

        async def undone() -> bool:
            return read(root, "README") == "v1\n" and git("rev-parse", "HEAD", cwd=tree) == head

        await until(undone, what="the tree and its HEAD put back")
        assert matches(root, head)
        assert await metric(proc, "gitsync_tree_repairs_total", reason="damaged") >= 1

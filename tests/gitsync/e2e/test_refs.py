"""Which commit is published: the remote HEAD, a branch, a tag, a hash; refs that move."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecars.testing import HelperProcess

from ..support import GitDaemon, Upstream, base_env, git, make_upstream, metric, published, until
from .common import matches, read, run_once


async def test_default_ref_follows_the_remote_head_forward_and_back(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    """No ref: the remote's HEAD, whatever its branch is called; a force-push back to an
    older commit is published too."""
    git("push", "-q", "origin", "main:weird-name", cwd=upstream.work)
    git("symbolic-ref", "HEAD", "refs/heads/weird-name", cwd=upstream.bare)
    git("checkout", "-q", "-b", "weird-name", cwd=upstream.work)
    git("branch", "-q", "--set-upstream-to=origin/weird-name", cwd=upstream.work)
    first = upstream.commit({"file": "one\n"})
    upstream.push("weird-name")
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream))) as proc:
        await proc.wait_ready()
        assert matches(root, first)
        second = upstream.commit({"file": "two\n"})
        upstream.push("weird-name")
        await until(lambda: published(root) == second, what="the second commit")
        assert read(root) == "two\n"
        git("reset", "-q", "--hard", first, cwd=upstream.work)
        upstream.push("weird-name", force=True)
        await until(lambda: published(root) == first, what="the force-pushed older commit")
        assert matches(root, first)
        assert await metric(proc, "gitsync_syncs_total", outcome="success") == 3


async def test_branch_forward_and_force_pushed_back(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    git("checkout", "-q", "-b", "feature", cwd=upstream.work)
    one = upstream.commit({"file": "feature 1\n"})
    upstream.push("feature")
    root = tmp_path / "root"
    env = base_env(root, daemon.url(upstream), ref="feature")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert read(root) == "feature 1\n"
        git("checkout", "-q", "main", cwd=upstream.work)
        upstream.commit({"file": "main moves\n"})
        upstream.push("main")
        git("checkout", "-q", "feature", cwd=upstream.work)
        two = upstream.commit({"file": "feature 2\n"})
        upstream.push("feature")
        await until(lambda: published(root) == two, what="the branch's new commit")
        git("reset", "-q", "--hard", one, cwd=upstream.work)
        upstream.push("feature", force=True)
        await until(lambda: published(root) == one, what="the branch reset")
        assert matches(root, one)


async def test_one_time_runs_switch_branches_on_the_same_root(
    tmp_path: Path, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    main = upstream.commit({"file": "main\n"})
    upstream.push()
    done = await run_once(base_env(root, upstream.url(), ref="main", depth="1"))
    assert done.returncode == 0, done.stderr
    assert published(root) == main
    git("checkout", "-q", "-b", "other", cwd=upstream.work)
    other = upstream.commit({"file": "other\n"})
    upstream.push("other")
    done = await run_once(base_env(root, upstream.url(), ref="other"))
    assert done.returncode == 0, done.stderr
    assert matches(root, other)
    assert read(root) == "other\n"


@pytest.mark.parametrize("annotated", [False, True], ids=["lightweight", "annotated"])
async def test_a_tag_that_moves(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream, annotated: bool
) -> None:
    """A tag is followed to its commit (an annotated one through its tag object), and a
    tag moved with ``git tag -f`` and force-pushed is published again."""
    flags = ["-a", "-m", "release"] if annotated else []
    one = upstream.commit({"file": "one\n"})
    git("tag", *flags, "v1", cwd=upstream.work)
    upstream.push("main", "v1")
    upstream.commit({"file": "after the tag\n"})
    upstream.push()
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream), ref="v1")) as proc:
        await proc.wait_ready()
        assert published(root) == one
        assert read(root) == "one\n"
        two = upstream.commit({"file": "two\n"})
        git("tag", "-f", *flags, "v1", cwd=upstream.work)
        upstream.push("main", "v1", force=True)
        await until(lambda: published(root) == two, what="the moved tag")
        assert matches(root, two)


async def test_a_pinned_hash_is_never_polled(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    pinned = upstream.commit({"file": "pinned\n"})
    upstream.push()
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream), ref=pinned)) as proc:
        await proc.wait_ready()
        upstream.commit({"file": "later\n"})
        upstream.push()

        async def polled() -> bool:
            return await metric(proc, "gitsync_syncs_total", outcome="noop") >= 3

        await until(polled, what="a few polls")
        assert published(root) == pinned
        assert await metric(proc, "gitsync_git_commands_total", command="ls-remote") == 0


async def test_one_time_hashes_known_and_unknown_to_the_local_repository(
    tmp_path: Path, upstream: Upstream
) -> None:
    """A second one-time run on the same root with another hash: one the repository
    already has, then one it never fetched that is not the remote's tip either."""
    one = upstream.commit({"file": "1\n"})
    two = upstream.commit({"file": "2\n"})
    upstream.commit({"file": "3\n"})
    upstream.push()
    root = tmp_path / "root"
    for commit, text in ((two, "2\n"), (one, "1\n")):
        done = await run_once(base_env(root, upstream.url(), ref=commit, depth="0"))
        assert done.returncode == 0, done.stderr
        assert read(root) == text
    four = upstream.commit({"file": "4\n"})
    upstream.commit({"file": "5\n"})
    upstream.push()
    (root / four).touch()  # a file named like the hash in the root is in no one's way
    done = await run_once(base_env(root, upstream.url(), ref=four))
    assert done.returncode == 0, done.stderr
    assert matches(root, four)


async def test_one_time_with_a_missing_ref_fails_at_once(
    tmp_path: Path, upstream: Upstream
) -> None:
    """Exit 1 without waiting for the init timeout (an hour here), and no link."""
    root = tmp_path / "root"
    done = await run_once(base_env(root, upstream.url(), ref="does-not-exist", init_timeout="1h"))
    assert done.returncode == 1
    assert "does-not-exist" in done.stderr
    assert not (root / "current").is_symlink()


async def test_another_repository_on_the_same_root(tmp_path: Path, served: Path) -> None:
    first = make_upstream(served, "first", {"file": "first repo\n"})
    second = make_upstream(served, "second", {"file": "second repo\n"})
    root = tmp_path / "root"
    for upstream, text in ((first, "first repo\n"), (second, "second repo\n")):
        done = await run_once(base_env(root, upstream.url()))
        assert done.returncode == 0, done.stderr
        assert read(root) == text
        assert matches(root, upstream.head())


async def test_a_burst_of_commits_ends_at_the_last(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream))) as proc:
        await proc.wait_ready()
        for number in range(20):
            upstream.commit({"file": f"{number}\n", f"dir{number % 3}/n{number}": "x\n"})
            if number % 4 == 0:
                upstream.push()
        upstream.push()
        last = upstream.head()
        await until(lambda: published(root) == last, what="the last commit of the burst")
        assert matches(root, last)

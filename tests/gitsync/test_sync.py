"""Publishing commits from a real git daemon and file:// remotes."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from sidecars.testing import HelperProcess

from .support import GitDaemon, Upstream, base_env, git, metric, one_shot, published, until


async def test_new_commit_is_published_and_idle_polls_only_ask_the_remote(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "lost+found").mkdir()
    first = upstream.head()
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream))) as proc:
        await proc.wait_ready()
        assert published(root) == first
        assert (root / "current" / "README").read_text() == "v1\n"
        second = upstream.commit({"README": "v2\n", "docs/new.txt": "new\n"})
        upstream.push()
        await until(lambda: published(root) == second, what="second commit")
        assert (root / "current" / "docs" / "new.txt").read_text() == "new\n"
        assert (root / "current" / ".git").is_file()  # a pointer for readers, no repository

        spare = root / ".gitsync" / "spare" / f"{second}.index"
        await until(spare.exists, what="the spare copy of the published tree")
        await until(lambda: _gc_done(proc), what="git gc after the first publish")
        before = await _commands(proc)

        async def five_more_polls() -> bool:
            return (await _commands(proc))["noop"] >= before["noop"] + 5

        await until(five_more_polls, what="five idle polls")
        after = await _commands(proc)
        changed = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        noops = changed.pop("noop")
        # one poll may be between its ls-remote and its outcome when a scrape happens
        assert set(changed) == {"ls-remote"}
        assert abs(changed["ls-remote"] - noops) <= 1
        assert await metric(proc, "gitsync_commit_info", hash=second) == 1
        assert await proc.stop() == 0
    assert (root / "lost+found").is_dir()


async def _gc_done(proc: HelperProcess) -> bool:
    return await metric(proc, "gitsync_git_commands_total", command="gc") >= 1


async def _commands(proc: HelperProcess) -> dict[str, float]:
    """git processes started by command, and the no-change syncs, from one scrape."""
    metrics = await proc.metrics()
    counts = {s.labels["command"]: s.value for s in metrics["gitsync_git_commands"]}
    counts["noop"] = next(
        s.value for s in metrics["gitsync_syncs"] if s.labels["outcome"] == "noop"
    )
    return counts


async def test_force_push_replaces_the_published_commit(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    upstream.commit({"a.txt": "a\n"})
    upstream.push()
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream))) as proc:
        await proc.wait_ready()
        old = upstream.head()
        assert published(root) == old
        git("reset", "-q", "--hard", "HEAD~1", cwd=upstream.work)
        rewritten = upstream.commit({"b.txt": "b\n"}, "rewritten")
        upstream.push(force=True)
        await until(lambda: published(root) == rewritten, what="force-pushed commit")
        assert not (root / "current" / "a.txt").exists()
        assert (root / "current" / "b.txt").read_text() == "b\n"


async def test_tag_and_hash_refs_over_file_urls(tmp_path: Path, upstream: Upstream) -> None:
    tagged = upstream.head()
    git("tag", "-a", "-m", "release", "v1", cwd=upstream.work)
    upstream.push("v1")
    later = upstream.commit({"README": "v2\n"})
    upstream.push()

    root = tmp_path / "tag"
    env = base_env(root, upstream.url(), ref="v1")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert published(root) == tagged
        assert (root / "current" / "README").read_text() == "v1\n"
        git("tag", "-f", "-a", "-m", "moved", "v1", later, cwd=upstream.work)
        upstream.push("v1", force=True)
        await until(lambda: published(root) == later, what="moved tag")

    root = tmp_path / "hash"
    env = base_env(root, upstream.url(), ref=tagged)
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert published(root) == tagged

        async def idle() -> bool:
            return await metric(proc, "gitsync_syncs_total", outcome="noop") >= 3

        await until(idle, what="idle syncs")
        assert await metric(proc, "gitsync_git_commands_total", command="ls-remote") == 0


async def test_full_history_with_depth_zero(tmp_path: Path, upstream: Upstream) -> None:
    upstream.commit({"README": "v2\n"})
    upstream.push()
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, upstream.url(), depth="0")) as proc:
        await proc.wait_ready()
        count = git(
            "--git-dir", str(root / ".gitsync" / "repo.git"), "rev-list", "--count", upstream.head()
        )
        assert count == "2"


async def test_ref_head_means_the_remote_head(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, upstream.url(), ref="HEAD")) as proc:
        await proc.wait_ready()
        assert published(root) == upstream.head()
        head = upstream.commit({"README": "v2\n"})
        upstream.push()
        await until(lambda: published(root) == head, what="the next commit of HEAD")


def test_git_daemon_is_spoken_to_in_protocol_v0_unless_configured(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    """git daemon answers each v2 request only after the client's delayed ACK (about
    40 ms, twice a fetch); v0 has one request. A user's GITSYNC_GIT_CONFIG still wins."""
    for name, extra in (("default", {}), ("configured", {"git_config": "protocol.version:2"})):
        trace = tmp_path / f"{name}.trace"
        env = {**base_env(tmp_path / name, daemon.url(upstream), **extra)}
        done = one_shot({**env, "GIT_TRACE_PACKET": str(trace)})
        assert done.returncode == 0, done.stderr
        assert published(tmp_path / name) == upstream.head()
        spoken = trace.read_text()
        assert "fetch< " in spoken
        assert ("version 2" in spoken) == (name == "configured")


_MEASURING_GIT = """#!{python}
import os, sys
pid = os.fork()
if pid == 0:
    os.execv({git!r}, ["git", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
with open({log!r}, "a") as log:
    log.write(f"{{usage.ru_maxrss}} {{sys.argv[1]}}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.parametrize("git_config", ["", "core.packedGitWindowSize:1g,core.packedGitLimit:8g"])
def test_a_checkout_does_not_keep_the_whole_pack_resident(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream, git_config: str
) -> None:
    """git maps a pack in windows of 1 GiB and keeps them: a checkout of 40 MB would hold
    40 MB resident beside the helper, in a container with a memory limit. The second case
    sets git's defaults back, to show that the measure sees the difference."""
    for number in range(160):  # more objects than fetch.unpackLimit, so they stay a pack
        (upstream.work / f"blob{number:03}.bin").write_bytes(os.urandom(2**18))
    head = upstream.commit({}, "40 MB that do not compress")
    upstream.push()
    # each git is started by a small wrapper that reports the git's own peak RSS (a process
    # forked from the helper would start with the helper's pages counted)
    wrapper, log = tmp_path / "bin" / "git", tmp_path / "peaks"
    wrapper.parent.mkdir()
    git_path = shutil.which("git")
    assert git_path is not None
    wrapper.write_text(_MEASURING_GIT.format(python=sys.executable, git=git_path, log=str(log)))
    wrapper.chmod(0o755)
    root = tmp_path / "root"
    env = base_env(root, daemon.url(upstream), git_config=git_config)
    done = one_shot({**env, "PATH": f"{wrapper.parent}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    assert published(root) == head
    peaks = {line.split()[1]: int(line.split()[0]) for line in log.read_text().splitlines()}
    assert "read-tree" in peaks
    # in KiB; the wrapper itself is about 10 MB
    assert (max(peaks.values()) < 30 * 1024) == (not git_config), peaks

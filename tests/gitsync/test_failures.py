"""Every failure heals by itself: stale git locks, full disks, deleted or damaged trees."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecars.gitsync.metrics import GitSyncStats
from sidecars.gitsync.repository import GitFailed, Repository
from sidecars.testing import HelperProcess

from .support import Upstream, base_env, one_shot, published, publishes, until


async def test_a_lock_left_by_a_killed_git_does_not_wedge_the_commit(
    tmp_path: Path, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), max_backoff="200ms")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        head = upstream.commit({"README": "v2\n"})
        # what a git killed while checking this commit out leaves: the lock of the index it
        # was writing, and an object file it had only begun
        lock = root / ".gitsync" / "index" / f"{head}.tmp.lock"
        lock.write_text("")
        objects = root / ".gitsync" / "repo.git" / "objects" / "ab"
        objects.mkdir(exist_ok=True)
        (objects / "tmp_obj_Zq2x9a").write_bytes(b"")
        upstream.push()
        await until(lambda: published(root) == head, what="the commit despite the old lock")
        assert (root / "current" / "README").read_text() == "v2\n"
        assert not lock.exists()
        assert not (objects / "tmp_obj_Zq2x9a").exists()
        assert any(e.get("msg") == "removed what a killed git process left" for e in proc.logs)


def _kill_git_child(parent: int, command: str, timeout: float) -> bool:
    """SIGKILL the first ``git <command>`` whose parent is ``parent``, as the OOM killer
    would; false if none ran within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent and argv[:2] == [b"git", command.encode()]:
                os.kill(int(entry.name), signal.SIGKILL)
                return True
    return False


async def test_git_killed_mid_checkout_does_not_wedge_the_commit(
    tmp_path: Path, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), max_backoff="200ms", spare_tree="false")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert proc.process is not None
        for attempt in range(5):
            files: dict[str, str | None] = {
                f"d{i % 20}/f{i}": f"{attempt} {i}\n" for i in range(3000)
            }
            head = upstream.commit(files)
            upstream.push()
            killed = await asyncio.to_thread(_kill_git_child, proc.process.pid, "read-tree", 20)
            assert killed, "no checkout ran"
            await until(publishes(root, head), what="the commit after the kill")
            if any(e.get("msg") == "sync failed" for e in proc.logs):
                break
        else:
            pytest.fail("the checkout always finished before it could be killed")
        assert any(e.get("msg") == "removed what a killed git process left" for e in proc.logs)


def test_a_git_error_keeps_its_cause(tmp_path: Path, upstream: Upstream) -> None:
    repo = Repository(tmp_path / "repo.git", upstream.url(), {}, 1, GitSyncStats())
    deadline = time.monotonic() + 30
    repo.ensure(deadline)
    index = tmp_path / "index"
    Path(f"{index}.lock").write_text("")
    with pytest.raises(GitFailed) as failure:
        repo.run(["read-tree", "--empty"], deadline=deadline, index=index)
    message = str(failure.value)
    assert f"Unable to create '{index}.lock': File exists" in message
    assert message.endswith("remove the file manually to continue.")
    assert len(message) < 1000


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a disk that really fills up (needs root; skipped elsewhere)."""
    path = tmp_path / "volume"
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


async def test_a_full_disk_is_a_failed_sync_not_a_crash(
    small_volume: Path, upstream: Upstream
) -> None:
    big = "0123456789abcdef" * (160 * 1024)  # packs to a few KiB; twice it exceeds 4 MiB
    first = upstream.commit({"big.bin": big})
    upstream.push()
    trees = small_volume / ".gitsync" / "trees"
    env = base_env(small_volume, upstream.url(), max_backoff="300ms", init_timeout="0")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        assert published(small_volume) == first
        second = upstream.commit({"README": "v2\n"})
        upstream.push()
        await proc.wait_log(lambda e: e.get("msg") == "sync failed", timeout=30)
        await proc.wait_log(lambda e: e.get("msg") == "sync failed" and e["failures"] >= 2)
        assert proc.process is not None
        assert proc.process.returncode is None
        assert [p.name for p in trees.iterdir()] == [first]
        assert published(small_volume) == first
        assert (await proc.get("/readyz"))[0] == 200

        third = upstream.commit({"big.bin": None, "README": "v3\n"})
        upstream.push()
        await until(lambda: published(small_volume) == third, what="a commit that fits")
        assert (small_volume / "current" / "README").read_text() == "v3\n"
        assert second != third


async def test_a_deleted_published_tree_is_built_again(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "root"
    head = upstream.head()
    tree = root / ".gitsync" / "trees" / head
    async with HelperProcess("gitsync", base_env(root, upstream.url())) as proc:
        await proc.wait_ready()
        shutil.rmtree(tree)
        await until(lambda: (root / "current" / "README").is_file(), what="the tree again")
        assert published(root) == head
        os.unlink(root / "current")
        await until(lambda: (root / "current" / "README").is_file(), what="the link again")

    shutil.rmtree(tree)
    done = one_shot(base_env(root, upstream.url()))
    assert done.returncode == 0, done.stderr
    assert (root / "current" / "README").read_text() == "v1\n"

    (tree / "README").unlink()
    async with HelperProcess("gitsync", base_env(root, upstream.url())) as proc:
        await proc.wait_ready()
        assert (root / "current" / "README").read_text() == "v1\n"
        assert any(
            e.get("msg") == "the published tree is damaged; building it again" for e in proc.logs
        )
        await until(lambda: not any((root / ".gitsync" / "trash").iterdir()), what="trash emptied")

"""Readers that damage the published tree while the helper runs: the next poll notices
(inotify) and swaps in a tree equal to the commit, with no moment without a tree."""

from __future__ import annotations

import asyncio
import mmap
import os
import subprocess
import threading
from pathlib import Path

from sidecars.testing import HelperProcess

from .e2e.common import matches
from .support import GitDaemon, Upstream, base_env, make_upstream, metric, published, until

FILES: dict[str, str | None] = {
    "README": "v1\n",
    "dir/a.txt": "a\n",
    "dir/run.sh": "#!/bin/sh\n",
    "b.txt": "b\n",
}


def reader(command: str, tree: Path) -> None:
    """A reader in another process, as another container would be."""
    subprocess.run(["/bin/sh", "-c", command], cwd=tree, check=True, timeout=30)


class Watcher(threading.Thread):
    """Reads the published tree without pause; counts the reads that found no tree."""

    def __init__(self, root: Path) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.reads = 0
        self.missing = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.reads += 1
            if not os.path.exists(self.root / "current" / "b.txt"):
                self.missing += 1


async def test_reader_damage_is_repaired_at_the_next_poll(
    tmp_path: Path, daemon: GitDaemon, served: Path
) -> None:
    upstream = make_upstream(served, "repo", FILES)
    root = tmp_path / "root"
    tree = root / "current"
    marker = tmp_path / "hook-runs"
    env = base_env(root, daemon.url(upstream), verify_period="0", exec_hook=f"echo run >> {marker}")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        head = upstream.head()
        await until(marker.exists, what="the hook")
        watcher = Watcher(root)
        watcher.start()
        damages = [
            "echo changed > README",
            "rm dir/a.txt",
            "chmod +x b.txt",
            "rm -r dir",
            "ln -sf README b.txt",
            "git rm -q --cached README",
        ]
        try:
            for number, command in enumerate(damages, start=1):
                await asyncio.to_thread(reader, command, tree)

                async def repaired(number: int = number) -> bool:
                    count = await metric(proc, "gitsync_tree_repairs_total", reason="damaged")
                    return count == number and matches(root, head)

                await until(repaired, what=f"the repair after {command!r}")
        finally:
            watcher.done.set()
            watcher.join()
        assert published(root) == head
        assert watcher.reads > 100
        assert watcher.missing == 0
        assert marker.read_text() == "run\n"  # a repair is no new commit: no new hook run
        assert await metric(proc, "gitsync_syncs_total", outcome="error") == 0


async def test_added_files_are_no_damage(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    async with HelperProcess("gitsync", base_env(root, daemon.url(upstream))) as proc:
        await proc.wait_ready()
        tree = root / "current"
        await asyncio.to_thread(reader, "mkdir __pycache__ && echo x > __pycache__/m.pyc", tree)
        polls = await metric(proc, "gitsync_syncs_total", outcome="noop")

        async def polled() -> bool:
            return await metric(proc, "gitsync_syncs_total", outcome="noop") >= polls + 3

        await until(polled, what="three more polls")
        assert await metric(proc, "gitsync_tree_repairs_total", reason="damaged") == 0
        assert (tree / "__pycache__" / "m.pyc").exists()


def write_through_mmap(path: Path) -> None:
    """Writes through a shared mapping raise no inotify event, as writes from another
    node to a network volume."""
    with path.open("r+b") as handle, mmap.mmap(handle.fileno(), 0) as mapped:
        mapped[0:1] = b"X"
        mapped.flush()


async def test_damage_inotify_cannot_see_is_found_by_the_periodic_check(
    tmp_path: Path, daemon: GitDaemon, upstream: Upstream
) -> None:
    root = tmp_path / "root"
    env = base_env(root, daemon.url(upstream), verify_period="300ms")
    async with HelperProcess("gitsync", env) as proc:
        await proc.wait_ready()
        head = upstream.head()
        await asyncio.to_thread(write_through_mmap, root / "current" / "README")
        assert (root / "current" / "README").read_text() == "X1\n"

        async def repaired() -> bool:
            return await metric(proc, "gitsync_tree_repairs_total", reason="damaged") == 1

        await until(repaired, what="the periodic check")
        assert matches(root, head)

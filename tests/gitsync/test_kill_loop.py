"""kill -9 of the helper at random moments, again and again, while commits arrive: after
every kill the published tree must equal its commit, file for file, mode for mode."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .support import Upstream, base_env, git, published

KILLS = 50


def expected_tree(bare: Path, commit: str) -> dict[str, tuple[str, str]]:
    """``git ls-tree -r`` of ``commit``: path -> (mode, blob id)."""
    listing = git("ls-tree", "-r", "-z", commit, cwd=bare)
    entries = {}
    for entry in listing.split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            mode, _, blob = meta.split()
            entries[path] = (mode, blob)
    return entries


def actual_tree(tree: Path) -> dict[str, tuple[str, str]]:
    """The same listing, read from the files on disk (a reader's ``.git`` pointer aside)."""
    entries = {}
    for directory, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if not (Path(directory) == tree and d == ".git")]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            path = Path(directory, name)
            relative = str(path.relative_to(tree))
            if relative == ".git":
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                mode, data = "120000", os.readlink(path).encode()
            else:
                mode = "100755" if info.st_mode & stat.S_IXUSR else "100644"
                data = path.read_bytes()
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            entries[relative] = (mode, blob)
    return entries


def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sidecars", "gitsync"],
        env={**os.environ, "GITSYNC_ADMIN_ADDR": "", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def check_published(root: Path, bare: Path) -> str | None:
    commit = published(root)
    if commit is None:
        return None
    tree = root / "current"
    assert tree.is_dir(), f"the link points at a missing tree ({commit})"
    assert actual_tree(tree) == expected_tree(bare, commit), f"tree of {commit} differs"
    return commit


@pytest.mark.slow
def test_kill_9_at_random_moments_never_publishes_a_tree_unlike_its_commit(
    upstream: Upstream, tmp_path: Path
) -> None:
    chance = random.Random(20261204)
    files: dict[str, str | None] = {f"dir{i % 7}/file{i}.txt": f"{i}\n" * 40 for i in range(2000)}
    upstream.commit(files, "many files")
    (upstream.work / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (upstream.work / "run.sh").chmod(0o755)
    os.symlink("dir0/file0.txt", upstream.work / "latest")
    upstream.commit({}, "a script and a link")
    upstream.push()
    root = tmp_path / "root"
    env = base_env(root, upstream.url(), ref="main", period="50ms")
    seen = set()
    for kill in range(KILLS):
        if kill % 3 == 0:  # new commits arrive while the helper dies and restarts
            change: dict[str, str | None] = {
                f"dir{kill % 7}/file{chance.randrange(2000)}.txt": f"kill {kill}\n"
            }
            if kill % 9 == 0:
                change[f"dir{kill % 7}/file{chance.randrange(2000)}.txt"] = None
                change = {k: v for k, v in change.items() if (upstream.work / k).exists() or v}
            upstream.commit(change, f"commit {kill}")
            upstream.push()
        proc = start(env)
        time.sleep(chance.uniform(0.05, 1.5))
        proc.send_signal(signal.SIGKILL)  # its git children live on, as outside a container
        proc.wait(10)
        commit = check_published(root, upstream.bare)
        if commit is not None:
            seen.add(commit)
    # and the helper still heals: a run left alone publishes the newest commit
    proc = start(env)
    try:
        deadline = time.monotonic() + 60
        while published(root) != upstream.head() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(10)
    assert check_published(root, upstream.bare) == upstream.head()
    assert len(seen) > 1, "the kills never let a sync finish: the loop tested nothing"

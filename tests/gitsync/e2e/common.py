"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from ..support import git, one_shot, published


def read(root: Path, name: str = "file", link: str = "current") -> str | None:
    """A file of the published tree, or None when the link or the file is missing."""
    try:
        return (root / link / name).read_text()
    except OSError:
        return None


def matches(root: Path, commit: str, link: str = "current") -> bool:
    """The link shows ``commit`` and the tree holds exactly its files (``git ls-tree``
    against ``git ls-files`` of the tree, and no file the commit lacks)."""
    if published(root, link) != commit:
        return False
    tree = root / link
    try:
        listed = git("ls-tree", "-r", "--name-only", commit, cwd=tree).splitlines()
        status = git("status", "--porcelain", "--ignored", cwd=tree)
    except AssertionError:  # the tree was swapped for a repaired one under git's feet
        return False
    on_disk = sorted(
        str(path.relative_to(tree))
        for path in tree.rglob("*")
        if not path.is_dir() and path.name != ".git"
    )
    return sorted(listed) == on_disk and status == ""


def depth(root: Path, link: str = "current") -> int:
    """Commits of history reachable from the published tree's HEAD."""
    return len(git("rev-list", "HEAD", cwd=root / link).splitlines())


async def run_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(one_shot, env)

"""Write a commit's files into a directory from the object store, and prove they match it.

A tree is only ever made from git's objects: a fresh checkout into an empty directory, or
a private spare (itself a fresh checkout, never shown to readers) moved forward with
``git read-tree -m -u``. Nothing is copied from the published tree, so what readers write
there (edits, ``__pycache__``) never reaches a later tree. Every tree is verified before it
is published: its index equals the commit, its files equal the index (contents, modes,
symlinks; git hashes only files whose stat data it cannot trust) and nothing else is there.

The check costs one walk of the tree (``git ls-files`` stats every file, hashes none it
can trust) and one ``git diff-index``: on a 5,000-file repository a one-file commit went
from a median 50 ms (poll to publish, unverified) to 71 ms, same machine, same run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

from .repository import GitFailed, Repository

__all__ = ["Checkout", "Extra", "Mismatch"]

Extra = Literal["refuse", "remove", "allow"]
"""What ``verify`` does with paths a tree has beyond its commit."""

_SHOWN = 5
"""Paths named in a mismatch message: enough to see what went wrong."""


class Mismatch(GitFailed):
    """A built tree differs from its commit."""


class Checkout:
    def __init__(self, repo: Repository, *, submodules: str, depth: int) -> None:
        self.repo = repo
        self.submodules = submodules
        self.depth = depth

    def fresh(
        self, commit: str, tree: Path, index: Path, deadline: float, *, submodules: bool = True
    ) -> None:
        """Check ``commit`` out into the new directory ``tree``, its index at ``index``."""
        tree.mkdir()
        self.repo.run(
            ["read-tree", "--reset", "-u", commit], deadline=deadline, work_tree=tree, index=index
        )
        if submodules:
            self.update_submodules(tree, index, deadline)

    def advance(self, base: str, commit: str, tree: Path, index: Path, deadline: float) -> None:
        """Move a private checkout of ``base`` to ``commit``, writing only what changed.
        What git leaves behind (a removed submodule's directory) goes in ``verify``."""
        self.repo.run(
            ["read-tree", "-m", "-u", base, commit], deadline=deadline, work_tree=tree, index=index
        )
        self.update_submodules(tree, index, deadline)

    def update_submodules(self, tree: Path, index: Path, deadline: float) -> None:
        if self.submodules == "off" or not (tree / ".gitmodules").is_file():
            return
        args = ["submodule", "--quiet", "update", "--init", "--checkout", "--force"]
        if self.submodules == "recursive":
            args.append("--recursive")
        if self.depth:
            args.append(f"--depth={self.depth}")
        self.repo.run(args, deadline=deadline, work_tree=tree, index=index, cwd=tree)

    def verify(
        self, commit: str, tree: Path, index: Path, deadline: float, *, extra: Extra = "refuse"
    ) -> None:
        """Raise ``Mismatch`` unless ``tree`` holds exactly ``commit``. Paths the index does
        not know are refused, removed (a private tree: git's leftovers), or allowed (readers
        may write into a published tree: no damage to it)."""
        changed = self.repo.run(
            ["diff-index", "--cached", "--name-only", "-z", commit],
            deadline=deadline,
            work_tree=tree,
            index=index,
        )
        if changed:
            raise Mismatch(_message("index differs from the commit", changed.split("\0")))
        # one walk: modified or deleted files (git hashes those whose stat data it cannot
        # trust, so a touched file is no mismatch) and untracked paths, tagged C, R and ?
        listing = self.repo.run(
            ["ls-files", "-z", "-t", "--modified", "--deleted", "--others", "--directory"],
            deadline=deadline,
            work_tree=tree,
            index=index,
        )
        differ: list[str] = []
        untracked: list[str] = []
        for entry in filter(None, listing.split("\0")):
            tag, _, name = entry.partition(" ")
            (untracked if tag == "?" else differ).append(name)
        if differ:
            raise Mismatch(_message("files differ from the commit", sorted(set(differ))))
        if untracked and extra == "refuse":
            raise Mismatch(_message("files not in the commit", untracked))
        if extra == "remove":
            for name in untracked:
                _remove(tree / name)


def _message(what: str, names: list[str]) -> str:
    names = [name for name in names if name]
    more = len(names) - _SHOWN
    shown = ", ".join(names[:_SHOWN]) + (f" and {more} more" if more > 0 else "")
    return f"tree check failed: {what}: {shown}"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()

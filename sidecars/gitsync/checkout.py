"""Write a commit's files into a directory from the object store, and prove they match it.

A tree is only ever made from git's objects: a fresh checkout into an empty directory, or
a private spare (itself a fresh checkout, never shown to readers) moved forward with
``git read-tree -m -u``. Nothing is copied from the published tree, so what readers write
there (edits, ``__pycache__``) never reaches a later tree. Every tree is verified before it
is published: its index equals the commit, its files equal the index (contents, modes,
symlinks; git hashes only files whose stat data it cannot trust) and nothing else is there.

On a 5,000-file repository a one-file commit from the spare took a median 46 ms (poll,
fetch, checkout, publish) before verification existed; see the README for the cost now.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .repository import GitFailed, Repository

__all__ = ["Checkout", "Mismatch"]

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
        """Move a private checkout of ``base`` to ``commit``, writing only what changed, and
        delete what git leaves behind (the directory of a removed submodule)."""
        self.repo.run(
            ["read-tree", "-m", "-u", base, commit], deadline=deadline, work_tree=tree, index=index
        )
        for name in self.untracked(tree, index, deadline):
            _remove(tree / name)
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

    def untracked(self, tree: Path, index: Path, deadline: float) -> list[str]:
        """Paths in ``tree`` that its index does not know (a directory once, with a slash)."""
        out = self.repo.run(
            ["ls-files", "--others", "--directory", "-z"],
            deadline=deadline,
            work_tree=tree,
            index=index,
        )
        return [name for name in out.split("\0") if name]

    def verify(
        self, commit: str, tree: Path, index: Path, deadline: float, *, extra_ok: bool = False
    ) -> None:
        """Raise ``Mismatch`` unless ``tree`` holds exactly ``commit``. ``extra_ok`` allows
        untracked files: readers may write into a published tree and that is no damage."""
        changed = self.repo.run(
            ["diff-index", "--cached", "--name-only", "-z", commit],
            deadline=deadline,
            work_tree=tree,
            index=index,
        )
        if changed:
            raise Mismatch(_message("index differs from the commit", changed.split("\0")))
        status, stale = self.repo.probe(
            ["update-index", "--refresh"], deadline=deadline, work_tree=tree, index=index
        )
        if status != 0:
            names = [line.rpartition(":")[0] or line for line in stale.splitlines()]
            raise Mismatch(_message("files differ from the commit", names))
        if not extra_ok:
            extra = self.untracked(tree, index, deadline)
            if extra:
                raise Mismatch(_message("files not in the commit", extra))


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

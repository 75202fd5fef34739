"""The published trees: one directory per commit, a symlink swapped by ``rename(2)``.

Layout under the root (the helper touches nothing else there)::

    <link>                 -> .gitsync/trees/<hash>   (relative, so any mount point works)
    .<link>.tmp            the next link, only between symlink(2) and rename(2)
    .gitsync/repo.git      the bare repository
    .gitsync/trees/<hash>  a checked-out commit; complete once index/<hash> exists
    .gitsync/index/<hash>  that tree's git index, kept outside it so readers see no .git
    .gitsync/spare/<hash>  a ready private copy of the published tree (and <hash>.index)
    .gitsync/trash/        replaced trees on their way out

A new commit's tree starts as a copy of the published one (the spare, prepared in the
background, else a copy made on the spot) and ``git read-tree -m -u`` rewrites only the
files that differ. The published tree is never written to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .repository import GitFailed, Repository

__all__ = ["Trees"]

_STATE = ".gitsync"


class Trees:
    def __init__(
        self,
        root: Path,
        link: str,
        repo: Repository,
        *,
        submodules: str,
        depth: int,
        on_build: Callable[[str], None] = lambda method: None,
    ) -> None:
        self.root = root
        self.state = root / _STATE
        self.trees = self.state / "trees"
        self.indexes = self.state / "index"
        self.spares = self.state / "spare"
        self.trash = self.state / "trash"
        self.link = root / link
        self.temp_link = root / f".{link}.tmp"
        self.repo = repo
        self.submodules = submodules
        self.depth = depth
        self.on_build = on_build
        self.current: str | None = None
        self.pinned: str | None = None
        """An incomplete tree the link still shows after a crash: kept until replaced."""
        self.built_at = 0.0
        self.retired: dict[str, float] = {}

    def tree(self, commit: str) -> Path:
        return self.trees / commit

    def index(self, commit: str) -> Path:
        return self.indexes / commit

    def complete(self, commit: str) -> bool:
        return self.index(commit).is_file() and self.tree(commit).is_dir()

    def recover(self) -> list[str]:
        """Undo what a crash left behind; adopt the published tree. Returns what was removed."""
        removed: list[str] = []
        for path in (self.state, self.trees, self.indexes, self.spares, self.trash):
            path.mkdir(parents=True, exist_ok=True)
        for path in (self.state / "home", self.state / "tmp"):
            path.mkdir(exist_ok=True)
        if self.temp_link.is_symlink() or self.temp_link.exists():
            _remove(self.temp_link, removed)
        for directory in (self.spares, self.trash, self.state / "tmp"):
            for entry in directory.iterdir():
                _remove(entry, removed)
        for entry in self.indexes.iterdir():
            if not _is_hash(entry.name) or not (self.trees / entry.name).is_dir():
                _remove(entry, removed)
        shown = self._link_target()
        for entry in self.trees.iterdir():
            if not (self.indexes / entry.name).is_file() and entry.name != shown:
                _remove(entry, removed)
        if self.repo.git_dir.is_dir():
            for dirpath, _, filenames in os.walk(self.repo.git_dir):
                for name in filenames:
                    if name.endswith(".lock") or name.startswith(("tmp_pack_", "tmp_idx_")):
                        _remove(Path(dirpath, name), removed)
        self.current = shown if shown and self.complete(shown) else None
        self.pinned = shown if shown and not self.current else None
        now = time.monotonic()
        self.retired = {
            entry.name: now for entry in self.trees.iterdir() if entry.name not in (shown, None)
        }
        return removed

    def _link_target(self) -> str | None:
        """The tree the link points at, whether or not it is complete: never deleted here."""
        try:
            target = os.readlink(self.link)
        except OSError:
            return None
        commit = Path(target).name
        return commit if target == f"{_STATE}/trees/{commit}" else None

    def build(self, commit: str, deadline: float) -> str:
        """Make the complete tree of ``commit``; returns how (reuse, spare, copy or full)."""
        if self.complete(commit):
            return "reuse"
        tree, index_tmp = self.tree(commit), self.indexes / f"{commit}.tmp"
        _clear(index_tmp)
        if commit == self.pinned:
            # the link shows this tree: give it back its index, never touch its files
            self.repo.run(["read-tree", commit], deadline=deadline, index=index_tmp)
            os.replace(index_tmp, self.index(commit))
            return "reuse"
        _clear(tree)
        method = self._from_base(commit, tree, index_tmp, deadline)
        if method is None:
            method = "full"
            tree.mkdir()
            self.repo.run(
                ["read-tree", "--reset", "-u", commit],
                deadline=deadline,
                work_tree=tree,
                index=index_tmp,
            )
        if self.submodules != "off" and (tree / ".gitmodules").is_file():
            args = ["submodule", "--quiet", "update", "--init", "--checkout"]
            if self.submodules == "recursive":
                args.append("--recursive")
            if self.depth:
                args.append(f"--depth={self.depth}")
            self.repo.run(args, deadline=deadline, work_tree=tree, index=index_tmp, cwd=tree)
        os.replace(index_tmp, self.index(commit))
        self.built_at = time.time()
        self.on_build(method)
        return method

    def _from_base(self, commit: str, tree: Path, index: Path, deadline: float) -> str | None:
        base = self.current
        if base is None or not self.complete(base):
            return None
        spare_tree, spare_index = self.spares / base, self.spares / f"{base}.index"
        if spare_index.is_file() and spare_tree.is_dir():
            os.rename(spare_index, index)
            os.rename(spare_tree, tree)
            method = "spare"
        else:
            copy_tree(self.tree(base), tree)
            shutil.copy2(self.index(base), index)
            method = "copy"
        try:
            self.repo.run(
                ["read-tree", "-m", "-u", base, commit],
                deadline=deadline,
                work_tree=tree,
                index=index,
            )
        except GitFailed:
            _clear(tree)
            _clear(index)
            return None
        return method

    def publish(self, commit: str) -> None:
        """Point the link at ``commit``'s tree in one ``rename(2)``; retire the old tree."""
        _clear(self.temp_link)
        os.symlink(f"{_STATE}/trees/{commit}", self.temp_link)
        try:
            os.replace(self.temp_link, self.link)
        except OSError as exc:
            _clear(self.temp_link)
            raise GitFailed(f"cannot replace {self.link}: {exc.strerror}") from None
        old, self.current = self.current or self.pinned, commit
        self.pinned = None
        self.retired.pop(commit, None)
        if old is not None and old != commit:
            self.retired[old] = time.monotonic()

    def expired(self, grace: float, keep: int) -> list[str]:
        """Replaced trees to delete now: past the grace period, or beyond ``keep`` of them."""
        now = time.monotonic()
        victims = [commit for commit, since in self.retired.items() if now - since >= grace]
        left = [commit for commit in self.retired if commit not in victims]
        victims += left[: max(len(left) - keep, 0)]
        return victims

    def discard(self, commit: str) -> None:
        """Take a replaced tree out of use in two renames; ``empty_trash`` deletes it."""
        self.retired.pop(commit, None)
        _clear(self.index(commit))
        if self.tree(commit).is_dir():
            os.rename(self.tree(commit), self.trash / f"{commit}-{time.monotonic_ns()}")

    def empty_trash(self) -> None:
        """Delete discarded trees: slow on a big tree, so it runs without the sync lock."""
        for entry in self.trash.iterdir():
            _clear(entry)

    def settle(self, commit: str, deadline: float) -> bool:
        """Refresh the index of ``commit``'s tree (it lives outside the tree; no file in the
        tree is touched). A tree's index is written in the same second as its files, so git
        distrusts their stat data and would hash every file on the next ``read-tree -m -u``;
        run a second later, this hashes them once and records stat data git then trusts."""
        if not self.complete(commit):
            return False
        try:
            self.repo.run(
                ["update-index", "-q", "--refresh"],
                deadline=deadline,
                work_tree=self.tree(commit),
                index=self.index(commit),
            )
        except GitFailed:
            return False
        return True

    def make_spare(self, commit: str) -> tuple[Path, Path] | None:
        """Copy a settled tree and its index to a private place, times preserved, so
        the next commit can start from it without a copy on its critical path."""
        if not self.complete(commit):
            return None
        work, index = self.spares / f".tmp-{commit}", self.spares / f".tmp-{commit}.index"
        _clear(work)
        _clear(index)
        try:
            shutil.copy2(self.index(commit), index)
            copy_tree(self.tree(commit), work)
        except (OSError, subprocess.CalledProcessError):
            _clear(work)
            _clear(index)
            return None
        return work, index

    def keep_spare(self, commit: str, made: tuple[Path, Path]) -> bool:
        """Install a finished spare if ``commit`` is still published; else discard it."""
        work, index = made
        if commit != self.current:
            _clear(work)
            _clear(index)
            return False
        for entry in self.spares.iterdir():
            if entry not in (work, index):
                _clear(entry)
        os.rename(work, self.spares / commit)
        os.rename(index, self.spares / f"{commit}.index")
        return True

    def disk_bytes(self) -> int:
        """Bytes allocated under the root's .gitsync directory (what this helper owns)."""
        total = 0
        for dirpath, dirnames, filenames in os.walk(self.state):
            for name in filenames + dirnames:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
        return total


def copy_tree(source: Path, target: Path) -> None:
    """A full copy (no hard links: readers may not share mutable files), times preserved."""
    subprocess.run(["cp", "-a", "--", str(source), str(target)], check=True, capture_output=True)


def _clear(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _remove(path: Path, removed: list[str]) -> None:
    _clear(path)
    removed.append(str(path))


def _is_hash(name: str) -> bool:
    return len(name) in (40, 64) and all(c in "0123456789abcdef" for c in name)

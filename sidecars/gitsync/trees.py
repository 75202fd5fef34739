"""The published trees: one directory per commit, a symlink swapped by ``rename(2)``.

Layout under the root (the helper touches nothing else there)::

    <link>                 -> .gitsync/trees/<hash>   (relative, so any mount point works)
    .<link>.tmp            the next link, only between symlink(2) and rename(2)

The link may also be a path below the root or outside it (git-sync's ``--link``); its
target is then the relative path from the link's directory to the tree.
    .gitsync/repo.git      the bare repository
    .gitsync/trees/<hash>  a checked-out commit; complete once index/<hash> exists
    .gitsync/index/<hash>  that tree's git index, kept outside the tree
    .gitsync/worktrees/<hash>  that tree's git directory (HEAD, commondir, index link):
                           the tree's ``.git`` file points here, so readers can run
                           ``git rev-parse HEAD`` or ``git log`` inside it, as in git-sync
    .gitsync/spare/<hash>  a private fresh checkout of the published commit (and <hash>.index)
    .gitsync/hooks/<hash>  hooks of this commit have not all succeeded yet
    .gitsync/trash/        replaced trees on their way out
    .gitsync/tmp/<hash>    a damaged tree's replacement, until it is swapped in

A new commit's tree is the spare moved forward by ``git read-tree -m -u`` (only changed
files are written), else a fresh checkout; never a copy of the published tree, which
readers may have written to. Each tree is verified against its commit before publishing
(``checkout.py``). The published tree is never written to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .checkout import Checkout, Mismatch
from .leftovers import is_leftover
from .repository import GitFailed, Repository
from .spare import Made, Spare
from .swap import exchange

__all__ = ["Damage", "Trees"]


@dataclass(frozen=True, slots=True)
class Damage:
    """How a published tree differs from its commit; ``rebuild`` false when putting its
    git directory back was enough."""

    reason: str
    rebuild: bool


_STATE = ".gitsync"


class Trees:
    def __init__(
        self,
        root: Path,
        link: Path,
        repo: Repository,
        *,
        submodules: str,
        depth: int,
        log: logging.Logger,
        on_build: Callable[[str], None] = lambda method: None,
    ) -> None:
        self.root = root
        self.state = root / _STATE
        self.trees = self.state / "trees"
        self.indexes = self.state / "index"
        self.spares = self.state / "spare"
        self.trash = self.state / "trash"
        self.hooks = self.state / "hooks"
        self.gitdirs = self.state / "worktrees"
        self.link = Path(os.path.normpath(root / link))
        self.temp_link = self.link.with_name(f".{self.link.name}.tmp")
        self.repo = repo
        self.checkout = Checkout(repo, submodules=submodules, depth=depth)
        self.spare = Spare(self.spares, repo, self.checkout, _clear)
        self.log = log
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
        for path in (self.state, self.trees, self.indexes, self.spares, self.trash, self.hooks):
            path.mkdir(parents=True, exist_ok=True)
        self.gitdirs.mkdir(exist_ok=True)
        for path in (self.state / "home", self.state / "tmp"):
            path.mkdir(exist_ok=True)
        self.link.parent.mkdir(parents=True, exist_ok=True)
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
        for entry in self.gitdirs.iterdir():
            if not (self.trees / entry.name).is_dir():
                _remove(entry, removed)
        if self.repo.git_dir.is_dir():
            for dirpath, _, filenames in os.walk(self.repo.git_dir):
                for name in filenames:
                    if is_leftover(name):
                        _remove(Path(dirpath, name), removed)
        self.current = shown if shown and self.complete(shown) else None
        # a link to a deleted tree is not kept: the next sync builds the tree again
        self.pinned = shown if shown and not self.current and self.tree(shown).is_dir() else None
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
        return commit if target == self._target(commit) else None

    def _target(self, commit: str) -> str:
        """What the link holds: the tree's path relative to the link's directory."""
        return os.path.relpath(self.tree(commit), self.link.parent)

    def build(self, commit: str, deadline: float) -> str:
        """Make the verified tree of ``commit``; returns how (reuse, spare or full). On any
        failure nothing half-built stays: the next attempt starts clean, disk is freed."""
        if self._adopt(commit, deadline):
            return "reuse"
        tree, index = self.tree(commit), self.indexes / f"{commit}.tmp"
        _clear(index)
        _clear(tree)
        try:
            method = self._from_spare(commit, tree, index, deadline, self.current)
            if method is None:
                method = "full"
                self.checkout.fresh(commit, tree, index, deadline)
                self.checkout.verify(commit, tree, index, deadline)
            self._point_git_at(commit)
            os.replace(index, self.index(commit))
        except BaseException:
            _clear(tree)
            _clear(index)
            _clear(self.gitdirs / commit)
            raise
        self.built_at = time.time()
        self.on_build(method)
        return method

    def _adopt(self, commit: str, deadline: float) -> bool:
        """Reuse a tree of ``commit`` already on disk (one replaced earlier, or the one an
        interrupted run left shown) if it still equals the commit; else throw it away."""
        tree, index = self.tree(commit), self.index(commit)
        if not tree.is_dir():
            return False
        shown = commit == self.pinned
        try:
            if not index.is_file():
                fresh = self.indexes / f"{commit}.tmp"
                _clear(fresh)
                self.repo.run(["read-tree", commit], deadline=deadline, index=fresh)
                os.replace(fresh, index)
            # readers may have written into the tree the link shows: no damage to its files
            self.checkout.verify(
                commit, tree, index, deadline, extra="allow" if shown else "refuse"
            )
            if not shown:
                self._point_git_at(commit)
        except Mismatch as exc:
            self.log.warning("not reusing a tree", extra={"hash": commit, "reason": str(exc)})
            self.discard(commit)
            return False
        return True

    def _from_spare(
        self, commit: str, tree: Path, index: Path, deadline: float, base: str | None
    ) -> str | None:
        if base is None or (base != commit and not self.complete(base)):
            return None
        if not self.spare.take(base, tree, index):
            return None
        try:
            if base == commit:  # a damaged tree built again: the spare is its commit
                self.checkout.update_submodules(tree, index, deadline)
            else:
                self.checkout.advance(base, commit, tree, index, deadline)
            self.checkout.verify(commit, tree, index, deadline, extra="remove")
        except GitFailed as exc:
            self.log.warning("the spare tree did not work", extra={"reason": str(exc)})
            _clear(tree)
            _clear(index)
            return None
        return "spare"

    def _point_git_at(self, commit: str) -> bool:
        """Give the tree a ``.git`` file and its own git directory, all paths relative (the
        volume is mounted elsewhere in readers): HEAD is the commit, objects and refs come
        from the bare repository, the index is the tree's own. Git never lists a ``.git``
        entry as untracked, so the tree check does not see it. True when anything had to
        be written."""
        tree, gitdir = self.tree(commit), self.gitdirs / commit
        gitdir.mkdir(exist_ok=True)
        index = os.path.relpath(self.index(commit), gitdir)
        changed = [
            _write(gitdir / "HEAD", commit + "\n"),
            _write(gitdir / "commondir", os.path.relpath(self.repo.git_dir, gitdir) + "\n"),
            _write(gitdir / "gitdir", os.path.relpath(tree / ".git", gitdir) + "\n"),
            _write(tree / ".git", f"gitdir: {os.path.relpath(gitdir, tree)}\n"),
        ]
        try:
            linked = os.readlink(gitdir / "index") == index
        except OSError:
            linked = False
        if not linked:
            _clear(gitdir / "index")
            os.symlink(index, gitdir / "index")
        return any(changed) or not linked

    def lost(self) -> str | None:
        """Why the published tree is no longer shown (its directory or the link is gone),
        after which the next sync builds and publishes it again; ``None`` when all is well."""
        commit = self.current
        if commit is None:
            return None
        if not self.tree(commit).is_dir():
            _clear(self.index(commit))
            reason = "the published tree was deleted"
        elif self._link_target() != commit:
            reason = f"{self.link} no longer points at the published tree"
        else:
            return None
        self.current = None
        return reason

    def check_published(self, deadline: float) -> str | None:
        """At start: a damaged published tree is taken out of use, so the first sync
        builds it again. Returns the damage, if any."""
        damage = self.damage(deadline)
        if damage is None:
            return None
        if damage.rebuild:
            assert self.current is not None
            self.discard(self.current)
            self.current = None
        return damage.reason

    def damage(self, deadline: float) -> Damage | None:
        """How the published tree differs from its commit: files changed or removed, or
        its git directory no longer at the commit (a reader's ``git commit`` or
        ``git checkout``; it is put back at once). Files readers added are no damage."""
        commit = self.current
        if commit is None:
            return None
        # a reader's git commit, checkout or rm --cached: the git directory is put back
        restored = self._point_git_at(commit)
        try:
            self.checkout.verify(
                commit, self.tree(commit), self.index(commit), deadline, extra="allow"
            )
        except Mismatch as exc:
            return Damage(str(exc), rebuild=True)
        return Damage("the tree's git directory was changed", rebuild=False) if restored else None

    def rebuild(self, commit: str, deadline: float) -> str:
        """Build ``commit``'s tree again beside the damaged (or deleted) one and swap the
        two directories in one ``renameat2(RENAME_EXCHANGE)``: a link that still points
        there shows the damaged tree or the finished one, never none and never a tree
        being written. The damaged one goes to the trash."""
        work, index = self.state / "tmp" / commit, self.indexes / f"{commit}.tmp"
        _clear(work)
        _clear(index)
        try:
            method = self._from_spare(commit, work, index, deadline, commit)
            if method is None:
                method = "full"
                self.checkout.fresh(commit, work, index, deadline)
                self.checkout.verify(commit, work, index, deadline)
            # tmp/<hash> and trees/<hash> are as deep: the same relative .git pointer
            _write(work / ".git", f"gitdir: {os.path.relpath(self.gitdirs / commit, work)}\n")
            exchange(work, self.tree(commit))
        except BaseException:
            _clear(work)
            _clear(index)
            raise
        os.replace(index, self.index(commit))
        self._point_git_at(commit)
        if work.exists():
            os.rename(work, self.trash / f"{commit}-{time.monotonic_ns()}")
        self.built_at = time.time()
        self.on_build(method)
        return method

    def publish(self, commit: str) -> None:
        """Point the link at ``commit``'s tree in one ``rename(2)``; retire the old tree."""
        _clear(self.temp_link)
        os.symlink(self._target(commit), self.temp_link)
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
        if self.pinned == commit:
            self.pinned = None
        _clear(self.index(commit))
        _clear(self.gitdirs / commit)
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

    def make_spare(self, commit: str, deadline: float) -> Made | None:
        """A new spare for the published ``commit`` (see ``spare.py``)."""
        return self.spare.make(commit, deadline) if self.complete(commit) else None

    def disk_bytes(self) -> int:
        """Bytes allocated under the root's .gitsync directory (what this helper owns)."""
        total = 0
        for dirpath, dirnames, filenames in os.walk(self.state):
            for name in filenames + dirnames:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
        return total


def _clear(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _write(path: Path, text: str) -> bool:
    """Make ``path`` a file holding ``text``; False when it did already."""
    if path.is_symlink() or path.is_dir():
        _clear(path)
    elif path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def _remove(path: Path, removed: list[str]) -> None:
    _clear(path)
    removed.append(str(path))


def _is_hash(name: str) -> bool:
    return len(name) in (40, 64) and all(c in "0123456789abcdef" for c in name)

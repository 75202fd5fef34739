"""The spare: a private fresh checkout of the published commit, the start of the next tree.

Moving a checkout forward with ``git read-tree -m -u`` writes only the files a commit
changed, so a one-file commit on a 5,000-file repository is published in about 70 ms
(poll, fetch, checkout, verification) where a fresh checkout takes 0.4 s or more. The
spare is checked out from git's objects in the background, never copied from the
published tree (readers may have written there), and nobody but the helper sees it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .checkout import Checkout
from .repository import GitFailed, Repository

__all__ = ["Made", "Spare"]

Made = tuple[Path, Path]
"""A spare being prepared: its directory and its index."""


class Spare:
    def __init__(
        self,
        directory: Path,
        repo: Repository,
        checkout: Checkout,
        clear: Callable[[Path], None],
    ) -> None:
        self.directory = directory
        self.repo = repo
        self.checkout = checkout
        self.clear = clear

    def take(self, commit: str, tree: Path, index: Path) -> bool:
        """Move the ready spare of ``commit`` to ``tree`` and ``index``; false when none."""
        spare_tree, spare_index = self.directory / commit, self.directory / f"{commit}.index"
        if not (spare_index.is_file() and spare_tree.is_dir()):
            return False
        os.rename(spare_index, index)
        os.rename(spare_tree, tree)
        return True

    def make(self, commit: str, deadline: float) -> Made | None:
        """Check ``commit`` out afresh into a private place. Submodules are left out: each
        new tree updates them itself."""
        work = self.directory / f".tmp-{commit}"
        index = self.directory / f".tmp-{commit}.index"
        self._drop((work, index))
        try:
            self.checkout.fresh(commit, work, index, deadline, submodules=False)
        except (GitFailed, OSError):
            self._drop((work, index))
            return None
        return work, index

    def refresh(self, made: Made, deadline: float) -> bool:
        """Record stat data git trusts (run a second after the checkout), so moving the
        spare forward hashes only the files the next commit changes."""
        work, index = made
        try:
            self.repo.run(
                ["update-index", "-q", "--refresh"], deadline=deadline, work_tree=work, index=index
            )
        except (GitFailed, OSError):
            self._drop(made)
            return False
        return True

    def keep(self, commit: str, made: Made, published: str | None) -> bool:
        """Install a finished spare if ``commit`` is still published; else discard it."""
        if commit != published:
            self._drop(made)
            return False
        for entry in self.directory.iterdir():
            if entry not in made:
                self.clear(entry)
        work, index = made
        os.rename(work, self.directory / commit)
        os.rename(index, self.directory / f"{commit}.index")
        return True

    def _drop(self, made: Made) -> None:
        for path in made:
            self.clear(path)

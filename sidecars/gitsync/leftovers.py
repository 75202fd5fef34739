"""What a killed git process leaves behind: lock files and temporary object files.

Git takes a lock by creating ``<file>.lock`` exclusively and renames it over ``<file>`` when
done. A git killed in between (the sync timeout, the OOM killer, kill -9) leaves the lock,
and every later git that needs that file fails with "File exists": the same commit would
fail until a restart. The helper is the only writer under its state directory, so a lock
there while none of its git processes runs is stale; it is removed before each attempt.
Killed writers of objects leave ``tmp_obj_*`` (often empty) and ``tmp_pack_*`` files too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["is_leftover", "sweep"]

_TEMPORARY = ("tmp_obj_", "tmp_pack_", "tmp_idx_")


def is_leftover(name: str) -> bool:
    """A lock or a temporary object file, by git's naming."""
    return name.endswith(".lock") or name.startswith(_TEMPORARY)


def sweep(git_dir: Path, flat: Sequence[Path]) -> list[str]:
    """Delete leftovers anywhere in ``git_dir`` (submodule git dirs included) and at the top
    of each ``flat`` directory (index files kept outside trees). Trees are never searched:
    a ``*.lock`` there is a file of the repository (``poetry.lock``). Returns the paths."""
    found: list[Path] = []
    for directory in flat:
        if directory.is_dir():
            found += [entry for entry in directory.iterdir() if entry.name.endswith(".lock")]
    if git_dir.is_dir():
        for dirpath, _, filenames in os.walk(git_dir):
            found += [Path(dirpath, name) for name in filenames if is_leftover(name)]
    removed: list[str] = []
    for path in found:
        try:
            path.unlink()
        except IsADirectoryError:
            continue
        except FileNotFoundError:
            continue
        removed.append(str(path))
    return removed

"""Swap two directories in one step: ``renameat2(RENAME_EXCHANGE)``.

Replacing a directory that readers use (a damaged published tree by its repaired copy,
both named by the commit) with two renames leaves a moment with neither; the kernel's
exchange leaves none. Where it is missing (an old kernel or C library, a file system
without it) the two renames are the fallback.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["exchange"]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(new: Path, old: Path) -> None:
    """Put ``new`` where ``old`` is and ``old`` where ``new`` was; when ``old`` does not
    exist, ``new`` is simply renamed to it."""
    if not old.exists():
        os.rename(new, old)
        return
    import ctypes  # only on a repair, which is rare

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.renameat2(
            _AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(old), _RENAME_EXCHANGE
        )
    except (OSError, AttributeError):
        done = -1
    if done == 0:
        return
    aside = new.with_name(f"{new.name}.old")
    os.rename(old, aside)
    os.rename(new, old)
    os.rename(aside, new)

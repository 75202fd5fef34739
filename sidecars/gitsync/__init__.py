"""gitsync: keep a directory in sync with a git repository, published by atomic symlink swap.

Its names load on first use, so that the injector can read the settings class alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecars.runtime.discovery import lazy_names

if TYPE_CHECKING:
    from .helper import GitSync
    from .settings import GitSyncSettings

__all__ = ["GitSync", "GitSyncSettings"]

__getattr__ = lazy_names(
    __name__,
    {
        "GitSync": "helper",
        "GitSyncSettings": "settings",
    },
)

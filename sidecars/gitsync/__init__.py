"""gitsync: keep a directory in sync with a git repository, published by atomic symlink swap."""

from .helper import GitSync
from .settings import GitSyncSettings

__all__ = ["GitSync", "GitSyncSettings"]

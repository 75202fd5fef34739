"""gitsync: keep a directory in sync with a git repository, published by atomic symlink swap.

Its names load on first use, so that the injector can read the settings class alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .helper import GitSync
    from .settings import GitSyncSettings

__all__ = ["GitSync", "GitSyncSettings"]

_MODULES = {
    "GitSync": "helper",
    "GitSyncSettings": "settings",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # the import statement's own path, so that ``-X importtime`` reports the module
    module = __import__(_MODULES[name], globals(), fromlist=[name], level=1)
    return getattr(module, name)

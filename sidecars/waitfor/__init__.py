"""waitfor: block until dependencies answer (init-container pattern).

Its names load on first use, so that the injector can read the settings class alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .helper import WaitFor
    from .settings import WaitForSettings
    from .targets import Target

__all__ = ["Target", "WaitFor", "WaitForSettings"]

_MODULES = {
    "Target": "targets",
    "WaitFor": "helper",
    "WaitForSettings": "settings",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # the import statement's own path, so that ``-X importtime`` reports the module
    module = __import__(_MODULES[name], globals(), fromlist=[name], level=1)
    return getattr(module, name)

"""waitfor: block until dependencies answer (init-container pattern).

Its names load on first use, so that the injector can read the settings class alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecars.runtime.discovery import lazy_names

if TYPE_CHECKING:
    from .helper import WaitFor
    from .settings import WaitForSettings
    from .targets import Target

__all__ = ["Target", "WaitFor", "WaitForSettings"]

__getattr__ = lazy_names(
    __name__,
    {
        "Target": "targets",
        "WaitFor": "helper",
        "WaitForSettings": "settings",
    },
)

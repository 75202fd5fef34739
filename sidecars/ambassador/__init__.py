"""ambassador: the app talks to localhost, the ambassador brokers the connection outwards.

Its names load on first use, so that the injector can read the settings class alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecars.runtime.discovery import lazy_names

if TYPE_CHECKING:
    from .helper import Ambassador
    from .settings import AmbassadorSettings

__all__ = ["Ambassador", "AmbassadorSettings"]

__getattr__ = lazy_names(
    __name__,
    {
        "Ambassador": "helper",
        "AmbassadorSettings": "settings",
    },
)

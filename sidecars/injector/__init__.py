"""injector: a mutating admission webhook that adds helpers to Pods (sidecar injector).

Its names load on first use, so that the injector can read the settings class alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecars.runtime.discovery import lazy_names

if TYPE_CHECKING:
    from .helper import Injector
    from .settings import InjectorSettings

__all__ = ["Injector", "InjectorSettings"]

__getattr__ = lazy_names(
    __name__,
    {
        "Injector": "helper",
        "InjectorSettings": "settings",
    },
)

"""nginxlog: NGINX access logs to Prometheus metrics (adapter pattern).

Its names load on first use, so that the injector can read the settings class alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecars.runtime.discovery import lazy_names

if TYPE_CHECKING:
    from .helper import NginxLog
    from .settings import NginxLogSettings

__all__ = ["NginxLog", "NginxLogSettings"]

__getattr__ = lazy_names(
    __name__,
    {
        "NginxLog": "helper",
        "NginxLogSettings": "settings",
    },
)

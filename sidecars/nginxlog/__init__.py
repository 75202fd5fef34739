"""nginxlog: NGINX access logs to Prometheus metrics (adapter pattern).

Its names load on first use, so that the injector can read the settings class alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .helper import NginxLog
    from .settings import NginxLogSettings

__all__ = ["NginxLog", "NginxLogSettings"]

_MODULES = {
    "NginxLog": "helper",
    "NginxLogSettings": "settings",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # the import statement's own path, so that ``-X importtime`` reports the module
    module = __import__(_MODULES[name], globals(), fromlist=[name], level=1)
    return getattr(module, name)

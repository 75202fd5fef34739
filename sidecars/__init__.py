"""Small async helpers that run next to an application: the public API for writing one.

Everything a custom helper needs is importable from here; modules under
``sidecars.runtime`` are implementation and may change.
"""

from ._version import __version__
from .runtime.backoff import Backoff
from .runtime.errors import ConfigError, HelperError, Problem
from .runtime.helper import Command, HealthCheck, Helper, HelperContext
from .runtime.lifecycle import run_helper
from .runtime.settings import Settings, setting
from .runtime.types import URL, ByteSize, Duration, HostPort, Secret

__all__ = [
    "URL",
    "Backoff",
    "ByteSize",
    "Command",
    "ConfigError",
    "Duration",
    "HealthCheck",
    "Helper",
    "HelperContext",
    "HelperError",
    "HostPort",
    "Problem",
    "Secret",
    "Settings",
    "__version__",
    "run_helper",
    "setting",
]

"""Which data path this install runs: a compiled install that silently lost a module is a
performance bug nobody would otherwise see."""

from __future__ import annotations

import importlib.util

from .tcp import poller

__all__ = ["COMPILED_MODULES", "data_path", "interpreted_modules", "poller_kind"]

# what ``SIDECARS_COMPILE=1`` compiles (setup.py lists the same files)
COMPILED_MODULES = (
    "http.client", "http.forwarding", "http.framing", "http.headers", "http.pool", "http.routing",
    "stats", "tcp.pump", "tcp.raw", "upstream.balancer", "upstream.cluster", "upstream.endpoint",
)  # fmt: skip


def interpreted_modules() -> list[str]:
    """The data path's modules that run from their ``.py`` source.

    Asks the import system where each module would load from rather than importing it:
    a tcp listener has no use for the http exchange, and importing it only to look at its
    file would keep its code in every Pod's memory.
    """
    found = []
    for name in COMPILED_MODULES:
        spec = importlib.util.find_spec(f"{__package__}.{name}")
        if spec is None or (spec.origin or "").endswith(".py"):
            found.append(name)
    return found


def data_path() -> str:
    """``compiled``, ``interpreted``, or ``partial`` when only some modules are compiled."""
    interpreted = len(interpreted_modules())
    if not interpreted:
        return "compiled"
    return "interpreted" if interpreted == len(COMPILED_MODULES) else "partial"


def poller_kind() -> str:
    """``c`` when tcp mode's poller and copier are the C ones of ``_poller.c``."""
    return "python" if poller.Poller.__module__ == poller.__name__ else "c"

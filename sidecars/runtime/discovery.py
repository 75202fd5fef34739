"""Find helpers through the ``sidecars.helpers`` entry-point group.

Built-in helpers register there too, so a third-party helper is found, listed, documented
and run exactly like ours.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .helper import Helper

__all__ = ["GROUP", "available", "load"]

GROUP = "sidecars.helpers"


def available() -> dict[str, EntryPoint]:
    """Registered helper names, sorted, each with its entry point (first one wins)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return dict(sorted(found.items()))


def load(name: str) -> type[Helper[Any]]:
    """Import the helper registered as ``name``; ``LookupError`` if there is none."""
    ep = available().get(name)
    if ep is None:
        raise LookupError(name)
    helper = ep.load()
    if not (isinstance(helper, type) and issubclass(helper, Helper)):
        raise TypeError(f"entry point {ep.value!r} for {name!r} is not a Helper subclass")
    return helper

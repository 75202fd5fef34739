"""Find helpers through the ``sidecars.helpers`` entry-point group.

Built-in helpers register there too, so a third-party helper is found, listed, documented
and run exactly like ours.
"""

from __future__ import annotations

from importlib import import_module
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
    """Import the helper registered as ``name``, or at ``package.module:Class``.

    The second form runs a helper that is not packaged yet. ``LookupError`` if there is none.
    """
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            helper = getattr(import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
            raise LookupError(name) from None
        except AttributeError:
            raise LookupError(name) from None
    else:
        ep = available().get(name)
        if ep is None:
            raise LookupError(name)
        helper = ep.load()
    if not (isinstance(helper, type) and issubclass(helper, Helper)):
        raise TypeError(f"{name!r} is not a Helper subclass")
    return helper

"""Find helpers through the ``sidecars.helpers`` entry-point group.

Built-in helpers register there too, so a third-party helper is found, listed, documented
and run exactly like ours. Running a built-in one skips the scan of every installed
package's metadata (a tenth of the start-up of ``sidecars waitfor``): ``BUILT_IN`` holds the
same targets as ``pyproject.toml``, and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from .helper import Helper
from .settings import Settings

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["BUILT_IN", "GROUP", "available", "lazy_names", "load", "load_settings"]

GROUP = "sidecars.helpers"
BUILT_IN = {
    "ambassador": "sidecars.ambassador:Ambassador",
    "gitsync": "sidecars.gitsync:GitSync",
    "injector": "sidecars.injector:Injector",
    "nginxlog": "sidecars.nginxlog:NginxLog",
    "waitfor": "sidecars.waitfor:WaitFor",
}
_BUILT_IN_SETTINGS = {
    "ambassador": "sidecars.ambassador.settings:AmbassadorSettings",
    "gitsync": "sidecars.gitsync.settings:GitSyncSettings",
    "injector": "sidecars.injector.settings:InjectorSettings",
    "nginxlog": "sidecars.nginxlog.settings:NginxLogSettings",
    "waitfor": "sidecars.waitfor.settings:WaitForSettings",
}


def available() -> dict[str, EntryPoint]:
    """Registered helper names, sorted, each with its entry point (first one wins)."""
    from importlib.metadata import entry_points

    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return dict(sorted(found.items()))


def load(name: str) -> type[Helper[Any]]:
    """Import the helper registered as ``name``, or at ``package.module:Class``.

    The second form runs a helper that is not packaged yet. ``LookupError`` if there is none.
    """
    if ":" not in name and name in BUILT_IN:
        name = BUILT_IN[name]
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


def load_settings(name: str) -> type[Settings]:
    """The settings class of the helper registered as ``name``. A built-in helper's comes
    from its settings module alone: the injector checks Pods against every helper's
    settings, and their implementations would cost it megabytes."""
    target = _BUILT_IN_SETTINGS.get(name)
    if target is None:
        return load(name).settings_class
    module, _, attr = target.partition(":")
    settings: type[Settings] = getattr(import_module(module), attr)
    return settings


def lazy_names(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A package's ``__getattr__`` that imports each name's module (``modules``: name ->
    submodule) on first use, so that a helper's settings load without the helper."""

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # the import statement's own path, so that ``-X importtime`` reports the module
        return getattr(__import__(f"{package}.{modules[name]}", fromlist=[name]), name)

    return __getattr__

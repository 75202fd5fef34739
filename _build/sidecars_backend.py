"""setuptools' build backend, asking for mypy only for a compiled build (``SIDECARS_COMPILE=1``,
setup.py): a pure install has no use for it."""

from __future__ import annotations

import os
from collections.abc import Callable

from setuptools import build_meta
from setuptools.build_meta import (
    build_editable,
    build_sdist,
    build_wheel,
    get_requires_for_build_sdist,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]

Config = dict[str, str | list[str]] | None


def _requires(hook: Callable[[Config], list[str]], config_settings: Config) -> list[str]:
    """setuptools' requirements, then mypy for a compiled build. setuptools finds its own by
    running setup.py, which imports mypyc when compiling: before mypy is installed, so that
    run is a pure one (the metadata is the same)."""
    compiled = os.environ.pop("SIDECARS_COMPILE", None)
    try:
        requires = hook(config_settings)
    finally:
        if compiled is not None:
            os.environ["SIDECARS_COMPILE"] = compiled
    return [*requires, "mypy>=1.10"] if compiled == "1" else requires


def get_requires_for_build_wheel(config_settings: Config = None) -> list[str]:
    """setuptools' own requirements, plus mypy (for mypyc) when ``SIDECARS_COMPILE=1``."""
    return _requires(build_meta.get_requires_for_build_wheel, config_settings)


def get_requires_for_build_editable(config_settings: Config = None) -> list[str]:
    """As for a wheel: ``SIDECARS_COMPILE=1 pip install -e .`` compiles too."""
    return _requires(build_meta.get_requires_for_build_editable, config_settings)

"""The C twins of the row counting and of the regex (``_tally.c``), when built.

They are built with ``SIDECARS_COMPILE=1`` only, as the images are; without them every
name here is None and the Python twins do the work.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable

from .logformat import Step

__all__ = ["add_rows", "count_lines", "scan_rows"]

_Rows = list[tuple[bytes, ...]]

AddRows = Callable[
    [
        _Rows,
        "Counter[bytes]",
        "tuple[int, ...] | None",
        "list[dict[bytes, int]]",
        "tuple[int, ...]",
    ],
    _Rows,
]
ScanRows = Callable[[tuple[Step, ...], int, bytes, int, _Rows, list[bytes]], int]
CountLines = Callable[
    [
        tuple[Step, ...],
        int,
        bytes,
        int,
        list[bytes],
        "Counter[bytes]",
        "tuple[int, ...] | None",
        "list[dict[bytes, int]]",
        "tuple[int, ...]",
    ],
    tuple[int, _Rows],
]


def _load() -> tuple[AddRows | None, ScanRows | None, CountLines | None]:
    try:
        module = importlib.import_module("sidecars.nginxlog._tally")
    except ImportError:
        return None, None, None
    add: AddRows = module.add_rows
    scan: ScanRows | None = getattr(module, "scan_rows", None)
    count: CountLines | None = getattr(module, "count_lines", None)
    return add, scan, count


add_rows, scan_rows, count_lines = _load()

"""Kubernetes resource quantities (``100m``, ``64Mi``, ``1e3``) as numbers, to compare them.

Floats, not ``decimal``: only requests and limits are compared, and ``decimal`` would be
the one module the injector loads for it (0.3 MB).
"""

from __future__ import annotations

__all__ = ["quantity"]

_SUFFIXES = {
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}
_BY_LENGTH = sorted(_SUFFIXES, key=len, reverse=True)


def quantity(text: str) -> float:
    """The value of a quantity; ``ValueError`` if ``text`` is not one."""
    text = text.strip()
    number, scale = text, 1.0
    for suffix in _BY_LENGTH:
        if text.endswith(suffix):
            number, scale = text[: -len(suffix)], _SUFFIXES[suffix]
            break
    return float(number) * scale

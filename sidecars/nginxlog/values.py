"""What a captured field's raw bytes become: a label value or a number of seconds.

Each raises ``ValueError`` with words an operator can act on; callers cache the result per
distinct raw value.
"""

from __future__ import annotations

import json
from collections.abc import Callable

__all__ = ["CONVERTERS", "JSON_CONVERTERS", "seconds", "unescape_json"]

METHODS = frozenset(
    ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
)


def seconds(raw: bytes) -> float | None:
    """``0.123``, or the sum of a list such as ``0.1, 0.2 : 0.3``; ``-`` entries skipped."""
    if b"," not in raw and b":" not in raw:
        if raw in (b"-", b""):
            return None
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"time {raw[:40]!r} is not a number") from None
    total, seen = 0.0, False
    for part in raw.replace(b":", b",").split(b","):
        part = part.strip()
        if part and part != b"-":
            try:
                total += float(part)
            except ValueError:
                raise ValueError(f"time {raw[:40]!r} is not a list of numbers") from None
            seen = True
    return total if seen else None


def _method(raw: bytes) -> str:
    text = raw.decode("ascii", "replace")
    return text if text in METHODS else "other"


def _status(raw: bytes) -> str:
    if len(raw) != 3 or not raw.isdigit():
        raise ValueError(f"status {raw[:40]!r} is not three digits")
    return raw.decode()


def _status_class(raw: bytes) -> str:
    return _status(raw)[0] + "xx"


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


CONVERTERS: dict[str, Callable[[bytes], str]] = {
    "method": _method,
    "status": _status,
    "status_class": _status_class,
    "host": _text,
    "upstream": _text,
}


def unescape_json(text: str) -> str:
    """A value as ``log_format ... escape=json`` wrote it, unescaped (``\\"``, ``\\\\``,
    ``\\u0001``); text that is not valid JSON string content is left as it is."""
    if "\\" not in text:
        return text
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _json_text(raw: bytes) -> str:
    return unescape_json(raw.decode("utf-8", "replace"))


JSON_CONVERTERS: dict[str, Callable[[bytes], str]] = {"host": _json_text, "upstream": _json_text}
"""Converters that differ when the format has ``escape=json``."""

"""Value types that settings can be declared with, and their parsers.

Each parser takes the raw environment string and raises ``ValueError`` with no message;
the settings layer words the error from the type's ``expected`` text, so every variable of
one type is explained the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from yarl import URL

__all__ = ["URL", "ByteSize", "Duration", "HostPort", "Secret"]

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


class Duration(float):
    """A span of time in seconds, written ``500ms``, ``10s``, ``2m``, ``1h`` or ``1m30s``."""

    expected: ClassVar[str] = "a duration such as 500ms, 10s, 2m, 1h or 1m30s"

    @classmethod
    def parse(cls, text: str) -> Duration:
        text = text.strip()
        if text == "0":
            return cls(0.0)
        pos, total = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                raise ValueError
            total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos == 0 or pos != len(text):
            raise ValueError
        return cls(total)

    def __str__(self) -> str:
        seconds = float(self)
        if seconds == 0:
            return "0s"
        for unit in ("h", "m", "s"):
            size = _DURATION_UNITS[unit]
            if seconds >= size and (seconds / size).is_integer():
                return f"{int(seconds / size)}{unit}"
        if seconds < 1 and (seconds * 1000).is_integer():
            return f"{int(seconds * 1000)}ms"
        return f"{seconds:g}s"


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "ki": 1024,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mi": 1024**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gi": 1024**3,
    "gib": 1024**3,
}


class ByteSize(int):
    """A number of bytes, written ``1024``, ``64KiB``, ``10MB``, ``1Gi`` (Kubernetes style too)."""

    expected: ClassVar[str] = "a byte size such as 1024, 64KiB, 10MB or 1Gi"

    @classmethod
    def parse(cls, text: str) -> ByteSize:
        match = _SIZE.fullmatch(text.strip())
        if not match or match.group(2).lower() not in _SIZE_UNITS:
            raise ValueError
        value = float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]
        if not value.is_integer():
            raise ValueError
        return cls(int(value))


@dataclass(frozen=True, slots=True)
class HostPort:
    """A network address: ``host:port``, ``[::1]:80`` or ``:8080`` (every interface)."""

    host: str
    port: int

    expected: ClassVar[str] = "host:port, such as 127.0.0.1:8080, [::1]:8080 or :8080"

    @classmethod
    def parse(cls, text: str) -> HostPort:
        text = text.strip()
        host, sep, port_text = text.rpartition(":")
        if not sep or not port_text.isdigit():
            raise ValueError
        if host.startswith("["):
            if not host.endswith("]"):
                raise ValueError
            host = host[1:-1]
        elif ":" in host:
            raise ValueError
        port = int(port_text)
        if port > 65535:
            raise ValueError
        return cls(host, port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class Secret(str):
    """A string that never shows in logs or reprs; also readable from ``<VARIABLE>_FILE``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('****')"


def parse_url(text: str) -> URL:
    from yarl import URL

    url = URL(text.strip())
    if not url.is_absolute() and url.scheme != "file":
        raise ValueError
    if not url.scheme:
        raise ValueError
    return url


URL_EXPECTED = "an absolute URL such as http://127.0.0.1:8080/path"


def is_url(kind: Any) -> bool:
    """Whether ``kind`` is yarl's ``URL``, without importing yarl for helpers that have none."""
    return getattr(kind, "__module__", "").startswith("yarl") and kind.__name__ == "URL"


def __getattr__(name: str) -> Any:
    if name == "URL":  # yarl loads for the helpers that declare a URL setting, not for all
        from yarl import URL

        return URL
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

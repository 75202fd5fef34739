"""What a listener asks of the connections it accepted, whichever path serves them."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Connection"]


class Connection(Protocol):
    """An accepted connection as the listener sees it: counted while open, swept for
    limits, drained and cut at shutdown. http mode's client (``http.client.HttpClient``),
    tcp mode's (``tcp.client.TcpClient``) and the raw path's (``tcp.raw.RawConnection``)
    all are one; the listener imports none of them to use them."""

    @property
    def bytes_in(self) -> int:
        """Bytes read from the client so far."""
        ...

    @property
    def bytes_out(self) -> int:
        """Bytes written to the client so far."""
        ...

    @property
    def tuned(self) -> bool:
        """Whether ``tune()`` has run (or nothing was left to tune)."""
        ...

    def tune(self) -> None:
        """Socket options set from the listener's sweep rather than per accept."""

    def expired(self, now: float) -> str | None:
        """The limit (``idle``, ``age``, ``header``, …) past at ``now``, or ``None``."""

    def time_out(self, reason: str) -> None:
        """End the connection for ``reason``, which ``expired`` returned."""

    def idle_between_requests(self) -> bool:
        """Closing now loses nothing: true only for an http client waiting for a next
        request; tcp connections never are."""

    def close(self) -> None:
        """Close gracefully, what is buffered sent first."""

    def abort(self) -> None:
        """Close at once."""

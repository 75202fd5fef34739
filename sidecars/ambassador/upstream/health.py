"""Active health checks: an endpoint is healthy when it takes a connection (``tcp``), or
answers a GET with a 2xx or 3xx status (``http``), within the connect timeout."""

from __future__ import annotations

import asyncio
import ssl

from ..settings import AmbassadorSettings
from .endpoint import Endpoint

__all__ = ["probe"]


async def probe(
    endpoint: Endpoint,
    settings: AmbassadorSettings,
    context: ssl.SSLContext | None,
    server_name: str | None,
) -> bool:
    """One check of ``endpoint`` (over TLS when ``context`` is given); False on any failure."""
    writer = None
    try:
        async with asyncio.timeout(settings.connect_timeout or None):
            reader, writer = await asyncio.open_connection(
                endpoint.host, endpoint.port, ssl=context, server_hostname=server_name
            )
            if settings.health_check != "http":
                return True
            host = server_name or endpoint.server_name
            writer.write(
                f"GET {settings.health_check_path} HTTP/1.1\r\nHost: {host}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            parts = (await reader.readline()).split()
            return len(parts) >= 2 and parts[1][:1] in (b"2", b"3")
    except (OSError, TimeoutError, ssl.SSLError, ValueError):
        return False
    finally:
        if writer is not None:
            writer.close()

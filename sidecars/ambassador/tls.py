"""TLS contexts: origination towards upstreams, and termination on a listener (hot reloaded)."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from pathlib import Path

from sidecars import ConfigError

from .settings import AmbassadorSettings

__all__ = ["ServerTLS", "client_context"]

_RELOAD_CHECK = 2.0


def client_context(settings: AmbassadorSettings) -> ssl.SSLContext:
    """Verification on by default; ``tls_insecure`` is the explicit way out."""
    try:
        context = ssl.create_default_context(
            cafile=str(settings.tls_ca_file) if settings.tls_ca_file else None
        )
        if settings.tls_insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if settings.tls_cert_file and settings.tls_key_file:
            context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{settings.prefix}TLS_*: cannot load the TLS files: {exc}") from None
    return context


class ServerTLS:
    """One server context whose certificate is reloaded in place when its files change.

    Loading into the same ``SSLContext`` makes new handshakes use the new certificate while
    the listening socket and the connections already open stay as they are.
    """

    def __init__(self, cert: Path, key: Path, log: logging.Logger) -> None:
        self.cert, self.key, self.log = cert, key, log
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._stamp = self._mtimes()
        try:
            self.context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the listener certificate {cert}: {exc}") from None

    def _mtimes(self) -> tuple[float, float]:
        try:
            return os.stat(self.cert).st_mtime, os.stat(self.key).st_mtime
        except OSError:
            return 0.0, 0.0

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(_RELOAD_CHECK)
            stamp = self._mtimes()
            if stamp == self._stamp or stamp == (0.0, 0.0):
                continue
            self._stamp = stamp
            try:
                self.context.load_cert_chain(self.cert, self.key)
            except (OSError, ssl.SSLError) as exc:
                self.log.warning(
                    "listener certificate reload failed, keeping the old one",
                    extra={"cert": str(self.cert), "error": str(exc)},
                )
                continue
            self.log.info("listener certificate reloaded", extra={"cert": str(self.cert)})

"""The serving certificate: loaded from files into one live ``SSLContext``, reloaded in place.

A reload calls ``load_cert_chain`` on the context the server already uses: handshakes that
start afterwards present the new certificate, connections already open keep theirs, and
nothing stops listening. A new pair is first tried on a scratch context, because loading a
certificate whose key does not match would leave the live context with no usable key.
The bytes checked are the bytes loaded (read once, handed over through anonymous memory
files), so a rotation caught half-written is refused rather than half-applied.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sidecars import ConfigError, Problem

from .expiry import not_after

__all__ = ["ServingCertificate"]


class ServingCertificate:
    def __init__(self, cert_path: Path, key_path: Path) -> None:
        self.cert_path = cert_path
        self.key_path = key_path
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.set_alpn_protocols(["http/1.1"])
        self.expires_at = 0.0
        self._loaded: tuple[bytes, bytes] | None = None
        self._refused: tuple[bytes, bytes] | None = None

    def load(self) -> bool:
        """Load the files if they changed; ``True`` if a new pair is now served.

        Raises ``ConfigError`` naming the file and the problem; the context keeps the
        pair it had.
        """
        cert = _read("INJECTOR_TLS_CERT", self.cert_path)
        key = _read("INJECTOR_TLS_KEY", self.key_path)
        if (cert, key) in (self._loaded, self._refused):
            return False
        self._refused = (cert, key)  # until it proves good: a bad pair is reported once
        try:
            expires = not_after(cert)
        except ValueError as exc:
            raise ConfigError(
                [Problem("INJECTOR_TLS_CERT", str(self.cert_path), f"not a PEM certificate: {exc}")]
            ) from None
        with _memory_files(cert, key) as (cert_file, key_file):
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(
                    cert_file, key_file, password=_no_password
                )
            except ssl.SSLError as exc:
                raise ConfigError(
                    [
                        Problem(
                            "INJECTOR_TLS_KEY",
                            str(self.key_path),
                            f"unusable with {self.cert_path}: {exc.reason or exc}",
                        )
                    ]
                ) from None
            self.context.load_cert_chain(cert_file, key_file, password=_no_password)
        self._loaded, self._refused = (cert, key), None
        self.expires_at = expires
        return True


def _read(variable: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [Problem(variable, str(path), f"cannot read it: {exc.strerror}")]
        ) from None


def _no_password() -> str:
    """An encrypted key fails to load instead of prompting on a terminal."""
    return ""


@contextlib.contextmanager
def _memory_files(*contents: bytes) -> Iterator[list[str]]:
    """Paths that read back ``contents``: memfd on Linux (no writable disk needed)."""
    if hasattr(os, "memfd_create"):
        fds = [os.memfd_create("injector-tls", 0) for _ in contents]
        try:
            for fd, data in zip(fds, contents, strict=True):
                with open(fd, "wb", closefd=False) as handle:
                    handle.write(data)
            yield [f"/proc/self/fd/{fd}" for fd in fds]
        finally:
            for fd in fds:
                os.close(fd)
        return
    with tempfile.TemporaryDirectory() as directory:  # pragma: no cover - not Linux
        paths = []
        for index, data in enumerate(contents):
            path = Path(directory, str(index))
            path.write_bytes(data)
            paths.append(str(path))
        yield paths

"""TLS origination (CA verification, SNI, client certificates) and listener termination."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

from sidecars.testing import free_port

from .conftest import (
    ambassador,
    echo,
    echo_until_eof,
    send_then_half_close,
    wait_for,
)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(directory: Path, name: str) -> Path:
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "1", "-subj", f"/CN={name}",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",  # Python 3.13 checks it (X509_STRICT)
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem"


def make_cert(directory: Path, ca: str, name: str, san: str) -> tuple[Path, Path]:
    (directory / f"{name}.ext").write_text(
        f"subjectAltName={san}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem", directory / f"{name}.key"


async def _roundtrip(port: int, **kwargs: Any) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, **kwargs)
    try:
        writer.write(b"ping")
        async with asyncio.timeout(10):
            return await reader.read(4)
    finally:
        writer.close()


async def test_origination_verifies_the_upstream_and_presents_a_client_cert(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "ca")
    make_ca(tmp_path, "other")
    server_cert, server_key = make_cert(tmp_path, "ca", "server", "DNS:upstream.test")
    client_cert, client_key = make_cert(tmp_path, "ca", "client", "DNS:client.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca))
    context.load_cert_chain(server_cert, server_key)
    context.verify_mode = ssl.CERT_REQUIRED  # mTLS: the ambassador must show its certificate
    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=context)
    upstream = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    good, wrong_ca = free_port(), free_port()
    common = {
        "AMBASSADOR_UPSTREAMS": upstream,
        "AMBASSADOR_TLS": "true",
        "AMBASSADOR_TLS_SERVER_NAME": "upstream.test",
        "AMBASSADOR_TLS_CERT_FILE": str(client_cert),
        "AMBASSADOR_TLS_KEY_FILE": str(client_key),
    }
    async with (
        server,
        ambassador({**common, "AMBASSADOR_LISTEN": f"127.0.0.1:{good}",
                    "AMBASSADOR_TLS_CA_FILE": str(ca)}),
        ambassador({**common, "AMBASSADOR_LISTEN": f"127.0.0.1:{wrong_ca}",
                    "AMBASSADOR_TLS_CA_FILE": str(tmp_path / "other.pem")}) as refused,
    ):  # fmt: skip
        assert await _roundtrip(good) == b"ping"
        assert await _roundtrip(wrong_ca) == b""
        errors = await refused.sample("ambassador_upstream_connect_errors_total", endpoint=upstream)
        assert errors is not None
        assert errors >= 1


async def test_listener_terminates_tls_and_reloads_its_certificate(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "ca")
    first_cert, first_key = make_cert(tmp_path, "ca", "first", "IP:127.0.0.1")
    live_cert, live_key = tmp_path / "live.pem", tmp_path / "live.key"
    live_cert.write_bytes(first_cert.read_bytes())
    live_key.write_bytes(first_key.read_bytes())
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    upstream = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": upstream,
        "AMBASSADOR_LISTEN_TLS_CERT_FILE": str(live_cert),
        "AMBASSADOR_LISTEN_TLS_KEY_FILE": str(live_key),
    }
    client = ssl.create_default_context(cafile=str(ca))

    async def served_name() -> str:
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
        cert = writer.get_extra_info("peercert")
        writer.close()
        return str(dict(x[0] for x in cert["subject"])["commonName"])

    async with server, ambassador(env):
        assert await _roundtrip(port, ssl=client) == b"ping"
        assert await served_name() == "first"
        second_cert, second_key = make_cert(tmp_path, "ca", "second", "IP:127.0.0.1")
        live_key.write_bytes(second_key.read_bytes())
        live_cert.write_bytes(second_cert.read_bytes())
        stamp = os.stat(live_cert).st_mtime + 5
        os.utime(live_cert, (stamp, stamp))

        async def reloaded() -> bool:
            return await served_name() == "second"

        await wait_for(reloaded, limit=15, what="the new certificate to be served")


def _serve_until_eof(context: ssl.SSLContext) -> tuple[int, threading.Thread, list[str]]:
    """A blocking TLS server (one connection): reads to the client's close_notify, then
    answers with the size it got. Independent of the ambassador's own TLS code."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    seen: list[str] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(20)
                received = 0
                for _ in range(100_000):
                    chunk = tls.recv(65536)
                    if not chunk:
                        seen.append("close_notify")
                        break
                    received += len(chunk)
                tls.sendall(b"got %d bytes" % received)
                tls.unwrap()
        except (OSError, ssl.SSLError) as exc:
            seen.append(repr(exc))
        finally:
            listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, seen


def _half_closing_client(port: int, context: ssl.SSLContext, payload: bytes) -> bytes:
    """A TLS client on memory BIOs over a blocking socket: sends ``payload`` and its
    close_notify, then reads the answer up to the server's close_notify."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")

    def step(call: Any) -> Any:
        for _ in range(10_000):
            try:
                result = call()
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                data = sock.recv(65536)
                if data:
                    incoming.write(data)
                else:
                    incoming.write_eof()
                continue
            sock.sendall(outgoing.read())
            return result
        raise AssertionError("TLS exchange did not finish")

    with sock:
        step(tls.do_handshake)
        tls.write(payload)
        with contextlib.suppress(ssl.SSLWantReadError):
            tls.unwrap()
        sock.sendall(outgoing.read())
        answer = b""
        for _ in range(10_000):
            try:
                chunk = step(lambda: tls.read(65536))
            except ssl.SSLZeroReturnError:
                break
            if not chunk:
                break
            answer += chunk
    return bytes(answer)


async def test_client_half_close_reaches_a_tls_upstream_as_close_notify(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "ca")
    cert, key = make_cert(tmp_path, "ca", "server", "DNS:upstream.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    upstream, thread, seen = _serve_until_eof(context)
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{upstream}",
        "AMBASSADOR_TLS": "true",
        "AMBASSADOR_TLS_SERVER_NAME": "upstream.test",
        "AMBASSADOR_TLS_CA_FILE": str(ca),
    }
    async with ambassador(env):
        answer = await send_then_half_close(port, 300_000)
    await asyncio.to_thread(thread.join, 20)
    assert seen == ["close_notify"]
    assert answer == b"got 300000 bytes"


async def test_close_notify_from_a_tls_client_reaches_the_upstream_as_eof(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "ca")
    cert, key = make_cert(tmp_path, "ca", "listener", "IP:127.0.0.1")
    server = await asyncio.start_server(echo_until_eof, "127.0.0.1", 0)
    port = free_port()
    env = {
        "AMBASSADOR_LISTEN": f"127.0.0.1:{port}",
        "AMBASSADOR_UPSTREAMS": f"127.0.0.1:{server.sockets[0].getsockname()[1]}",
        "AMBASSADOR_LISTEN_TLS_CERT_FILE": str(cert),
        "AMBASSADOR_LISTEN_TLS_KEY_FILE": str(key),
    }
    client = ssl.create_default_context(cafile=str(ca))
    async with server, ambassador(env):
        answer = await asyncio.to_thread(_half_closing_client, port, client, b"y" * 200_000)
    assert answer == b"got 200000 bytes"

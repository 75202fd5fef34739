"""``sidecars injector certs``: a CA and a serving certificate for the webhook's Service.

For clusters without cert-manager. The CA's key is used once and never written, so the
only way to a new serving certificate is to run this again and update the ``caBundle``;
the files are written next to each other atomically (temporary name, then rename).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["certs_command", "issue"]

_FILES = ("ca.crt", "tls.crt", "tls.key")


def certs_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="sidecars injector certs",
        description="Write ca.crt, tls.crt and tls.key for the webhook Service into DIR and "
        "print the caBundle (base64 of ca.crt) for the MutatingWebhookConfiguration.",
    )
    parser.add_argument("--service", required=True, help="Service name, e.g. sidecars-injector")
    parser.add_argument("--namespace", required=True, help="Namespace of the Service")
    parser.add_argument("--out", required=True, type=Path, help="Directory to write into")
    parser.add_argument("--days", type=int, default=365, help="Validity (default 365)")
    parser.add_argument("--dns", action="append", default=[], help="Extra DNS name (repeat)")
    parser.add_argument("--ip", action="append", default=[], help="Extra IP address (repeat)")
    parser.add_argument("--force", action="store_true", help="Replace existing files")
    args = parser.parse_args(list(argv))
    try:
        ips = [ipaddress.ip_address(text) for text in args.ip]
    except ValueError as exc:
        print(f"sidecars injector certs: --ip: {exc}", file=sys.stderr)
        return 2
    if args.days < 1:
        print("sidecars injector certs: --days must be at least 1", file=sys.stderr)
        return 2
    existing = [name for name in _FILES if (args.out / name).exists()]
    if existing and not args.force:
        print(
            f"sidecars injector certs: {args.out} already has {', '.join(existing)}; "
            "use --force to replace them",
            file=sys.stderr,
        )
        return 2
    names = [
        args.service,
        f"{args.service}.{args.namespace}",
        f"{args.service}.{args.namespace}.svc",
        f"{args.service}.{args.namespace}.svc.cluster.local",
        *args.dns,
    ]
    ca_pem, cert_pem, key_pem = issue(names, ips, days=args.days)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        _write_all(args.out, {"ca.crt": ca_pem, "tls.crt": cert_pem, "tls.key": key_pem})
    except OSError as exc:
        print(f"sidecars injector certs: cannot write to {args.out}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {', '.join(_FILES)} to {args.out} for {names[2]}", file=sys.stderr)
    print(base64.b64encode(ca_pem).decode())
    return 0


def issue(
    dns_names: Sequence[str],
    ips: Sequence[ipaddress.IPv4Address | ipaddress.IPv6Address] = (),
    *,
    days: int = 365,
) -> tuple[bytes, bytes, bytes]:
    """A fresh CA and a serving certificate signed by it: (ca.crt, tls.crt, tls.key) as PEM.

    ECDSA P-256 keys: small, fast handshakes, accepted by every Kubernetes API server.
    """
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sidecars injector CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    alt_names += [x509.IPAddress(ip) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = serialization.Encoding.PEM
    return ca.public_bytes(pem), cert.public_bytes(pem), key_pem


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_all(directory: Path, files: dict[str, bytes]) -> None:
    """Each file is complete under a temporary name before any takes its real name."""
    staged = []
    try:
        for name, data in files.items():
            temporary = directory / f".{name}.tmp"
            mode = 0o600 if name.endswith(".key") else 0o644
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with open(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            staged.append((temporary, directory / name))
        for temporary, final in staged:
            os.replace(temporary, final)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)

"""``sidecars injector certs``: a CA and serving certificate the webhook and API server accept."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

from cryptography import x509

from .harness import injector
from .kube import patch_of, pod, review


def certs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidecars", "injector", "certs", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_writes_a_ca_and_a_serving_certificate_for_the_service(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = certs("--service", "sidecars-injector", "--namespace", "infra", "--out", str(out))
    assert done.returncode == 0, done.stderr
    ca_pem = (out / "ca.crt").read_bytes()
    assert base64.b64decode(done.stdout.strip()) == ca_pem, "stdout is the caBundle alone"
    assert stat.S_IMODE(os.stat(out / "tls.key").st_mode) == 0o600
    ca = x509.load_pem_x509_certificate(ca_pem)
    cert = x509.load_pem_x509_certificate((out / "tls.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [
        "sidecars-injector",
        "sidecars-injector.infra",
        "sidecars-injector.infra.svc",
        "sidecars-injector.infra.svc.cluster.local",
    ]
    assert not list(out.glob(".*.tmp"))


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert certs("--service", "s", "--namespace", "n", "--out", str(tmp_path)).returncode == 0
    before = (tmp_path / "tls.key").read_bytes()
    done = certs("--service", "s", "--namespace", "n", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "use --force" in done.stderr
    assert (tmp_path / "tls.key").read_bytes() == before
    assert (
        certs("--service", "s", "--namespace", "n", "--out", str(tmp_path), "--force").returncode
        == 0
    )
    assert (tmp_path / "tls.key").read_bytes() != before


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    done = certs("--service", "s", "--namespace", "n", "--out", str(tmp_path), "--ip", "nope")
    assert done.returncode == 2
    assert "--ip" in done.stderr
    assert certs("--service", "s").returncode == 2


async def test_the_injector_serves_what_it_generated(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = certs(
        "--service",
        "s",
        "--namespace",
        "n",
        "--out",
        str(out),
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
    )
    assert done.returncode == 0, done.stderr
    ca, cert, key = ((out / name).read_bytes() for name in ("ca.crt", "tls.crt", "tls.key"))
    async with injector(tmp_path / "run", pair=(ca, cert, key)) as hook:
        status, answer = await hook.post(review(pod("deployment")))
        assert status == 200
        assert patch_of(answer)

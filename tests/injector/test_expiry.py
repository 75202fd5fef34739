"""notAfter read from DER by hand, held to the cryptography library on the same bytes."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecars.injector.expiry import not_after

from .harness import new_pair

KEY = ec.generate_private_key(ec.SECP256R1())
NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook")])


def certificate(after: datetime.datetime, serial: int, version_one: bool = False) -> bytes:
    builder = (
        x509.CertificateBuilder()
        .subject_name(NAME)
        .issuer_name(NAME)
        .public_key(KEY.public_key())
        .serial_number(serial)
        .not_valid_before(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(after)
    )
    if not version_one:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    cert = builder.sign(KEY, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(
        min_value=datetime.datetime(2001, 1, 1),
        max_value=datetime.datetime(9998, 12, 31),
    ),
    st.integers(min_value=1, max_value=2**159 - 1),
)
def test_agrees_with_cryptography(after: datetime.datetime, serial: int) -> None:
    after = after.replace(microsecond=0, tzinfo=datetime.UTC)
    pem = certificate(after, serial)
    expected = x509.load_pem_x509_certificate(pem).not_valid_after_utc.timestamp()
    assert not_after(pem) == expected == after.timestamp()  # UTCTime and GeneralizedTime


def test_the_issued_chain_and_its_first_certificate() -> None:
    _, chain, _ = new_pair(days=3)
    expected = x509.load_pem_x509_certificate(chain).not_valid_after_utc.timestamp()
    assert not_after(chain) == expected


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n-----END CERTIFICATE-----\n",
    ],
)
def test_garbage_is_a_value_error(text: bytes) -> None:
    with pytest.raises(ValueError, match=r"certificate|truncated|base64|BEGIN"):
        not_after(text)

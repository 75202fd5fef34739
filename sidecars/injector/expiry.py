"""When a PEM certificate expires, read from its DER without an X.509 library.

Only ``notAfter`` is needed, and importing ``cryptography.x509`` for it costs every
injector 8.4 MB of memory; the walk to that field is six DER headers (RFC 5280, 4.1).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re

__all__ = ["not_after"]

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.S)
_SEQUENCE, _INTEGER, _VERSION, _UTC_TIME, _GENERALIZED_TIME = 0x30, 0x02, 0xA0, 0x17, 0x18


def not_after(pem: bytes) -> float:
    """Unix time at which the first certificate in ``pem`` expires; ``ValueError`` if
    there is no readable certificate."""
    try:
        return _not_after(pem)
    except (IndexError, UnicodeDecodeError):
        raise ValueError("truncated or garbled certificate") from None


def _not_after(pem: bytes) -> float:
    match = _PEM.search(pem)
    if match is None:
        raise ValueError("no -----BEGIN CERTIFICATE----- block")
    try:
        der = base64.b64decode(match.group(1), validate=False)
    except binascii.Error as exc:
        raise ValueError(f"bad base64: {exc}") from None
    cert = _inside(der, 0, _SEQUENCE)
    tbs = _inside(der, cert, _SEQUENCE)
    position = tbs
    if der[position] == _VERSION:
        position = _skip(der, position)
    for tag in (_INTEGER, _SEQUENCE, _SEQUENCE):  # serial, signature algorithm, issuer
        if der[position] != tag:
            raise ValueError("not an X.509 certificate")
        position = _skip(der, position)
    validity = _inside(der, position, _SEQUENCE)
    after = _skip(der, validity)  # past notBefore
    tag = der[after]
    start, end = _header(der, after)
    text = der[start:end].decode("ascii")
    if tag == _UTC_TIME and len(text) == 13 and text.endswith("Z"):
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif not (tag == _GENERALIZED_TIME and len(text) == 15 and text.endswith("Z")):
        raise ValueError(f"unexpected notAfter encoding {text!r}")
    fields = (text[0:4], text[4:6], text[6:8], text[8:10], text[10:12], text[12:14])
    year, month, day, hour, minute, second = (int(part) for part in fields)
    return float(calendar.timegm((year, month, day, hour, minute, second)))


def _header(der: bytes, position: int) -> tuple[int, int]:
    """(start, end) of the value of the element at ``position``."""
    if position + 2 > len(der):
        raise ValueError("truncated certificate")
    length = der[position + 1]
    start = position + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or start + count > len(der):
            raise ValueError("bad DER length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    if start + length > len(der):
        raise ValueError("truncated certificate")
    return start, start + length


def _inside(der: bytes, position: int, tag: int) -> int:
    if position >= len(der) or der[position] != tag:
        raise ValueError("not an X.509 certificate")
    return _header(der, position)[0]


def _skip(der: bytes, position: int) -> int:
    return _header(der, position)[1]

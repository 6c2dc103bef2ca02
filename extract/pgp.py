"""PGP public keys on vendor pages: fingerprints from armored key blocks and from printed ones.

A vendor's PGP key is how analysts tie one vendor's accounts across markets.
Fingerprints of armored keys are computed from the key packet itself (RFC 4880
v4: SHA-1; RFC 9580 v6: SHA-256), so a key pasted without its fingerprint still
links; printed fingerprints are read when labelled as such.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re

_BLOCK = re.compile(r"-----BEGIN PGP PUBLIC KEY BLOCK-----(.*?)-----END PGP PUBLIC KEY BLOCK-----", re.S)
# "Fingerprint: 8F3A 51C2 ... D2C4": 40 hex digits, in groups or not, after the word.
_PRINTED = re.compile(r"fingerprint\s*[:=]?\s*((?:[0-9A-Fa-f]{4}\s*){10})(?![0-9A-Fa-f])", re.I)
_PUBLIC_KEY_TAG = 6


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{20,}={0,2}")


def _dearmor(armored: str) -> bytes | None:
    """The key bytes of an armored block, whether its lines survived or were folded into one.

    Armor headers ("Version: GnuPG v2") are short words; the body is a run of
    long base64 lines up to the "=XXXX" checksum line.
    """
    tokens = armored.split()
    start = next((i for i, token in enumerate(tokens) if _BASE64_RUN.fullmatch(token)), None)
    if start is None:
        return None
    end = next((i for i in range(start, len(tokens)) if tokens[i].startswith("=") and len(tokens[i]) == 5), len(tokens))
    try:
        return base64.b64decode("".join(tokens[start:end]), validate=True)
    except (binascii.Error, ValueError):
        return None


def _first_packet(data: bytes) -> tuple[int, bytes] | None:
    """Tag and body of the first OpenPGP packet (old or new header format)."""
    if not data or not data[0] & 0x80:
        return None
    if data[0] & 0x40:  # new format
        tag, pos = data[0] & 0x3F, 1
        first = data[pos]
        if first < 192:
            length, pos = first, pos + 1
        elif first < 224:
            length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
        elif first == 255:
            length, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
        else:
            return None  # partial lengths never occur in key packets
    else:
        tag, length_type, pos = (data[0] >> 2) & 0x0F, data[0] & 0x03, 1
        size = {0: 1, 1: 2, 2: 4}.get(length_type)
        if size is None:
            return None
        length, pos = int.from_bytes(data[pos:pos + size], "big"), pos + size
    body = data[pos:pos + length]
    return (tag, body) if len(body) == length else None


def key_fingerprint(armored: str) -> str | None:
    """Uppercase hex fingerprint of the primary key in an armored public key block."""
    data = _dearmor(armored)
    packet = _first_packet(data) if data else None
    if packet is None or packet[0] != _PUBLIC_KEY_TAG or not packet[1]:
        return None
    body = packet[1]
    if body[0] == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if body[0] == 6:
        return hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    return None


def find_fingerprints(text: str) -> list[str]:
    """Fingerprints of every key block in ``text``, then every printed fingerprint, each once."""
    found: list[str] = []
    for block in _BLOCK.finditer(text):
        fingerprint = key_fingerprint(block.group(1))
        if fingerprint and fingerprint not in found:
            found.append(fingerprint)
    for printed in _PRINTED.finditer(text):
        fingerprint = re.sub(r"\s+", "", printed.group(1)).upper()
        if fingerprint not in found:
            found.append(fingerprint)
    return found

"""Cryptocurrency addresses in page text, kept only when their checksum holds.

A string that merely looks like an address is not evidence; a checksum-valid
one is (a typo or a made-up string fails the check). Base58Check comes from
``base58``, bech32 from the reference ``bech32`` module (bech32m per BIP-350 is
the same polymod with another constant), Keccak-256 from ``pycryptodome``.
"""
from __future__ import annotations

import re
import base58
import bech32
from Crypto.Hash import keccak

_BECH32M_CONST = 0x2BC830A3
_CANDIDATES = re.compile(
    r"\b(?:"
    r"(?:bc1|ltc1)[02-9ac-hj-np-z]{8,87}"  # segwit (lower case as written)
    r"|(?:BC1|LTC1)[02-9AC-HJ-NP-Z]{8,87}"
    r"|[13LM][1-9A-HJ-NP-Za-km-z]{25,34}"  # BTC/LTC Base58Check
    r"|T[1-9A-HJ-NP-Za-km-z]{33}"  # Tron
    r"|[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?"  # Monero standard / integrated
    r"|0x[0-9a-fA-F]{40}"  # Ethereum
    r")\b"
)
_BASE58_VERSIONS = {0x00: "BTC", 0x05: "BTC", 0x30: "LTC", 0x32: "LTC", 0x41: "TRX"}


def _keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def _base58check(address: str) -> str | None:
    try:
        raw = base58.b58decode_check(address)
    except ValueError:
        return None
    if len(raw) != 21:
        return None
    chain = _BASE58_VERSIONS.get(raw[0])
    if chain == "TRX" and not address.startswith("T"):
        return None
    return chain


def _segwit(address: str) -> str | None:
    """bech32 for witness version 0 (BIP-173), bech32m for 1 and above (BIP-350)."""
    hrp, _, rest = address.lower().rpartition("1")
    if hrp not in ("bc", "ltc") or len(rest) < 7:
        return None
    try:
        data = [bech32.CHARSET.index(char) for char in rest]
    except ValueError:
        return None
    constant = bech32.bech32_polymod(bech32.bech32_hrp_expand(hrp) + data)
    data = data[:-6]
    version = data[0]
    if constant != (1 if version == 0 else _BECH32M_CONST) or version > 16:
        return None
    program = bech32.convertbits(data[1:], 5, 8, False)
    if program is None or not 2 <= len(program) <= 40 or (version == 0 and len(program) not in (20, 32)):
        return None
    return {"bc": "BTC", "ltc": "LTC"}[hrp]


def _ethereum(address: str) -> bool:
    digits = address[2:]
    if digits == digits.lower() or digits == digits.upper():
        return True  # all one case carries no EIP-55 checksum
    expected = _keccak256(digits.lower().encode("ascii")).hex()
    return all(
        (char.upper() if int(expected[i], 16) >= 8 else char.lower()) == char
        for i, char in enumerate(digits)
    )


def _monero_decode(address: str) -> bytes | None:
    """Monero's base58: 8-byte blocks of 11 characters, the last block shorter."""
    sizes = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
    out = bytearray()
    for start in range(0, len(address), 11):
        block = address[start:start + 11]
        size = sizes.get(len(block))
        if size is None:
            return None
        value = base58.b58decode_int(block)
        if value >= 1 << (8 * size):
            return None
        out += value.to_bytes(size, "big")
    return bytes(out)


def _monero(address: str) -> bool:
    raw = _monero_decode(address)
    return raw is not None and len(raw) in (69, 77) and _keccak256(raw[:-4])[:4] == raw[-4:]


def validate(address: str) -> str | None:
    """The chain (BTC, LTC, XMR, ETH, TRX) of a checksum-valid address, else None."""
    if address.lower().startswith(("bc1", "ltc1")):
        return _segwit(address)
    if address.startswith("0x"):
        return "ETH" if _ethereum(address) else None
    if len(address) in (95, 106) and address[0] in "48":
        return "XMR" if _monero(address) else None
    return _base58check(address)


def find_addresses(text: str) -> list[dict]:
    """Checksum-valid addresses in ``text``, each once, in order of appearance."""
    found: list[dict] = []
    for match in _CANDIDATES.finditer(text):
        address = match.group()
        chain = validate(address)
        entry = {"chain": chain, "address": address}
        if chain and entry not in found:
            found.append(entry)
    return found


"""Crypto addresses count only with a valid checksum; PGP fingerprints come from the key itself."""
from __future__ import annotations

import base58
import pytest

from extract.crypto import find_addresses, validate
from extract.document import parse
from extract.pgp import find_fingerprints
from helpers import site_dir

VALID = [
    ("BTC", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),  # P2PKH
    ("BTC", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),  # P2SH
    ("BTC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),  # BIP-173 vector, bech32
    ("BTC", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"),
    ("BTC", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),  # BIP-350 vector, bech32m
    ("ETH", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),  # EIP-55 vector
    ("ETH", "0x52908400098527886e0f7030069857d2e4169ee7"),  # all lower case: no checksum to check
    ("XMR", "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"),
    ("TRX", base58.b58encode_check(bytes([0x41]) + bytes(range(20))).decode()),
    ("LTC", base58.b58encode_check(bytes([0x30]) + bytes(range(20))).decode()),
]
INVALID = [
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",  # one character changed
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4".replace("q", "p", 1),  # v1 program checked as bech32
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",  # EIP-55 case broken
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3B",
]


@pytest.mark.parametrize("chain, address", VALID)
def test_valid_addresses_are_recognised_with_their_chain(chain, address):
    assert validate(address) == chain
    assert find_addresses(f"pay to {address}, thanks") == [{"chain": chain, "address": address}]


@pytest.mark.parametrize("address", INVALID)
def test_lookalikes_with_a_bad_checksum_are_dropped(address):
    assert validate(address) is None
    assert find_addresses(f"pay to {address}") == []


def test_fingerprints_from_armored_keys_and_printed_ones():
    # The key blocks on the sample pages were made with GnuPG, which printed these fingerprints.
    nordic = parse((site_dir("northwind") / "vendor" / "NordicSnow.html").read_bytes())
    green = parse((site_dir("northwind") / "vendor" / "GreenCrossUK.html").read_bytes())
    assert find_fingerprints(nordic.text) == ["B2F132DCF2A457CCF8ED4BDDAC10C7D38CA75482"]  # ed25519 key + printed
    assert find_fingerprints(green.text) == ["3E54D03D653E3970BA8690EB8231E09DA20262DF"]  # RSA key, not printed
    assert find_fingerprints("no key here, just 1234") == []

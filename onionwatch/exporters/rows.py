"""Flat rows of listings and observations, shared by the table, graph and report exporters."""
from __future__ import annotations

import base64
import binascii


def digest_hex(digest: str | None) -> str | None:
    """A WARC digest (``sha256:BASE32``, or hex) as lower-case hex, the form other tools compare."""
    if not digest:
        return None
    algorithm, _, value = digest.partition(":")
    if not value:
        value, algorithm = algorithm, "sha256"
    if algorithm.lower() not in ("sha256", "sha-256"):
        return None
    if len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        return base64.b32decode(value.upper()).hex()
    except (binascii.Error, ValueError):
        return None


LISTING_FIELDS = (
    "listing_id", "market", "vendor", "title", "drug", "drug_class", "price", "currency", "price_usd",
    "price_usd_basis", "quantity", "unit", "usd_per_base_unit", "placeholder_price", "ships_from", "ships_to",
    "city", "district", "dead_drop", "pgp_fingerprints", "crypto_addresses", "url", "source_url", "page_type",
    "captured_at", "first_seen", "last_seen", "observations", "capture_warc_file", "capture_offset",
    "capture_sha256",
)
OBSERVATION_FIELDS = (
    "listing_id", "market", "vendor", "day", "captured_at", "price", "currency", "price_usd", "quantity", "unit",
    "usd_per_base_unit", "placeholder_price",
)


def listing_row(item) -> dict:
    listing = item.listing
    capture = item.capture or {}
    seen = [o.get("captured_at") for o in item.observations if o.get("captured_at")] or [listing.get("captured_at")]
    row = {name: listing.get(name) for name in LISTING_FIELDS}
    row.update(
        ships_to=list(listing.get("ships_to") or []),
        pgp_fingerprints=list(listing.get("pgp_fingerprints") or []),
        crypto_addresses=[f"{a.get('chain')}:{a.get('address')}" for a in listing.get("crypto_addresses") or []],
        placeholder_price=bool(listing.get("placeholder_price")),
        first_seen=min(s for s in seen if s) if any(seen) else None,
        last_seen=max(s for s in seen if s) if any(seen) else None,
        observations=len(item.observations),
        capture_warc_file=capture.get("warc_file"), capture_offset=capture.get("offset"),
        capture_sha256=digest_hex(capture.get("digest")),
    )
    return row


def observation_rows(item) -> list[dict]:
    rows = []
    for observation in item.observations:
        row = {name: observation.get(name) for name in OBSERVATION_FIELDS}
        row["day"] = (observation.get("captured_at") or "")[:10] or None
        row["placeholder_price"] = bool(observation.get("placeholder_price"))
        rows.append(row)
    return rows

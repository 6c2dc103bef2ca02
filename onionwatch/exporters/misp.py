"""MISP event JSON, built with ``pymisp``'s object model (``MISPEvent``, ``MISPObject``).

Objects, from the MISP object templates that ``pymisp`` ships, plus one of our own:

    user-account          a vendor account (username, account-type "darknet-market-vendor",
                          market in description, first/last seen)
    pgp-meta              a PGP key (key-id: the fingerprint)            <- vendor "uses"
    coin-address          a crypto address (address / address-xmr / address-crypto, symbol,
                          first-seen, last-seen)                         <- vendor "owns", listing "pays-to"
    onionwatch-listing    a listing as captured (template below): title, market, vendor, drug,
                          price, first/last seen, page URL, capture file, offset and SHA-256
                          -> vendor account: "published-by"

The event is distributed to "your organisation only" (0) and tagged ``onionwatch``; it loads
with ``MISPEvent().load_file(path)`` and imports through MISP's "Populate from JSON".
"""
from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Iterable

from pymisp import MISPEvent, MISPObject

from onionwatch.exporters import ExportContext, exporter
from onionwatch.exporters.rows import digest_hex

NAMESPACE = uuid.UUID("0f2f5a9e-4c38-5f0e-8d3b-3a6e2f9c7d14")

LISTING_TEMPLATE = {
    "name": "onionwatch-listing",
    "uuid": "a3f1e2d4-6b7c-5d8e-9f01-23456789abcd",
    "version": 1,
    "meta-category": "misc",
    "description": "A darknet market listing as captured by onionwatch, with the WARC record it was read from.",
    "requiredOneOf": ["listing-id"],
    "attributes": {
        **{name: {"misp-attribute": "text", "ui-priority": 1, "description": name} for name in (
            "listing-id", "title", "market", "vendor", "drug", "currency", "unit", "ships-from", "city",
            "district", "dead-drop", "capture-file", "capture-offset")},
        **{name: {"misp-attribute": "float", "ui-priority": 1, "description": name}
           for name in ("price", "price-usd", "quantity")},
        "url": {"misp-attribute": "url", "ui-priority": 1, "description": "the listing page"},
        "capture-sha256": {"misp-attribute": "sha256", "ui-priority": 1, "description": "SHA-256 of the page"},
        "first-seen": {"misp-attribute": "datetime", "ui-priority": 0, "description": "first capture"},
        "last-seen": {"misp-attribute": "datetime", "ui-priority": 0, "description": "last capture"},
    },
}
_ADDRESS_RELATION = {"BTC": "address", "XMR": "address-xmr"}


def _uuid(*key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(key)))


def _coin(event: MISPEvent, objects: dict, address: dict, first: str | None, last: str | None) -> MISPObject:
    key = f"coin:{address['chain']}:{address['address']}"
    if key not in objects:
        coin = MISPObject("coin-address", standalone=False)
        coin.uuid = _uuid(key)
        coin.add_attribute(_ADDRESS_RELATION.get(address["chain"], "address-crypto"), value=address["address"])
        coin.add_attribute("symbol", value=address["chain"])
        if first:
            coin.first_seen = first
        if last:
            coin.last_seen = last
        objects[key] = event.add_object(coin)
    return objects[key]


def _vendor(event: MISPEvent, objects: dict, market: str, name: str, account: dict | None) -> MISPObject:
    key = f"vendor:{market}/{name}"
    if key in objects:
        return objects[key]
    account = account or {}
    vendor = MISPObject("user-account", standalone=False)
    vendor.uuid = _uuid(key)
    vendor.add_attribute("username", value=name)
    vendor.add_attribute("account-type", value="darknet-market-vendor")
    vendor.add_attribute("description", value=f"vendor account on market {market}")
    if account.get("first_seen"):
        vendor.first_seen = account["first_seen"]
    if account.get("last_seen"):
        vendor.last_seen = account["last_seen"]
    objects[key] = event.add_object(vendor)
    for fingerprint in account.get("pgp_fingerprints") or []:
        pgp_key = f"pgp:{fingerprint}"
        if pgp_key not in objects:
            pgp = MISPObject("pgp-meta", standalone=False)
            pgp.uuid = _uuid(pgp_key)
            pgp.add_attribute("key-id", value=fingerprint)
            objects[pgp_key] = event.add_object(pgp)
        vendor.add_reference(objects[pgp_key].uuid, "uses")
    for address in account.get("crypto_addresses") or []:
        vendor.add_reference(_coin(event, objects, address, account.get("first_seen"),
                                   account.get("last_seen")).uuid, "owns")
    return vendor


def _listing(event: MISPEvent, item, objects: dict) -> MISPObject:
    listing = item.listing
    times = sorted(o["captured_at"] for o in item.observations if o.get("captured_at")) \
        or ([listing["captured_at"]] if listing.get("captured_at") else [])
    entry = MISPObject("onionwatch-listing", standalone=False, misp_objects_template_custom=LISTING_TEMPLATE)
    entry.uuid = _uuid("listing", listing["listing_id"])
    capture = item.capture or {}
    values = {
        "listing-id": listing["listing_id"], "title": listing.get("title"), "market": listing.get("market"),
        "vendor": listing.get("vendor"), "drug": listing.get("drug"), "currency": listing.get("currency"),
        "unit": listing.get("unit"), "ships-from": listing.get("ships_from"), "city": listing.get("city"),
        "district": listing.get("district"), "dead-drop": listing.get("dead_drop"),
        "price": listing.get("price"), "price-usd": listing.get("price_usd"), "quantity": listing.get("quantity"),
        "url": listing.get("source_url") or listing.get("url"), "capture-file": capture.get("warc_file"),
        "capture-offset": str(capture["offset"]) if capture.get("offset") is not None else None,
        "capture-sha256": digest_hex(capture.get("digest")),
        "first-seen": times[0] if times else None, "last-seen": times[-1] if times else None,
    }
    for relation, value in values.items():
        if value not in (None, ""):
            entry.add_attribute(relation, value=value)
    event.add_object(entry)
    if listing.get("vendor"):
        vendor = _vendor(event, objects, listing.get("market") or "?", listing["vendor"], item.vendor)
        entry.add_reference(vendor.uuid, "published-by")
    for address in listing.get("crypto_addresses") or []:
        entry.add_reference(_coin(event, objects, address, times[0] if times else None,
                                  times[-1] if times else None).uuid, "pays-to")
    return entry


@exporter("misp", "MISP event JSON (pymisp): vendor accounts, listings, coin addresses, PGP keys")
def write_misp(items: Iterable, out: Path, context: ExportContext) -> dict:
    event = MISPEvent()
    event.uuid = _uuid("event", repr(sorted(context.selection.items())))
    event.info = "onionwatch: " + ", ".join(f"{k}={v}" for k, v in sorted(context.selection.items()) if v) \
        or "onionwatch: all listings"
    event.distribution = 0
    event.threat_level_id = 4
    event.analysis = 1
    event.add_tag("onionwatch")
    objects: dict[str, MISPObject] = {}
    first_day = None
    listings = 0
    for item in items:
        _listing(event, item, objects)
        listings += 1
        day = (item.listing.get("captured_at") or "")[:10]
        if day and (first_day is None or day < first_day):
            first_day = day
    event.date = date.fromisoformat(first_day) if first_day else date.today()
    Path(out).write_text(event.to_json(indent=2), encoding="utf-8")
    names = [o.name for o in event.objects]
    return {"listings": listings, "vendors": names.count("user-account"), "addresses": names.count("coin-address"),
            "pgp_keys": names.count("pgp-meta")}

"""STIX 2.1: vendors as identities, markets as infrastructure, listings as observed data.

Every object is made and serialised by the ``stix2`` library; custom observables (the listing,
a PGP key, a cryptocurrency wallet) are ``stix2`` custom classes with ``x-`` type names, so
``stix2.parse(bundle, allow_custom=True)`` reads the bundle back once this module is imported.
The bundle is written one object at a time (a Bundle object would hold all of them in memory);
each listing is an ``observed-data`` whose first/last observed are its capture times and whose
``external_references`` name the WARC record and the page's SHA-256. Identifiers are UUIDv5
of what they stand for (deterministic SCO ids, stable SDO ids), so the same data gives the
same bundle, and objects from two exports merge.

    identity (vendor account)  -- sells-on -->        infrastructure (market)
    identity (vendor account)  -- uses-key -->        x-pgp-key
    identity (vendor account)  -- controls -->        x-cryptocurrency-wallet
    observed-data (listing)    -- offered-by -->      identity (vendor account)
    observed-data (listing)    -- observed-on -->     infrastructure (market)
"""
from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Iterable

import stix2
from stix2.properties import FloatProperty, ListProperty, StringProperty

from onionwatch.exporters import ExportContext, exporter
from onionwatch.exporters.rows import digest_hex

_URL_WINDOW = 10_000
NAMESPACE = uuid.UUID("6b3c1f38-8a4e-5d2a-9c1e-0a6f0b7d5e21")  # onionwatch's own UUIDv5 namespace


@stix2.v21.CustomObservable("x-onionwatch-listing", [
    ("listing_id", StringProperty(required=True)), ("title", StringProperty()), ("market", StringProperty()),
    ("vendor", StringProperty()), ("drug", StringProperty()), ("price", FloatProperty()),
    ("currency", StringProperty()), ("price_usd", FloatProperty()), ("quantity", FloatProperty()),
    ("unit", StringProperty()), ("ships_from", StringProperty()), ("ships_to", ListProperty(StringProperty)),
    ("city", StringProperty()), ("district", StringProperty()), ("dead_drop", StringProperty()),
], id_contrib_props=["listing_id"])
class Listing:
    pass


@stix2.v21.CustomObservable("x-pgp-key", [
    ("fingerprint", StringProperty(required=True)),
], id_contrib_props=["fingerprint"])
class PGPKey:
    pass


@stix2.v21.CustomObservable("x-cryptocurrency-wallet", [
    ("address", StringProperty(required=True)), ("chain", StringProperty(required=True)),
], id_contrib_props=["chain", "address"])
class CryptocurrencyWallet:
    pass


def _id(kind: str, *key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, chr(31).join(key))}"


def _stamp(value: str | None, fallback: str) -> str:
    return (value or fallback).replace("+00:00", "Z")


class _Stream:
    """A STIX bundle written object by object, each object once.

    Objects shared between listings (markets, vendors, keys, wallets, their relationships) are
    remembered so they are written once; objects of one listing are unique to it (a selection
    yields each listing once) and are not remembered, so memory does not grow with the listings.
    Page URLs are remembered in a bounded window (``_URL_WINDOW``).
    """

    def __init__(self, handle, bundle_id: str):
        self.handle, self.seen, self.counts, self.first = handle, set(), {}, True
        self.urls: OrderedDict[str, None] = OrderedDict()
        handle.write('{"type": "bundle", "id": ' + json.dumps(bundle_id) + ', "objects": [\n')

    def add(self, obj, remember: bool = True) -> str:
        if obj.id in self.seen:
            return obj.id
        self.handle.write(("" if self.first else ",\n") + obj.serialize(sort_keys=True))
        self.first = False
        if remember:
            self.seen.add(obj.id)
        self.counts[obj.type] = self.counts.get(obj.type, 0) + 1
        return obj.id

    def add_url(self, value: str) -> str:
        url = stix2.URL(value=value)
        if url.id in self.urls:
            self.urls.move_to_end(url.id)
            return url.id
        self.urls[url.id] = None
        if len(self.urls) > _URL_WINDOW:
            self.urls.popitem(last=False)
        return self.add(url, remember=False)

    def close(self) -> None:
        self.handle.write("\n]}\n")


def _relationship(stream: _Stream, source: str, kind: str, target: str, when: str, remember: bool = True) -> None:
    if _id("relationship", source, kind, target) not in stream.seen:
        stream.add(stix2.Relationship(id=_id("relationship", source, kind, target), source_ref=source,
                                      target_ref=target, relationship_type=kind, created=when, modified=when,
                                      allow_custom=True), remember=remember)


def _market(stream: _Stream, market: str, when: str) -> str:
    ref = _id("infrastructure", "market", market)
    if ref not in stream.seen:
        stream.add(stix2.Infrastructure(id=ref, name=market, infrastructure_types=["unknown"], created=when,
                                        modified=when, description=f"darknet market {market}"))
    return ref


def _vendor(stream: _Stream, market: str, name: str, account: dict | None, when: str) -> str:
    ref = _id("identity", "vendor", market, name)
    if ref in stream.seen:
        return ref
    created = _stamp((account or {}).get("first_seen"), when)
    stream.add(stix2.Identity(id=ref, name=name, identity_class="individual", created=created, modified=created,
                              description=f"vendor account {name} on market {market}"))
    _relationship(stream, ref, "sells-on", _market(stream, market, when), created)
    for fingerprint in (account or {}).get("pgp_fingerprints") or []:
        _relationship(stream, ref, "uses-key", stream.add(PGPKey(fingerprint=fingerprint)), created)
    for address in (account or {}).get("crypto_addresses") or []:
        wallet = CryptocurrencyWallet(address=address["address"], chain=address["chain"])
        _relationship(stream, ref, "controls", stream.add(wallet), created)
    return ref


def _listing_sco(listing: dict) -> Listing:
    values = {key: listing.get(key) for key in ("title", "market", "vendor", "drug", "currency", "unit",
                                               "ships_from", "city", "district", "dead_drop")}
    for key in ("price", "price_usd", "quantity"):
        values[key] = float(listing[key]) if listing.get(key) is not None else None
    values["ships_to"] = list(listing.get("ships_to") or []) or None
    return Listing(listing_id=listing["listing_id"], **{k: v for k, v in values.items() if v not in (None, "")})


def write_item(stream: _Stream, item) -> None:
    listing = item.listing
    market = listing.get("market") or "unknown"
    times = sorted(o["captured_at"] for o in item.observations if o.get("captured_at")) \
        or [listing.get("captured_at") or "1970-01-01T00:00:00Z"]
    first, last = _stamp(times[0], times[0]), _stamp(times[-1], times[-1])
    market_ref = _market(stream, market, first)
    vendor_ref = _vendor(stream, market, listing["vendor"], item.vendor, first) if listing.get("vendor") else None
    refs = [stream.add(_listing_sco(listing), remember=False)]
    page = listing.get("url") or listing.get("source_url")
    if page:
        refs.append(stream.add_url(page))
    for fingerprint in listing.get("pgp_fingerprints") or []:
        refs.append(stream.add(PGPKey(fingerprint=fingerprint)))
    for address in listing.get("crypto_addresses") or []:
        refs.append(stream.add(CryptocurrencyWallet(address=address["address"], chain=address["chain"])))
    capture = item.capture or {}
    evidence = []
    if capture.get("warc_file"):
        reference = {"source_name": "onionwatch-capture",
                     "description": f"WARC record at offset {capture.get('offset')} of {capture['warc_file']}",
                     "external_id": f"{Path(capture['warc_file']).name}@{capture.get('offset')}"}
        sha = digest_hex(capture.get("digest"))
        if sha:
            reference["hashes"] = {"SHA-256": sha}
        evidence.append(reference)
    observed = stix2.ObservedData(
        id=_id("observed-data", listing["listing_id"]), created=first, modified=last, first_observed=first,
        last_observed=last, number_observed=max(1, len(item.observations)), object_refs=refs,
        external_references=evidence or None, allow_custom=True,
    )
    stream.add(observed, remember=False)
    _relationship(stream, observed.id, "observed-on", market_ref, first, remember=False)
    if vendor_ref:
        _relationship(stream, observed.id, "offered-by", vendor_ref, first, remember=False)


@exporter("stix", "STIX 2.1 bundle (JSON): identities, infrastructure, observed-data, observables, relationships")
def write_stix(items: Iterable, out: Path, context: ExportContext) -> dict:
    bundle_id = _id("bundle", json.dumps(context.selection, sort_keys=True))
    with open(out, "w", encoding="utf-8") as handle:
        stream = _Stream(handle, bundle_id)
        for item in items:
            write_item(stream, item)
        stream.close()
    return dict(sorted(stream.counts.items()))

"""History and vendor entities in the search engine, for many writers on one cluster.

The SQLite history (``index/history.py``) belongs to one machine. When several crawler machines
write to one Elasticsearch or OpenSearch cluster, what changed between runs and who the vendors
are must live where every writer sees them: in the engine, in three small indices beside the
listings (``<prefix>-listing-state``, ``<prefix>-vendors``, ``<prefix>-changes``).

Same interface as ``History``. Every state document is updated with optimistic concurrency
(``if_seq_no``/``if_primary_term``, ``op_type=create`` for new ones): when two writers touch the
same listing or vendor at once, one wins and the other reads the new state and decides again,
so a listing is "new" exactly once and a vendor's keys and addresses are the union of what every
writer saw. Change records have ids made from what they say (market, time, kind, subject), so a
run recorded twice (a retry after a lost answer) does not record its changes twice.
"""
from __future__ import annotations

import hashlib
import json
import time
from index.history import price_moved


_KEYWORD = {"type": "keyword"}
_STATE_MAPPINGS = {"dynamic": False, "properties": {
    "listing_id": _KEYWORD, "market": _KEYWORD, "vendor": _KEYWORD, "gone_at": _KEYWORD,
    "first_seen": _KEYWORD, "last_seen": _KEYWORD}}
_VENDOR_MAPPINGS = {"dynamic": False, "properties": {
    "market": _KEYWORD, "name": _KEYWORD, "name_folded": _KEYWORD, "keys": _KEYWORD}}
_CHANGE_MAPPINGS = {"dynamic": False, "properties": {
    "change_id": _KEYWORD, "at": _KEYWORD, "market": _KEYWORD, "kind": _KEYWORD, "listing_id": _KEYWORD, "vendor": _KEYWORD,
    "seq": {"type": "integer"}}}
_PAGE = 1000
_ATTEMPTS = 50


class ConcurrentUpdateError(RuntimeError):
    """A state document kept changing under us (another writer); nothing half-written is left."""


def _id(*parts) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def _merged(old: list, new: list) -> list:
    values = list(old)
    for value in new:
        if value not in values:
            values.append(value)
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))


class EngineHistory:
    """``History`` on engine indices, shared by every writer of the cluster."""

    def __init__(self, api, prefix: str = "onionwatch", replicas: int | None = None, owns_client: bool = False):
        self.api = api
        self._owns_client = owns_client
        self.state_index = f"{prefix}-listing-state"
        self.vendor_index = f"{prefix}-vendors"
        self.change_index = f"{prefix}-changes"
        settings = {} if replicas is None else {"number_of_replicas": replicas}
        for name, mappings in ((self.state_index, _STATE_MAPPINGS), (self.vendor_index, _VENDOR_MAPPINGS),
                               (self.change_index, _CHANGE_MAPPINGS)):
            if not api.exists(name):
                api.create(name, {"settings": settings, "mappings": mappings})

    def close(self) -> None:
        if self._owns_client:
            self.api.close()

    # -- one run ------------------------------------------------------------

    def record_run(self, market: str, at: str, listings: list[dict], present: set[str] | None,
                   vendor_profiles: list[dict] = ()) -> list[dict]:
        """Record one run's listings; returns the changes it made (see ``History.record_run``)."""
        changes = self._observe_all(market, at, listings)
        vendors: dict[str, tuple[list, list]] = {}
        for listing in listings:
            if listing.get("vendor"):
                vendors.setdefault(listing["vendor"], ([], []))
        for profile in vendor_profiles:
            if profile.get("name"):
                keys, addresses = vendors.setdefault(profile["name"], ([], []))
                keys.extend(profile.get("pgp_fingerprints") or [])
                addresses.extend(profile.get("crypto_addresses") or [])
        for name, (keys, addresses) in vendors.items():
            self._vendor(market, name, at, keys, addresses)
        if present is not None:
            changes.extend(self._removals(market, at, present))
        operations = []
        for seq, change in enumerate(changes):
            change_id = _id(market, at, change["kind"], change.get("listing_id"), change.get("vendor"))
            operations += [{"index": {"_index": self.change_index, "_id": change_id}}, {
                "change_id": change_id, "at": at, "market": market, "kind": change["kind"],
                "listing_id": change.get("listing_id"), "vendor": change.get("vendor"), "title": change.get("title"),
                "detail": change.get("detail", {}), "seq": seq}]
        for attempt in range(_ATTEMPTS):  # change records: items refused for load go again
            statuses = self._bulk(operations)
            operations = [part for number, status in enumerate(statuses) if status >= 300
                          for part in operations[2 * number:2 * number + 2]]
            if not operations:
                break
            time.sleep(min(0.05 * 2 ** attempt, 2.0))
        else:
            raise ConcurrentUpdateError(f"{len(operations) // 2} change records could not be written")
        self.api.refresh(f"{self.state_index},{self.vendor_index},{self.change_index}")
        return changes

    def _bulk(self, operations: list[dict]) -> list[int]:
        """Send bulk requests; the status of each item. Failures other than conflicts and load refusals are errors."""
        statuses = []
        for start in range(0, len(operations), 1000):
            answer = self.api.bulk(operations[start:start + 1000])
            for item in answer["items"]:
                result = next(iter(item.values()))
                if result["status"] >= 300 and result["status"] not in (409, 429, 503):
                    raise RuntimeError(f"history write failed: {result.get('error')}")
                statuses.append(result["status"])
        return statuses

    def _observe_all(self, market: str, at: str, listings: list[dict]) -> list[dict]:
        """New listings, returned ones and price changes, decided against the shared state with one read
        and one conditional write per batch; a listing another writer changed meanwhile is decided again."""
        wanted = {listing["listing_id"]: listing for listing in listings}
        decided: dict[str, dict | None] = {}
        for attempt in range(_ATTEMPTS):
            if not wanted:
                break
            ids = list(wanted)
            stored = self.api.mget(self.state_index, ids)["docs"]
            operations, verdicts = [], []
            for listing_id, doc in zip(ids, stored):
                listing = wanted[listing_id]
                change, document, condition = self._decide(market, at, listing, doc if doc.get("found") else None)
                action = {"_index": self.state_index, "_id": listing_id, **condition}
                operations += [{"create" if not condition else "index": action}, document]
                verdicts.append(change)
            for listing_id, change, status in zip(ids, verdicts, self._bulk(operations)):
                if status < 300:
                    decided[listing_id] = change
                    del wanted[listing_id]
            if wanted and attempt:
                time.sleep(min(0.05 * 2 ** attempt, 2.0))
        if wanted:
            raise ConcurrentUpdateError(f"{len(wanted)} listings kept changing under other writers")
        changes = []
        for listing_id in dict.fromkeys(listing["listing_id"] for listing in listings):
            if decided.get(listing_id):
                changes.append(decided[listing_id])
        return changes

    @staticmethod
    def _decide(market: str, at: str, listing: dict, stored: dict | None) -> tuple[dict | None, dict, dict]:
        """(the change, the new state document, the write condition) for one listing."""
        base = {"listing_id": listing["listing_id"], "vendor": listing.get("vendor"), "title": listing.get("title")}
        fresh = {"listing_id": listing["listing_id"], "market": market, "vendor": listing.get("vendor"),
                 "title": listing.get("title"), "price": listing.get("price"), "currency": listing.get("currency"),
                 "price_usd": listing.get("price_usd"), "last_seen": at, "gone_at": None}
        if stored is None:
            return ({**base, "kind": "new_listing", "detail": {"price": listing.get("price"),
                                                               "currency": listing.get("currency")}},
                    {**fresh, "first_seen": at}, {})
        row = stored["_source"]
        if row.get("gone_at"):
            change = {**base, "kind": "returned_listing", "detail": {"gone_at": row["gone_at"]}}
        elif price_moved(row.get("price"), listing.get("price")) and row.get("currency") == listing.get("currency"):
            change = {**base, "kind": "price_change", "detail": {
                "old": row.get("price"), "new": listing.get("price"), "currency": listing.get("currency"),
                "old_usd": row.get("price_usd"), "new_usd": listing.get("price_usd")}}
        else:
            change = None
        document = {**fresh, "first_seen": min(at, row.get("first_seen", at)), "last_seen": max(at, row["last_seen"])}
        return change, document, {"if_seq_no": stored["_seq_no"], "if_primary_term": stored["_primary_term"]}

    def _vendor(self, market: str, name: str | None, at: str, fingerprints: list, addresses: list) -> None:
        if not name:
            return
        vendor_id = _id(market, name)
        for _attempt in range(_ATTEMPTS):
            stored = self.api.get(self.vendor_index, vendor_id)
            if stored is None:
                row = {"market": market, "name": name, "name_folded": name.casefold(), "first_seen": at,
                       "last_seen": at, "pgp_fingerprints": _merged([], fingerprints),
                       "crypto_addresses": _merged([], addresses), "vanished_at": None}
                if self.api.put(self.vendor_index, vendor_id, {**row, "keys": _keys(row)}, create=True):
                    return
                continue
            row = dict(stored["_source"])
            row.update(first_seen=min(at, row["first_seen"]), last_seen=max(at, row["last_seen"]), vanished_at=None,
                       pgp_fingerprints=_merged(row["pgp_fingerprints"], fingerprints),
                       crypto_addresses=_merged(row["crypto_addresses"], addresses))
            row["keys"] = _keys(row)
            if self.api.put(self.vendor_index, vendor_id, row, if_seq_no=stored["_seq_no"],
                            if_primary_term=stored["_primary_term"]):
                return
        raise ConcurrentUpdateError(f"vendor {name} on {market} kept changing under other writers")

    def _removals(self, market: str, at: str, present: set[str]) -> list[dict]:
        changes = []
        self.api.refresh(self.state_index)
        live = {"bool": {"filter": [{"term": {"market": market}}], "must_not": [{"exists": {"field": "gone_at"}}]}}
        for hit in self._all(self.state_index, live, "listing_id"):
            row = hit["_source"]
            if row["listing_id"] in present:
                continue
            if self.api.put(self.state_index, row["listing_id"], {**row, "gone_at": at},
                            if_seq_no=hit["_seq_no"], if_primary_term=hit["_primary_term"]):
                changes.append({"kind": "removed_listing", "listing_id": row["listing_id"], "vendor": row.get("vendor"),
                                "title": row.get("title"), "detail": {"last_seen": row["last_seen"]}})
            # else: another writer saw it since; it is not gone.
        self.api.refresh(self.state_index)
        emptied = {c["vendor"] for c in changes if c["vendor"]}
        for vendor in sorted(emptied):
            left = self.api.count(self.state_index, {"bool": {
                "filter": [{"term": {"market": market}}, {"term": {"vendor": vendor}}],
                "must_not": [{"exists": {"field": "gone_at"}}]}})
            if left == 0:
                self._vanished(market, vendor, at)
                changes.append({"kind": "vendor_vanished", "vendor": vendor,
                                "detail": {"listings_removed": sum(c["vendor"] == vendor for c in changes)}})
        return changes

    def _vanished(self, market: str, name: str, at: str) -> None:
        vendor_id = _id(market, name)
        for _attempt in range(_ATTEMPTS):
            stored = self.api.get(self.vendor_index, vendor_id)
            if stored is None or self.api.put(self.vendor_index, vendor_id, {**stored["_source"], "vanished_at": at},
                                              if_seq_no=stored["_seq_no"], if_primary_term=stored["_primary_term"]):
                return
        raise ConcurrentUpdateError(f"vendor {name} on {market} kept changing under other writers")

    def _all(self, index: str, query: dict, *keys: str):
        """Every hit of the query, paged by ``search_after`` on keyword fields that together are unique,
        with seq_no and primary term."""
        after = None
        while True:
            body = {"query": query, "size": _PAGE, "sort": [{key: "asc"} for key in keys], "seq_no_primary_term": True}
            if after is not None:
                body["search_after"] = after
            hits = self.api.search(index, body)["hits"]["hits"]
            yield from hits
            if len(hits) < _PAGE:
                return
            after = hits[-1]["sort"]

    # -- reading ------------------------------------------------------------

    def lifecycle(self):
        """Each listing's first and last sighting and when it went (None while on the market)."""
        self.api.refresh(self.state_index)
        for hit in self._all(self.state_index, {"match_all": {}}, "listing_id"):
            row = hit["_source"]
            yield {key: row.get(key) for key in ("listing_id", "first_seen", "last_seen", "gone_at")}

    def changes(self, since: str, market: str | None = None) -> list[dict]:
        self.api.refresh(self.change_index)
        query = {"bool": {"filter": [{"range": {"at": {"gte": since}}},
                                     *([{"term": {"market": market}}] if market else [])]}}
        rows = [hit["_source"] for hit in self._all(self.change_index, query, "at", "change_id")]
        rows.sort(key=lambda row: (row["at"], row["market"], row["seq"]))
        return [{key: value for key, value in row.items() if key not in ("seq", "change_id")} for row in rows]

    def vendor(self, name: str) -> list[dict]:
        """The vendor on every market, each with the accounts it is linked to (shared PGP key or address)."""
        self.api.refresh(self.vendor_index)
        rows = [_vendor_row(hit["_source"]) for hit in self._all(
            self.vendor_index, {"term": {"name_folded": name.casefold()}}, "market", "name")]
        for row in rows:
            keys = _keys(row)
            others = [] if not keys else [_vendor_row(hit["_source"]) for hit in self._all(
                self.vendor_index, {"terms": {"keys": keys}}, "market", "name")]
            linked = {(o["market"], o["name"]) for o in others if (o["market"], o["name"]) != (row["market"], row["name"])}
            row["linked"] = [{"market": market, "name": other} for market, other in sorted(linked)]
        return sorted(rows, key=lambda row: row["market"])


def _keys(row: dict) -> list[str]:
    return sorted(set(row.get("pgp_fingerprints") or []) | {a["address"] for a in row.get("crypto_addresses") or []})


def _vendor_row(source: dict) -> dict:
    row = {key: source.get(key) for key in ("market", "name", "first_seen", "last_seen", "pgp_fingerprints",
                                             "crypto_addresses", "vanished_at")}
    return row

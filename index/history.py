"""What changed between runs, and vendors as entities: SQLite beside the search index.

Per market it remembers each listing's last price and when it was first and
last seen, and each vendor's names, PGP fingerprints and crypto addresses.
After every run it records changes: new listings, removed listings, price
changes, and vendors who vanished (their listings all gone at once: an
exit-scam signal). One transaction per run: a crash leaves the run unrecorded,
and the next run records it.
"""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from stores import open_sqlite

# A price must move by more than this to count as a change (rounding in conversions is not news).
_PRICE_TOLERANCE = 0.01

_SCHEMA = """
CREATE TABLE IF NOT EXISTS listing_state (
    listing_id TEXT PRIMARY KEY, market TEXT NOT NULL, vendor TEXT, title TEXT, price REAL, currency TEXT,
    price_usd REAL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, gone_at TEXT);
CREATE INDEX IF NOT EXISTS listing_state_market ON listing_state (market, gone_at);
CREATE TABLE IF NOT EXISTS vendors (
    market TEXT NOT NULL, name TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    pgp_fingerprints TEXT NOT NULL DEFAULT '[]', crypto_addresses TEXT NOT NULL DEFAULT '[]',
    vanished_at TEXT, PRIMARY KEY (market, name));
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, market TEXT NOT NULL, kind TEXT NOT NULL,
    listing_id TEXT, vendor TEXT, title TEXT, detail TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS changes_at ON changes (at);
"""


# Words a profile page puts round a vendor's name in its heading: "Seller profile: X", "X's profile",
# "Vendor: X", "Профиль продавца: X", "Магазин X". The name is what is left.
_HEADING_BEFORE = re.compile(
    r"^\s*(?:(?:(?:seller|vendor|user|member|shop|store)(?:'s)?\s+(?:profile|page|info|information)"
    r"|(?:profile|page)\s+of|профиль\s+(?:продавца|магазина|пользователя))\s*[:\-–—|»]?"
    r"|(?:seller|vendor|shop|store|profile|user|member|профиль|продавец|магазин|шоп)\s*[:\-–—|»])\s*",
    re.IGNORECASE,
)
_HEADING_AFTER = re.compile(r"(?:'s|’s)?\s*[\-–—|:]?\s*(?:seller|vendor|user)?\s*(?:profile|page|профиль)\s*$",
                            re.IGNORECASE)


def vendor_name(text: str | None) -> str | None:
    """A vendor's name without the words of the heading it stood in, so a profile and the
    listings name one vendor: "Seller profile: Frostbite" -> "Frostbite"."""
    if not text:
        return text
    name = " ".join(text.split())
    for _ in range(2):
        stripped = _HEADING_AFTER.sub("", _HEADING_BEFORE.sub("", name)).strip(" :-–—|»\"'")
        if not stripped or stripped == name:
            break
        name = stripped
    return name or None


def _merged(old_json: str, new: list) -> str:
    values = json.loads(old_json)
    for value in new:
        if value not in values:
            values.append(value)
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


class History:
    def __init__(self, path: Path):
        self._db = open_sqlite(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record_run(self, market: str, at: str, listings: list[dict], present: set[str] | None,
                   vendor_profiles: list[dict] = ()) -> list[dict]:
        """Record one run's listings; returns the changes it made.

        ``present``: ids of every listing the market still shows (extracted or on
        unchanged pages); None when the crawl did not see the whole market, so
        nothing may be called gone.
        """
        changes: list[dict] = []
        with self._db:
            for listing in listings:
                changes.extend(self._observe(market, at, listing))
            for profile in vendor_profiles:
                self._vendor(market, profile.get("name"), at, profile.get("pgp_fingerprints") or [],
                             profile.get("crypto_addresses") or [])
            if present is not None:
                changes.extend(self._removals(market, at, present))
            self._db.executemany(
                "INSERT INTO changes (at, market, kind, listing_id, vendor, title, detail) VALUES (?,?,?,?,?,?,?)",
                [(at, market, c["kind"], c.get("listing_id"), c.get("vendor"), c.get("title"),
                  json.dumps(c.get("detail", {}), ensure_ascii=False)) for c in changes],
            )
        return changes

    def _observe(self, market: str, at: str, listing: dict) -> list[dict]:
        row = self._db.execute("SELECT * FROM listing_state WHERE listing_id = ?", (listing["listing_id"],)).fetchone()
        base = {"listing_id": listing["listing_id"], "vendor": listing.get("vendor"), "title": listing.get("title")}
        changes = []
        if row is None:
            changes.append({**base, "kind": "new_listing", "detail": {"price": listing.get("price"),
                                                                        "currency": listing.get("currency")}})
        elif row["gone_at"]:
            changes.append({**base, "kind": "returned_listing", "detail": {"gone_at": row["gone_at"]}})
        elif price_moved(row["price"], listing.get("price")) and row["currency"] == listing.get("currency"):
            changes.append({**base, "kind": "price_change", "detail": {
                "old": row["price"], "new": listing.get("price"), "currency": listing.get("currency"),
                "old_usd": row["price_usd"], "new_usd": listing.get("price_usd")}})
        self._db.execute(
            "INSERT INTO listing_state VALUES (?,?,?,?,?,?,?,?,?,NULL) ON CONFLICT (listing_id) DO UPDATE SET "
            "vendor=excluded.vendor, title=excluded.title, price=excluded.price, currency=excluded.currency, "
            "price_usd=excluded.price_usd, last_seen=excluded.last_seen, gone_at=NULL",
            (listing["listing_id"], market, listing.get("vendor"), listing.get("title"), listing.get("price"),
             listing.get("currency"), listing.get("price_usd"), at, at),
        )
        if listing.get("vendor"):
            self._vendor(market, listing["vendor"], at, [], [])
        return changes

    def _vendor(self, market: str, name: str | None, at: str, fingerprints: list, addresses: list) -> None:
        if not name:
            return
        row = self._db.execute("SELECT * FROM vendors WHERE market = ? AND name = ?", (market, name)).fetchone()
        if row is None:
            self._db.execute("INSERT INTO vendors VALUES (?,?,?,?,?,?,NULL)",
                             (market, name, at, at, _merged("[]", fingerprints), _merged("[]", addresses)))
        else:
            self._db.execute(
                "UPDATE vendors SET last_seen = ?, vanished_at = NULL, pgp_fingerprints = ?, crypto_addresses = ? "
                "WHERE market = ? AND name = ?",
                (at, _merged(row["pgp_fingerprints"], fingerprints), _merged(row["crypto_addresses"], addresses),
                 market, name),
            )

    def _removals(self, market: str, at: str, present: set[str]) -> list[dict]:
        changes = []
        rows = self._db.execute("SELECT * FROM listing_state WHERE market = ? AND gone_at IS NULL", (market,)).fetchall()
        for row in rows:
            if row["listing_id"] not in present:
                changes.append({"kind": "removed_listing", "listing_id": row["listing_id"], "vendor": row["vendor"],
                                "title": row["title"], "detail": {"last_seen": row["last_seen"]}})
                self._db.execute("UPDATE listing_state SET gone_at = ? WHERE listing_id = ?", (at, row["listing_id"]))
        # A vendor whose every listing disappeared in this run: the exit-scam pattern.
        emptied = {c["vendor"] for c in changes if c["vendor"]}
        for vendor in sorted(emptied):
            left = self._db.execute("SELECT COUNT(*) FROM listing_state WHERE market = ? AND vendor = ? "
                                    "AND gone_at IS NULL", (market, vendor)).fetchone()[0]
            if left == 0:
                self._db.execute("UPDATE vendors SET vanished_at = ? WHERE market = ? AND name = ?", (at, market, vendor))
                changes.append({"kind": "vendor_vanished", "vendor": vendor,
                                "detail": {"listings_removed": sum(c["vendor"] == vendor for c in changes)}})
        return changes

    def lifecycle(self):
        """Each listing's first and last sighting and when it went (None while on the market)."""
        for row in self._db.execute("SELECT listing_id, first_seen, last_seen, gone_at FROM listing_state"):
            yield dict(row)

    def changes(self, since: str, market: str | None = None) -> list[dict]:
        query = "SELECT * FROM changes WHERE at >= ?" + (" AND market = ?" if market else "") + " ORDER BY id"
        rows = self._db.execute(query, (since, market) if market else (since,)).fetchall()
        return [{**dict(row), "detail": json.loads(row["detail"])} for row in rows]

    def vendor(self, name: str) -> list[dict]:
        """The vendor on every market, each with the accounts it is linked to (shared PGP key or address)."""
        rows = [_vendor_row(r) for r in self._db.execute(
            "SELECT * FROM vendors WHERE name = ? COLLATE NOCASE ORDER BY market", (name,))]
        everyone = [_vendor_row(r) for r in self._db.execute("SELECT * FROM vendors")]
        for row in rows:
            keys = set(row["pgp_fingerprints"]) | {a["address"] for a in row["crypto_addresses"]}
            linked = {
                (other["market"], other["name"]) for other in everyone
                if (other["market"], other["name"]) != (row["market"], row["name"])
                and keys & (set(other["pgp_fingerprints"]) | {a["address"] for a in other["crypto_addresses"]})
            }
            row["linked"] = [{"market": market, "name": name} for market, name in sorted(linked)]
        return rows


def _vendor_row(row: sqlite3.Row) -> dict:
    vendor = dict(row)
    vendor["pgp_fingerprints"] = json.loads(vendor["pgp_fingerprints"])
    vendor["crypto_addresses"] = json.loads(vendor["crypto_addresses"])
    return vendor


def price_moved(old: float | None, new: float | None) -> bool:
    """A price change worth recording (conversion rounding is not news); shared by both history stores."""
    if old is None or new is None:
        return False
    return abs(new - old) > _PRICE_TOLERANCE * max(abs(old), 1e-9)

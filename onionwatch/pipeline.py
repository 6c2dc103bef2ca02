"""The main job: crawl each market into the capture store, extract from the captures, index.

Extraction reads the WARC written by the crawl, never the live site, so the
same code replays any past capture. Pages whose content hash has not changed
since the last run are not extracted again. Index writes that fail are
spooled to ``<data>/pending`` and replayed before the next run.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from crawlers.evidence import read_pages, warc_path
from crawlers.page_state import PageState
from crawlers.runner import CrawlRefused, CrawlSpec, crawl
from crawlers.session import SessionError, load_cookies
from extract.document import charset_of
from extract.learned.drift import DriftWatch, learned_reader
from extract.page import extract_page, prepare
from extract.rates import RatesStore
from index.aggregations import observation_from
from index import open_history
from index.history import History, vendor_name
from index.lifecycle import mark_removed, seen_again, stamp_seen
from index.protocol import ListingIndex
from onionwatch.config import Config, MarketSource
from onionwatch.recovery import index_lost_listings

# A listing's own page states its fields best; category cards may abbreviate them.
_DETAIL_PAGE = "listing"


@dataclass
class PageProblem:
    url: str
    kind: str  # error, warning, gate
    message: str


@dataclass
class MarketReport:
    market: str
    status: str = "ok"  # ok; degraded: gate met, needs a new session; failed
    pages: int = 0
    changes: Counter = field(default_factory=Counter)  # new, changed, unchanged, gone pages
    listings: int = 0
    seen_again: int = 0  # listings on unchanged pages, still on the market, not re-extracted
    indexed: int = 0
    warc_path: str | None = None
    problems: list[PageProblem] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    listing_changes: list[dict] = field(default_factory=list)  # new, removed, price changes, vendors vanished
    written_ids: list[str] = field(default_factory=list)  # listings this run added or changed
    error: str | None = None
    notices: list[dict] = field(default_factory=list)  # one-off alerts (a learned layout that changed)


@dataclass
class Sinks:
    """Where extracted listings go, and what a run remembers; shared by all markets of a run."""

    index: ListingIndex
    pending_dir: Path
    rates: RatesStore | None = None
    state: PageState | None = None  # None: extract every page (replays apply a new parser to all)
    history: History | None = None  # None: record no changes (replays of old captures)
    write_lock: threading.Lock | None = None  # held while extracting and writing, when runs share an index
    markets_dir: Path | None = None  # learned markets (extract.learned.store)

    @classmethod
    def open(cls, config: Config, index: ListingIndex, incremental: bool = True) -> "Sinks":
        return cls(index=index, pending_dir=config.data_dir / "pending", rates=RatesStore(config.rates_db),
                   state=PageState(config.state_db) if incremental else None,
                   history=open_history(config) if incremental else None,
                   markets_dir=config.data_dir / "markets")

    def close(self) -> None:
        for store in (self.rates, self.state, self.history):
            if store is not None:
                store.close()


def page_key(url: str | None, source_root: str) -> str | None:
    """Where a page lives within its market, the same across mirrors and captures."""
    if not url:
        return None
    if url.startswith(source_root):
        return url[len(source_root):]
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def listing_id(market: str, listing: dict, source_root: str) -> str:
    key = page_key(listing.get("url"), source_root) or f"{listing.get('vendor')}\x1f{listing.get('title')}"
    return hashlib.sha256(f"{market}\x1f{key}".encode("utf-8")).hexdigest()[:32]


def source_root(start_url: str) -> str:
    """The folder (file://) or site (http) a market's pages live under."""
    parts = urlsplit(start_url)
    if parts.scheme == "file":
        return f"file://{parts.netloc}{posixpath.dirname(parts.path)}/"
    return f"{parts.scheme}://{parts.netloc}/"


def _fill(into: dict, new: dict, override: bool) -> None:
    for key, value in new.items():
        if value in (None, "", []):
            continue
        if override or into.get(key) in (None, "", []):
            into[key] = value


def _over_stored(stored: dict, new: dict) -> dict:
    """A re-extracted listing over its stored version: newer values win, but a
    category card's abbreviated title never replaces the listing page's own."""
    merged = dict(stored)
    _fill(merged, new, override=True)
    if new.get("page_type") != _DETAIL_PAGE and stored.get("page_type") == _DETAIL_PAGE:
        for key in ("title", "page_type", "source_url", "capture"):
            merged[key] = stored[key]
    return merged


def ingest_warc(path: Path, market: str, root: str, sinks: Sinks, report: MarketReport, complete: bool = False) -> None:
    """Extract the pages of a capture file and index their listings, merged per listing id.

    Each page is recognised from its own markup, not from the configured market
    name: a market that changed its layout falls through to the generic extractor.
    ``complete``: the crawl saw the whole market, so pages not in it are gone.
    """
    known = sinks.state.known(market) if sinks.state else {}
    listed_before = sinks.state.listings_on(market) if sinks.state else {}
    if known and index_lost_listings(sinks.index, listed_before):
        known = {}  # the index lost what unchanged pages showed (deleted folder): read every page again
    seen: dict[str, str] = {}
    unchanged_at: dict[str, str] = {}  # page -> when captured, for pages not read again
    listed_now: dict[str, list[str]] = {}
    merged: dict[str, dict] = {}
    profiles: list[dict] = []
    learned = learned_reader(sinks.markets_dir, market, watch=sinks.history is not None)
    prepare()
    for page in read_pages(path):
        report.pages += 1
        key = page_key(page.url, root)
        seen[key] = page.digest
        if sinks.state:
            change = sinks.state.classify(known, key, page.digest)
            report.changes[change] += 1
            if change == "unchanged":
                unchanged_at[key] = page.captured_at
                continue
        if page.revisit:
            continue  # nothing new to read; replays without state skip it too
        captured = datetime.fromisoformat(page.captured_at.replace("Z", "+00:00"))
        if isinstance(learned, DriftWatch):
            learned.current = key
        result = extract_page(page.body, source=page.url, url=page.url, captured_at=captured, rates=sinks.rates,
                              header_encoding=charset_of(page.content_type), learned=learned)
        if result.page_type == "error":
            report.problems.append(PageProblem(page.url, "error", result.error or "unreadable page"))
            continue
        if result.page_type in ("captcha", "login"):
            report.problems.append(PageProblem(page.url, "gate", f"{result.page_type} page"))
        for warning in result.warnings:
            report.problems.append(PageProblem(page.url, "warning", warning))
        if result.vendor:
            profiles.append({**result.vendor, "name": vendor_name(result.vendor.get("name"))})
        listed_now[key] = []
        for listing in result.listings:
            doc = listing.as_dict()
            identity = listing_id(market, doc, root)
            listed_now[key].append(identity)
            doc["vendor"] = vendor_name(doc.get("vendor"))
            doc.update(
                listing_id=identity, market=market, captured_at=page.captured_at, source_url=page.url,
                page_type=result.page_type,
                capture={"warc_file": page.warc_file, "offset": page.offset, "digest": page.digest},
            )
            if identity in merged:
                _fill(merged[identity], doc, override=result.page_type == _DETAIL_PAGE)
            else:
                merged[identity] = doc
    if isinstance(learned, DriftWatch):
        learned.finish()
        if learned.message:
            report.status = "degraded" if report.status == "ok" else report.status
            report.error = report.error or learned.message
            report.notices.append({"kind": "layout-changed", "market": market, "message": learned.message,
                                   "version": learned.version, "pages": sorted(learned.drifted)})
    stored = sinks.index.get_many(merged) if merged else {}
    docs = [stamp_seen(_over_stored(stored[i], doc) if i in stored else doc, stored.get(i), doc["captured_at"])
            for i, doc in merged.items()]
    report.listings = len(docs)
    # Listings on pages that did not change are still on the market: seen again (an observation,
    # last_seen advanced), from the listings the page showed when it was last read.
    again_at: dict[str, str] = {}
    for key, captured_at in unchanged_at.items():
        for identity in listed_before.get(key, []):
            if identity not in merged:
                again_at[identity] = max(captured_at, again_at.get(identity, captured_at))
    again = seen_again(sinks.index, again_at) if again_at else []
    report.seen_again = len(again)
    if not write_or_spool(sinks.index, docs + again, sinks.pending_dir, report):
        return
    report.written_ids = [doc["listing_id"] for doc in docs]
    now = datetime.now(timezone.utc).isoformat()
    if sinks.history:
        # Listings still shown: on pages read now, and on unchanged pages as they were last read.
        present = {i for key in seen for i in listed_now.get(key, listed_before.get(key, []))} if complete else None
        report.listing_changes = sinks.history.record_run(market, now, docs + again, present, profiles)
        removed = [c["listing_id"] for c in report.listing_changes if c["kind"] == "removed_listing"]
        try:
            mark_removed(sinks.index, removed, now)
        except Exception as exc:  # the history has it; the next run or a rebuild marks the index
            report.problems.append(PageProblem("", "warning", f"could not mark {len(removed)} listings removed "
                                                              f"in the index ({exc})"))
    if sinks.state:
        report.gone = sinks.state.commit_run(market, seen, now, complete, listed_now)
        report.changes["gone"] = len(report.gone)


def write_batch(index: ListingIndex, docs: list[dict]) -> int:
    """Listings, then one observation of each (the price history)."""
    written = index.upsert(docs)
    index.add_observations([observation_from(doc) for doc in docs])
    return written


def write_or_spool(index: ListingIndex, docs: list[dict], pending_dir: Path, report: MarketReport) -> bool:
    try:
        report.indexed = write_batch(index, docs)
        return True
    except Exception as exc:  # any backend failure: keep the batch for the next run
        pending_dir.mkdir(parents=True, exist_ok=True)
        spool = pending_dir / f"{report.market}-{uuid.uuid4().hex[:8]}.jsonl"
        spool.write_text("".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs), encoding="utf-8")
        report.status = "failed"
        report.error = f"index write failed ({exc}); {len(docs)} listings kept in {spool} for the next run"
        return False


def replay_pending(index: ListingIndex, pending_dir: Path) -> int:
    """Index batches that an earlier run could not write; a batch file goes only once it is in."""
    replayed = 0
    for spool in sorted(pending_dir.glob("*.jsonl")) if pending_dir.is_dir() else []:
        docs = [json.loads(line) for line in spool.read_text(encoding="utf-8").splitlines() if line.strip()]
        try:
            replayed += write_batch(index, docs)
        except Exception as exc:
            refused = getattr(exc, "failures", None)  # per document, from the Elasticsearch backend
            if not refused or any(f["status"] in (0, 429) or f["status"] >= 500 for f in refused):
                raise  # the index is still unreachable or busy: the batch waits for the next run
            # Refused for good (a mapping error): set aside with the reasons, so it never blocks the rest.
            spool.with_suffix(".refused.json").write_text(json.dumps(refused, ensure_ascii=False), encoding="utf-8")
            spool.rename(spool.with_suffix(".refused"))
            continue
        spool.unlink()
    return replayed


def start_url_of(source: str) -> str:
    """Where a crawl starts: the source URL, or for a WARC source its first captured page."""
    if source.startswith("warc:"):
        first = next(read_pages(Path(source[len("warc:"):])), None)
        if first is None:
            raise CrawlRefused(f"{source}: the WARC file holds no pages")
        return first.url
    return source


def run_market(config: Config, market: MarketSource, sinks: Sinks,
               stopping: threading.Event | None = None) -> MarketReport:
    """Crawl, then extract and index. When ``stopping`` is set by the time the crawl ends
    (the scheduler is shutting down), nothing of the run is indexed and it ends interrupted."""
    started = datetime.now(timezone.utc)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    path = warc_path(config.captures_dir, market.name, started, run_id)
    report = MarketReport(market=market.name, warc_path=str(path))
    limits = config.limits
    try:
        start_url = start_url_of(market.source)
        cookies = load_cookies(market.cookies, urlsplit(start_url).hostname or "")
        summary = crawl(CrawlSpec(
            market=market.name, start_url=start_url, warc_path=str(path), proxies=list(config.http_proxies),
            cookies=cookies, on_gate=market.gate_policy,
            warc_source=market.source[len("warc:"):] if market.source.startswith("warc:") else None,
            http_cache_dir=str(config.data_dir / "httpcache" / market.name) if market.is_live else None,
            max_pages=limits.max_pages, max_depth=limits.max_depth, max_page_bytes=limits.max_page_bytes,
            timeout_s=limits.timeout_s, wall_clock_s=limits.wall_clock_s,
            retry_times=limits.retry_times, retry_base_delay_s=limits.retry_base_delay_s,
        ))
    except (CrawlRefused, SessionError) as exc:
        report.status, report.error = "failed", str(exc)
        return report
    if stopping is not None and stopping.is_set():
        report.status, report.error = "interrupted", "stopped by shutdown; nothing of this run was indexed"
        return report
    for failure in summary.failures:
        report.problems.append(PageProblem(failure["url"], "error", failure["error"]))
    if summary.status != "ok":
        report.status, report.error = "failed", summary.error
    elif summary.pages == 0:  # a monitor that cannot reach its market says so
        why = summary.failures[0]["error"] if summary.failures else "nothing could be fetched"
        report.status, report.error = "failed", f"source unreachable: {start_url}: {why}"
    elif summary.stopped_on_gate:
        gate = summary.gates[-1]
        report.status = "degraded"
        report.error = (f"stopped at a {gate['type']} page ({gate['url']}): the session needs renewing; "
                        "log in with Tor Browser and export fresh cookies")
    if path.exists():
        complete = summary.status == "ok" and summary.finish_reason == "finished"
        with sinks.write_lock or contextlib.nullcontext():
            ingest_warc(path, market.name, source_root(start_url), sinks, report, complete=complete)
    return report

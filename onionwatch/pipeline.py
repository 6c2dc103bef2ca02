"""The main job: crawl each market into the capture store, extract from the captures, index.

Extraction reads the WARC written by the crawl, never the live site, so the
same code replays any past capture. Index writes that fail are spooled to
``<data>/pending`` and replayed before the next run, so nothing is lost.
"""
from __future__ import annotations

import hashlib
import json
import posixpath
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from crawlers.evidence import read_pages, warc_path
from crawlers.runner import CrawlRefused, CrawlSpec, crawl
from extract.page import extract_page
from extract.rates import RatesStore
from index.protocol import ListingIndex
from onionwatch.config import Config, MarketSource

# Fields a listing's own page states best; category cards may abbreviate them.
_DETAIL_PAGE = "listing"


@dataclass
class PageProblem:
    url: str
    kind: str  # error, warning, gate
    message: str


@dataclass
class MarketReport:
    market: str
    status: str = "ok"  # ok, degraded (gate pages met), failed
    pages: int = 0
    listings: int = 0
    indexed: int = 0
    warc_path: str | None = None
    problems: list[PageProblem] = field(default_factory=list)
    error: str | None = None


def listing_key(url: str | None, source_root: str) -> str | None:
    """Where the listing lives within its market, the same across mirrors and captures."""
    if not url:
        return None
    if url.startswith(source_root):
        return url[len(source_root):]
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def listing_id(market: str, listing: dict, source_root: str) -> str:
    key = listing_key(listing.get("url"), source_root) or f"{listing.get('vendor')}\x1f{listing.get('title')}"
    return hashlib.sha256(f"{market}\x1f{key}".encode("utf-8")).hexdigest()[:32]


def source_root(start_url: str) -> str:
    """The folder (file://) or site (http) a market's pages live under."""
    parts = urlsplit(start_url)
    if parts.scheme == "file":
        return f"file://{parts.netloc}{posixpath.dirname(parts.path)}/"
    return f"{parts.scheme}://{parts.netloc}/"


def _merge(into: dict, new: dict, new_is_detail: bool) -> None:
    for key, value in new.items():
        if value in (None, "", []):
            continue
        if into.get(key) in (None, "", []) or new_is_detail:
            into[key] = value


def ingest_warc(
    path: Path, market: str, root: str, index: ListingIndex, rates: RatesStore | None, report: MarketReport,
    pending_dir: Path,
) -> None:
    """Extract every page in a capture file and index its listings (merged per listing id).

    Each page is recognised from its own markup, not from the configured market
    name: a market that changed its layout falls through to the generic extractor.
    """
    merged: dict[str, dict] = {}
    for page in read_pages(path):
        report.pages += 1
        captured = datetime.fromisoformat(page.captured_at.replace("Z", "+00:00"))
        result = extract_page(page.body, source=page.url, url=page.url, captured_at=captured, rates=rates)
        if result.page_type == "error":
            report.problems.append(PageProblem(page.url, "error", result.error or "unreadable page"))
            continue
        if result.page_type in ("captcha", "login"):
            report.problems.append(PageProblem(page.url, "gate", f"{result.page_type} page"))
            report.status = "degraded"
        for warning in result.warnings:
            report.problems.append(PageProblem(page.url, "warning", warning))
        for listing in result.listings:
            doc = listing.as_dict()
            identity = listing_id(market, doc, root)
            is_detail = result.page_type == _DETAIL_PAGE
            doc.update(
                listing_id=identity, market=market, captured_at=page.captured_at, source_url=page.url,
                page_type=result.page_type,
                capture={"warc_file": page.warc_file, "offset": page.offset, "digest": page.digest},
            )
            if identity in merged:
                _merge(merged[identity], doc, is_detail)
            else:
                merged[identity] = doc
    report.listings = len(merged)
    write_or_spool(index, list(merged.values()), pending_dir, report)


def write_or_spool(index: ListingIndex, docs: list[dict], pending_dir: Path, report: MarketReport) -> None:
    try:
        report.indexed = index.upsert(docs)
    except Exception as exc:  # any backend failure: keep the batch for the next run
        pending_dir.mkdir(parents=True, exist_ok=True)
        spool = pending_dir / f"{report.market}-{uuid.uuid4().hex[:8]}.jsonl"
        spool.write_text("".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs), encoding="utf-8")
        report.status = "failed"
        report.error = f"index write failed ({exc}); {len(docs)} listings kept in {spool} for the next run"


def replay_pending(index: ListingIndex, pending_dir: Path) -> int:
    """Index batches that an earlier run could not write; a batch file goes only once it is in."""
    replayed = 0
    for spool in sorted(pending_dir.glob("*.jsonl")) if pending_dir.is_dir() else []:
        docs = [json.loads(line) for line in spool.read_text(encoding="utf-8").splitlines() if line.strip()]
        replayed += index.upsert(docs)
        spool.unlink()
    return replayed


def run_market(config: Config, market: MarketSource, index: ListingIndex, rates: RatesStore | None) -> MarketReport:
    started = datetime.now(timezone.utc)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    path = warc_path(config.captures_dir, market.name, started, run_id)
    report = MarketReport(market=market.name, warc_path=str(path))
    limits = config.limits
    try:
        summary = crawl(CrawlSpec(
            market=market.name, start_url=market.source, warc_path=str(path), proxy=config.http_proxy,
            max_pages=limits.max_pages, max_depth=limits.max_depth, max_page_bytes=limits.max_page_bytes,
            timeout_s=limits.timeout_s, wall_clock_s=limits.wall_clock_s,
        ))
    except CrawlRefused as exc:
        report.status, report.error = "failed", str(exc)
        return report
    for failure in summary.failures:
        report.problems.append(PageProblem(failure["url"], "error", failure["error"]))
    if summary.status != "ok":
        report.status, report.error = "failed", summary.error
    if path.exists():
        ingest_warc(path, market.name, source_root(market.source), index, rates, report, config.data_dir / "pending")
    return report


def run_all(config: Config, index: ListingIndex) -> list[MarketReport]:
    rates = RatesStore(config.rates_db)
    try:
        replay_pending(index, config.data_dir / "pending")
        return [run_market(config, market, index, rates) for market in config.markets]
    finally:
        rates.close()

"""One saved page in, one contract record out: decode, spot gates, pick the page object, normalise."""
from __future__ import annotations

import gc
from datetime import date, datetime, timezone

from extract.crypto import find_addresses
from extract.document import UnreadablePage, parse
from extract.gates import gate_type
from extract.generic import GenericPage
from extract.markets import MARKETS, recognise
from extract.model import PageResult
from extract.normalise import normalise
from extract.pgp import find_fingerprints
from extract.rates import RatesStore


# Market pages are tens of kilobytes; a page this large is junk or an attack on the parser.
MAX_PAGE_BYTES = 10 * 1024 * 1024


class UnknownMarket(ValueError):
    pass


def extract_page(
    raw: bytes,
    source: str,
    url: str | None = None,
    market: str | None = None,
    generic: bool = False,
    captured_at: datetime | None = None,
    header_encoding: str | None = None,
    rates: RatesStore | None = None,
    learned=None,
) -> PageResult:
    """Extract one page. Never raises for a bad page: it comes back as ``page_type`` error.

    ``market`` forces a market's page objects; ``generic`` forces the generic
    extractor even where a market parser exists. ``learned`` (an
    ``extract.learned.LearnedMarket``) reads pages of the layouts it learned,
    after any page object and before the generic path; with ``market`` naming
    it, it stands in for the page objects.
    """
    if learned is not None and market == learned.name:
        generic = True  # the learned layout replaces the page objects; the generic path is the fallback
    if market is not None and market not in MARKETS and not generic:
        raise UnknownMarket(f"no parser for market {market!r} (known: {', '.join(sorted(MARKETS))})")
    if len(raw) > MAX_PAGE_BYTES:
        return PageResult(source=source, market=market, page_type="error",
                          error=f"page too large: {len(raw) / 1e6:.1f} MB (limit {MAX_PAGE_BYTES / 1e6:.0f} MB)")
    try:
        doc = parse(raw, header_encoding)
    except UnreadablePage as exc:
        return PageResult(source=source, market=market, page_type="error", error=str(exc))
    known = None if generic else (MARKETS[market] if market else recognise(doc))
    gate = gate_type(doc)
    if gate is not None:
        return PageResult(source=source, market=known.name if known else market, page_type=gate, warnings=doc.warnings)
    try:
        return _extract_from(doc, known, source, url, market, captured_at, rates, learned)
    except RecursionError:  # markup nested deeper than the page objects can walk
        return PageResult(source=source, market=known.name if known else market, page_type="error",
                          error="markup nested too deep to read (hundreds of levels)", warnings=doc.warnings)


# Two made-up item cards, one English and one Russian, with prices to convert: reading them loads
# everything extraction loads on first use (spaCy pipelines and their fast paths, the field and
# page models, lexicons, place tables, the exchange rates).
_WARM_UP_PAGE = """<html><head><title>Shop</title></head><body><div class="items">
<div class="item"><a href="/item/1">Widget powder 1g</a> <span>€10.50</span> <a href="/vendor/alpha">alpha</a>
<span>Ships from: Germany</span> <button>Buy</button></div>
<div class="item"><a href="/item/2">Порошок 1 г</a> <span>1 500 ₽</span> <a href="/vendor/beta">beta</a>
<span>Город: Москва</span> <button>Купить</button></div>
</div></body></html>""".encode()
_PREPARED = False


def prepare() -> None:
    """Load once what every page needs, then take it out of the garbage collector's full sweeps.

    Call it before extracting many pages in one process (the CLI's ``extract``, monitoring runs,
    the benchmark). What is loaded lives as long as the process, so ``gc.freeze`` moves it to the
    permanent generation: full collections no longer walk the pipelines and tables each time
    (they took about 7 % of a run over the corpus). Calling it again does nothing."""
    global _PREPARED
    if _PREPARED:
        return
    try:
        extract_page(_WARM_UP_PAGE, "warm-up", generic=True, captured_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    except Exception:  # noqa: BLE001 - a broken resource is reported by the pages that need it, one by one
        pass
    gc.collect()
    gc.freeze()
    _PREPARED = True


def _extract_from(doc, known, source, url, market, captured_at, rates, learned=None) -> PageResult:
    page = known.page_for(doc, url) if known else None
    if page is None and learned is not None:
        page = learned.page_for(doc, url)
        market = learned.name if page is not None or market is None else market
    if page is None:
        page = GenericPage(doc, url)
    day = (captured_at or datetime.now(timezone.utc)).date() if captured_at else date.today()
    listings = []
    warnings = list(doc.warnings)
    for raw_listing in page.listings():
        listing = normalise(raw_listing, page.page_rates, day, rates)
        if listing is None:
            warnings.append("an item without a title was skipped")
            continue
        listings.append(listing)
    vendor = page.vendor()
    if page.page_type == "listing" and len(listings) == 1:
        listings[0].crypto_addresses = find_addresses(doc.text)
        listings[0].pgp_fingerprints = find_fingerprints(doc.text)
    if vendor is not None:
        vendor["pgp_fingerprints"] = find_fingerprints(doc.text)
        vendor["crypto_addresses"] = find_addresses(doc.text)
    return PageResult(
        source=source,
        market=known.name if known else market,
        page_type=page.page_type,
        listings=listings,
        vendor=vendor,
        warnings=warnings,
    )

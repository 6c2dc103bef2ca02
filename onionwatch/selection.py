"""What an export, an evidence package or a report is about: a selection of listings.

One function, :func:`select`, turns ``--query Q | --vendor V | --market M | --listing ID``
and ``--since D`` into a stream of :class:`Selected` items: each listing with its
observations (the price history), its vendor account as history knows it (PGP keys,
crypto addresses, first and last seen) and the capture it came from. It reads the index
only through its interface (``ListingIndex.scan``, either backend) and the history store,
a page at a time, so a selection of a million listings streams in bounded memory.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Iterator

from index.history import History
from index.protocol import ListingIndex
from index.query import parse_query

PAGE = 500


class SelectionError(ValueError):
    """A selection that cannot be made (bad query, nothing named); the message is for the user."""


def _quoted(value: str) -> str:
    return '"' + value.replace('"', " ").strip() + '"'


@dataclass(frozen=True)
class Selection:
    query: str | None = None
    vendor: str | None = None
    market: str | None = None
    listing: str | None = None  # one listing id
    since: date | None = None

    def search_query(self) -> str:
        """The selection in the search language (``index.query``)."""
        parts = []
        if self.query:
            parts.append(f"({self.query})")
        if self.vendor:
            parts.append(f"vendor:{_quoted(self.vendor)}")
        if self.market:
            parts.append(f"market:{_quoted(self.market)}")
        if self.listing:
            parts.append(f"listing_id:{_quoted(self.listing)}")
        if self.since:
            parts.append(f"seen:>={self.since.isoformat()}")
        return " ".join(parts)

    def describe(self) -> dict:
        return {"query": self.query, "vendor": self.vendor, "market": self.market, "listing": self.listing,
                "since": self.since.isoformat() if self.since else None}

    def check(self) -> None:
        """Raise SelectionError with a one-line reason if the query does not parse."""
        try:
            parse_query(self.search_query())
        except ValueError as exc:
            raise SelectionError(str(exc).splitlines()[0]) from None


@dataclass
class Selected:
    listing: dict
    observations: list[dict] = field(default_factory=list)  # one per day seen, oldest first
    vendor: dict | None = None  # the vendor account on this market (history row), if known
    capture: dict | None = None  # warc_file, offset, digest of the page the listing was read from


class VendorLookup:
    """Vendor accounts from the history store, cached (there are far fewer vendors than listings)."""

    def __init__(self, history: History | None, size: int = 4096):
        self.history = history
        self.get = lru_cache(maxsize=size)(self._get)

    def _get(self, market: str, name: str) -> dict | None:
        if self.history is None or not name:
            return None
        for row in self.history.vendor(name):
            if row["market"] == market:
                return row
        return None


def select(index: ListingIndex, history: History | None, selection: Selection,
           observations: bool = True, page: int = PAGE) -> Iterator[Selected]:
    """The listings of a selection, in a stable order, each with what hangs off it."""
    selection.check()
    vendors = VendorLookup(history)
    batch: list[dict] = []
    for listing in index.scan(selection.search_query(), kind="listing", batch=page):
        batch.append(listing)
        if len(batch) == page:
            yield from _complete(index, batch, vendors, observations, page)
            batch = []
    if batch:
        yield from _complete(index, batch, vendors, observations, page)


def _complete(index: ListingIndex, batch: list[dict], vendors: VendorLookup, observations: bool,
              page: int) -> Iterator[Selected]:
    seen: dict[str, list[dict]] = {listing["listing_id"]: [] for listing in batch}
    if observations:
        for observation in index.scan("", kind="observation", only_ids=list(seen), batch=page):
            seen.setdefault(observation["listing_id"], []).append(observation)
    for listing in batch:
        history = sorted(seen.get(listing["listing_id"], []), key=lambda o: o.get("captured_at") or "")
        yield Selected(
            listing=listing, observations=history,
            vendor=vendors.get(listing.get("market") or "", listing.get("vendor") or ""),
            capture=listing.get("capture"),
        )

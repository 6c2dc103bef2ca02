"""The one interface every index backend offers; the rest of onionwatch sees only this."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Protocol


class IndexBusy(RuntimeError):
    """Another process holds the index's writer."""


@dataclass
class SearchResult:
    total: int
    hits: list[dict] = field(default_factory=list)


class ListingIndex(Protocol):
    def upsert(self, listings: Iterable[dict]) -> int:
        """Store listings by their ``listing_id``; an id seen before is replaced, never duplicated."""

    def add_observations(self, observations: Iterable[dict]) -> int:
        """Store observations (``index.aggregations.observation_from``), one per listing and day."""

    def price_stats(self, query: str = "", group_by: str = "drug") -> list[dict]:
        """Per month, group and base unit (g, ml, unit): observations, median, quartiles, mean USD."""

    def unpriced_observations(self, query: str = "") -> int:
        """Observations matched that have no USD price per unit (left out of ``price_stats``)."""

    def listing_counts(self, query: str = "", group_by: str = "market") -> list[dict]:
        """Listings per group."""

    def top_vendors(self, query: str = "", size: int = 10) -> list[dict]:
        """Vendors with the most listings, and the markets they sell on."""

    def get_many(self, listing_ids: Iterable[str]) -> dict[str, dict]:
        """The stored listings with these ids (missing ids are left out)."""

    def search(self, query: str, limit: int = 20, only_ids: list[str] | None = None,
               include_removed: bool = False) -> SearchResult:
        """Listings matching the query language of ``index.query``, best first (among ``only_ids`` if given).

        Listings removed from their market are left out unless ``include_removed`` or the
        query names a ``status:``; values are made canonical first (``index.vocab``)."""

    def scan(self, query: str = "", kind: str = "listing", only_ids: list[str] | None = None,
             batch: int = 500) -> Iterator[dict]:
        """Every document of ``kind`` (listing or observation) matching the query, fetched ``batch`` at a
        time in a stable order, so a selection of any size streams in bounded memory (exports)."""

    def clear(self) -> None:
        """Drop every document; the index is derived data, rebuilt from the capture store."""

    def count(self) -> int:
        """How many listings the index holds."""

    def close(self) -> None:
        ...

"""Index: one interface (``ListingIndex``), the embedded backend by default."""
from __future__ import annotations

from index.embedded import EmbeddedIndex
from index.protocol import ListingIndex, SearchResult


def open_index(config) -> ListingIndex:
    """The backend the configuration names, behind the common interface."""
    return EmbeddedIndex(config.index_dir)


__all__ = ["ListingIndex", "SearchResult", "open_index"]

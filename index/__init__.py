"""Index: one interface (``ListingIndex``), the embedded backend by default."""
from __future__ import annotations

from index.embedded import EmbeddedIndex
from index.protocol import ListingIndex, SearchResult


def open_index(config) -> ListingIndex:
    """The backend the configuration names, behind the common interface."""
    if config.index.backend == "elasticsearch":
        from index.elastic import ElasticsearchIndex

        settings = config.index
        return ElasticsearchIndex.from_settings(
            url=settings.url, api_key=settings.api_key, username=settings.username,
            password=settings.password, ca_certs=settings.ca_certs, prefix=settings.prefix,
        )
    return EmbeddedIndex(config.index_dir)


__all__ = ["ListingIndex", "SearchResult", "open_index"]

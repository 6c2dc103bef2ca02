"""Index: one interface (``ListingIndex``), the embedded backend by default."""
from __future__ import annotations

from index.embedded import EmbeddedIndex
from index.protocol import ListingIndex, SearchResult


class IndexUnavailable(RuntimeError):
    """The index cannot be opened (damaged files, unreachable server); the message says how to recover."""


def open_index(config) -> ListingIndex:
    """The backend the configuration names, behind the common interface."""
    if config.index.backend == "elasticsearch":
        from index.elastic import ElasticsearchIndex

        settings = config.index
        return ElasticsearchIndex.from_settings(
            url=settings.url, api_key=settings.api_key, username=settings.username,
            password=settings.password, ca_certs=settings.ca_certs, prefix=settings.prefix,
        )
    try:
        return EmbeddedIndex(config.index_dir)
    except ValueError as exc:  # tantivy: corrupted meta.json or segment files
        first = str(exc).split(":", 1)[0].strip() or "unreadable"
        raise IndexUnavailable(f"the index at {config.index_dir} is damaged ({first}); it is derived data: "
                               "recover with 'onionwatch index rebuild'") from None


__all__ = ["IndexUnavailable", "ListingIndex", "SearchResult", "open_index"]

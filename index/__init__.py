"""Index: one interface (``ListingIndex``), the embedded backend by default."""
from __future__ import annotations

from index.embedded import EmbeddedIndex
from index.protocol import ListingIndex, SearchResult


ENGINE_BACKENDS = ("elasticsearch", "opensearch")  # one backend, two flavours of client


class IndexUnavailable(RuntimeError):
    """The index cannot be opened (damaged files, unreachable server); the message says how to recover."""


def open_index(config) -> ListingIndex:
    """The backend the configuration names, behind the common interface."""
    if config.index.backend in ENGINE_BACKENDS:
        from index.elastic import ElasticsearchIndex

        settings = config.index
        return ElasticsearchIndex.from_settings(
            url=settings.url, api_key=settings.api_key, username=settings.username,
            password=settings.password, ca_certs=settings.ca_certs, prefix=settings.prefix,
            flavour=settings.backend,
        )
    try:
        return EmbeddedIndex(config.index_dir)
    except ValueError as exc:  # tantivy: corrupted meta.json or segment files
        first = str(exc).split(":", 1)[0].strip() or "unreadable"
        raise IndexUnavailable(f"the index at {config.index_dir} is damaged ({first}); it is derived data: "
                               "recover with 'onionwatch index rebuild'") from None


def open_history(config):
    """Changes and vendors: SQLite beside the embedded index; in the engine itself when the index is
    an Elasticsearch/OpenSearch cluster, so every crawler machine writing to it shares one history."""
    if config.index.backend in ENGINE_BACKENDS:
        from index.elastic import connect
        from index.engine_history import EngineHistory

        settings = config.index
        api = connect(settings.backend, settings.url, api_key=settings.api_key, username=settings.username,
                      password=settings.password, ca_certs=settings.ca_certs)
        return EngineHistory(api, prefix=settings.prefix, owns_client=True)
    from index.history import History

    return History(config.history_db)


__all__ = ["IndexUnavailable", "ListingIndex", "SearchResult", "open_history", "open_index"]

"""The Elasticsearch backend, through the official client (servers 8.x and 9.x), and its
OpenSearch flavour (servers 2.x, through ``opensearch-py``): the same mappings, the same
query and aggregation bodies; only the client differs (``[index] backend = "opensearch"``).

Listings live in a versioned index (``onionwatch-listings-v1``) behind an alias
(``onionwatch-listings``): a mapping change is a new version, a reindex, and an
atomic alias swap, with no downtime. An index template carries the settings and
mappings. Writes go through ``helpers.streaming_bulk`` with retries and back-off,
keyed by the stable listing id, so re-indexing never duplicates. User queries
become a bool query; free text goes through ``simple_query_string``, never a
raw ``query_string``.

Several hosts may be given (a list, or URLs separated by commas): the client spreads requests
over them and retries a request on another host when one fails to answer. Items the engine
rejects for load (429) are retried with exponential back-off; items it refuses (a mapping
error) are reported one by one in ``IndexWriteError.failures``.

Client and server majors must match (the client asks for its own API version):
``pip install "elasticsearch>=9,<10"`` for 9.x clusters, ``"elasticsearch>=8.13,<9"`` for 8.x.
"""
from __future__ import annotations

import os
import re
import time
from typing import Iterable

from elasticsearch import Elasticsearch

from index.aggregations import SHOWN_FIELDS, Aggregations, shown_names
from index.protocol import SearchResult
from index.query import (
    KEYWORD_FIELDS, NUMBER_FIELDS, And, Node, Not, Or, Range, Term, Text, listing_query,
)

MAPPING_VERSION = 2  # 2: listing lifecycle (status, first/last seen), base unit, names as written
_KEYWORD = {"type": "keyword", "normalizer": "folded"}
_CODES = {"type": "keyword"}  # country and currency codes: stored upper-case already
# simple_query_string operators, escaped so a user's word is only a word.
_SQS_SPECIAL = re.compile(r'([+|\-"*()~\\])')

SETTINGS = {
    "analysis": {
        "normalizer": {"folded": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
        "analyzer": {
            "russian_text": {"type": "russian"},
            "english_text": {"type": "english"},
        },
    },
}

MAPPINGS = {
    "dynamic": False,
    "properties": {
        "listing_id": {"type": "keyword"},
        "kind": {"type": "keyword"},  # listing (current state) or observation (one capture of it)
        "market": _KEYWORD,
        "title": {
            "type": "text",
            "fields": {
                "en": {"type": "text", "analyzer": "english_text"},
                "ru": {"type": "text", "analyzer": "russian_text"},
                "keyword": {"type": "keyword", "ignore_above": 512},
            },
        },
        "vendor": {**_KEYWORD, "fields": {"text": {"type": "text"}}},
        "drug": _KEYWORD,
        "drug_class": _KEYWORD,
        "city": {**_KEYWORD, "fields": {"text": {"type": "text", "analyzer": "russian_text"}}},
        "district": {**_KEYWORD, "fields": {"text": {"type": "text", "analyzer": "russian_text"}}},
        "dead_drop": _KEYWORD,
        "ships_from": _CODES,
        "ships_to": _CODES,
        "currency": _CODES,
        "unit": _CODES,
        "base_unit": _CODES,
        "status": _CODES,  # active or removed
        "first_seen": {"type": "date"},
        "last_seen": {"type": "date"},
        "removed_at": {"type": "date"},
        **{f"{name}_shown": {"type": "keyword"} for name in SHOWN_FIELDS},  # as written, for display
        **{name: {"type": "double"} for name in NUMBER_FIELDS},
        "captured_at": {"type": "date"},
        "month": {"type": "keyword"},
        "placeholder_price": {"type": "boolean"},
        "pgp_fingerprints": _CODES,
        "crypto_addresses": {"properties": {"chain": _CODES, "address": {"type": "keyword"}}},
        "url": {"type": "keyword", "index": False},
        "source_url": {"type": "keyword", "index": False},
    },
}
TEXT_FIELDS = ["title", "title.en", "title.ru", "vendor.text", "city.text", "district.text"]


def to_es_query(node: Node) -> dict:
    """The query tree as Elasticsearch query DSL."""
    if isinstance(node, Term):
        return {"term": {node.field: node.value}}
    if isinstance(node, Text):
        text = _SQS_SPECIAL.sub(r"\\\1", node.value)
        return {"simple_query_string": {
            "query": f'"{text}"' if node.phrase else text,
            "fields": TEXT_FIELDS, "default_operator": "and",
        }}
    if isinstance(node, Range):
        bounds = {}
        if node.low is not None:
            bounds["gte" if node.include_low else "gt"] = _bound(node.low)
        if node.high is not None:
            bounds["lte" if node.include_high else "lt"] = _bound(node.high)
        return {"range": {node.field: bounds}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [to_es_query(node.clause)]}}
    if isinstance(node, And):
        if not node.clauses:
            return {"match_all": {}}
        return {"bool": {"must": [to_es_query(c) for c in node.clauses]}}
    if isinstance(node, Or):
        return {"bool": {"should": [to_es_query(c) for c in node.clauses], "minimum_should_match": 1}}
    raise TypeError(f"unknown query node {node!r}")


def _bound(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else value


def es_document(listing: dict) -> dict:
    """A listing as stored in Elasticsearch: keyword values folded like the query's, plus its month."""
    document = dict(listing)
    document.setdefault("kind", "listing")
    for name in KEYWORD_FIELDS:
        if isinstance(document.get(name), str):
            document[name] = document[name].strip()
    if document.get("captured_at"):
        document["month"] = document["captured_at"][:7]
    document.update(shown_names(document))
    return document


class IndexWriteError(RuntimeError):
    """Some listings could not be written; each is named with its reason, so the batch can be kept for retry.

    ``failures``: one dict per document (``id``, ``status``, ``error``, ``reason``); status 0 when the
    engine could not be reached at all. ``written``: how many of the batch did go in.
    """

    def __init__(self, failures: list[dict], written: int = 0):
        self.failures = failures
        self.written = written
        named = "; ".join(f"{f['id']}: {f['error']} ({f['reason']})" if f.get("reason") else f"{f['id']}: {f['error']}"
                          for f in failures[:5])
        more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
        super().__init__(f"{len(failures)} listings not written: {named}{more}")


def _of_kind(query: dict, kind: str) -> dict:
    return {"bool": {"must": [query], "filter": [{"term": {"kind": kind}}]}}


def hosts_of(url) -> list[str]:
    """One URL, several separated by commas, or a list of them."""
    items = url if isinstance(url, (list, tuple)) else str(url).split(",")
    return [item.strip() for item in items if item and item.strip()]


class ElasticApi:
    """The requests the backend makes, through the official Elasticsearch client."""

    flavour = "elasticsearch"

    def __init__(self, client: Elasticsearch):
        import elastic_transport
        from elasticsearch import ApiError, ConflictError, NotFoundError

        self.client = client
        self._conflict, self._not_found, self._api_error = ConflictError, NotFoundError, ApiError
        self._unreachable = (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout)

    def is_transient(self, exc: Exception) -> bool:
        """The engine could not answer now (unreachable, overloaded, no primary): worth trying again later."""
        return isinstance(exc, self._unreachable) or getattr(exc, "status_code", getattr(exc, "status", 0)) in (
            429, 502, 503, 504)

    def is_already_there(self, exc: Exception) -> bool:
        return "resource_already_exists_exception" in str(exc)

    def put_template(self, name: str, patterns: list[str], template: dict) -> None:
        self.client.indices.put_index_template(name=name, index_patterns=patterns, priority=100, template=template)

    def exists_alias(self, name: str) -> bool:
        return bool(self.client.indices.exists_alias(name=name))

    def exists(self, index: str) -> bool:
        return bool(self.client.indices.exists(index=index))

    def create(self, index: str, body: dict | None = None) -> None:
        try:
            self.client.indices.create(index=index, **(body or {}))
        except self._api_error as exc:
            if not self.is_already_there(exc):
                raise

    def put_alias(self, index: str, name: str) -> None:
        self.client.indices.put_alias(index=index, name=name)

    def aliased(self, name: str) -> list[str]:
        return list(self.client.indices.get_alias(name=name).body)

    def reindex(self, source: str, dest: str) -> None:
        self.client.reindex(source={"index": source}, dest={"index": dest}, wait_for_completion=True, refresh=True)

    def update_aliases(self, actions: list[dict]) -> None:
        self.client.indices.update_aliases(actions=actions)

    def bulk(self, operations: list[dict]) -> dict:
        return self.client.bulk(operations=operations).body

    def refresh(self, index: str) -> None:
        self.client.indices.refresh(index=index)

    def mget(self, index: str, ids: list[str]) -> dict:
        return self.client.mget(index=index, ids=ids).body

    def search(self, index: str, body: dict) -> dict:
        return self.client.search(index=index, **body).body

    def delete_by_query(self, index: str, query: dict) -> None:
        self.client.delete_by_query(index=index, query=query, refresh=True, conflicts="proceed")

    def count(self, index: str, query: dict) -> int:
        return self.client.count(index=index, query=query)["count"]

    def get(self, index: str, doc_id: str) -> dict | None:
        """The document with its ``_seq_no`` and ``_primary_term`` (for optimistic concurrency), or None."""
        try:
            return self.client.get(index=index, id=doc_id).body
        except self._not_found:
            return None

    def put(self, index: str, doc_id: str, document: dict, if_seq_no: int | None = None,
            if_primary_term: int | None = None, create: bool = False) -> bool:
        """Write one document unless another writer got there first (False then)."""
        options = {"op_type": "create"} if create else {}
        if if_seq_no is not None:
            options.update(if_seq_no=if_seq_no, if_primary_term=if_primary_term)
        try:
            self.client.index(index=index, id=doc_id, document=document, **options)
        except self._conflict:
            return False
        return True

    def delete_indices(self, pattern: str) -> None:
        self.client.indices.delete(index=pattern, ignore_unavailable=True, allow_no_indices=True)

    def delete_template(self, name: str) -> None:
        self.client.indices.delete_index_template(name=name)

    def scan(self, index: str, query: dict, size: int):
        """Every hit's source, through the scroll API."""
        from elasticsearch import helpers

        for hit in helpers.scan(self.client, index=index, query={"query": query}, size=size, preserve_order=False):
            yield hit["_source"]

    def close(self) -> None:
        self.client.close()


class OpenSearchApi(ElasticApi):
    """The same requests through ``opensearch-py`` (OpenSearch 2.x): bodies in ``body=``, answers as dicts."""

    flavour = "opensearch"

    def __init__(self, client):
        import opensearchpy

        self.client = client
        self._conflict, self._not_found = opensearchpy.ConflictError, opensearchpy.NotFoundError
        self._api_error = opensearchpy.TransportError
        self._unreachable = (opensearchpy.ConnectionError, opensearchpy.ConnectionTimeout)

    def is_transient(self, exc: Exception) -> bool:
        if isinstance(exc, self._unreachable):
            return True
        return isinstance(exc, self._api_error) and exc.status_code in (429, 502, 503, 504)

    def put_template(self, name: str, patterns: list[str], template: dict) -> None:
        self.client.indices.put_index_template(
            name=name, body={"index_patterns": patterns, "priority": 100, "template": template})

    def create(self, index: str, body: dict | None = None) -> None:
        try:
            self.client.indices.create(index=index, body=body or None)
        except self._api_error as exc:
            if not self.is_already_there(exc):
                raise

    def aliased(self, name: str) -> list[str]:
        return list(self.client.indices.get_alias(name=name))

    def reindex(self, source: str, dest: str) -> None:
        self.client.reindex(body={"source": {"index": source}, "dest": {"index": dest}},
                            wait_for_completion=True, refresh=True)

    def update_aliases(self, actions: list[dict]) -> None:
        self.client.indices.update_aliases(body={"actions": actions})

    def bulk(self, operations: list[dict]) -> dict:
        return self.client.bulk(body=operations)

    def mget(self, index: str, ids: list[str]) -> dict:
        return self.client.mget(index=index, body={"ids": ids})

    def search(self, index: str, body: dict) -> dict:
        return self.client.search(index=index, body=body)

    def delete_by_query(self, index: str, query: dict) -> None:
        self.client.delete_by_query(index=index, body={"query": query}, refresh=True, conflicts="proceed")

    def count(self, index: str, query: dict) -> int:
        return self.client.count(index=index, body={"query": query})["count"]

    def get(self, index: str, doc_id: str) -> dict | None:
        try:
            return self.client.get(index=index, id=doc_id)
        except self._not_found:
            return None

    def put(self, index: str, doc_id: str, document: dict, if_seq_no: int | None = None,
            if_primary_term: int | None = None, create: bool = False) -> bool:
        options = {"op_type": "create"} if create else {}
        if if_seq_no is not None:
            options.update(if_seq_no=if_seq_no, if_primary_term=if_primary_term)
        try:
            self.client.index(index=index, id=doc_id, body=document, params=options)
        except self._conflict:
            return False
        return True

    def delete_indices(self, pattern: str) -> None:
        self.client.indices.delete(index=pattern, params={"ignore_unavailable": "true", "allow_no_indices": "true"})

    def delete_template(self, name: str) -> None:
        self.client.indices.delete_index_template(name=name)

    def scan(self, index: str, query: dict, size: int):
        from opensearchpy import helpers

        for hit in helpers.scan(self.client, index=index, query={"query": query}, size=size, preserve_order=False):
            yield hit["_source"]


FLAVOURS = ("elasticsearch", "opensearch")
# Item statuses worth sending again: rejected for load, or its shard briefly without a primary (a node left).
_RETRY_ITEM = (429, 503)


def connect(flavour: str = "elasticsearch", url=None, api_key: str | None = None, username: str | None = None,
            password: str | None = None, ca_certs: str | None = None, **client_options) -> ElasticApi:
    """A client for the flavour; settings from arguments, else ONIONWATCH_ES_URL, _API_KEY, _USER, _PASSWORD, _CA_CERTS."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown engine flavour {flavour!r} (choose from {', '.join(FLAVOURS)})")
    hosts = hosts_of(url or os.environ.get("ONIONWATCH_ES_URL") or "")
    if not hosts:
        raise ValueError(f"{flavour} needs a URL: [index] url in the config or ONIONWATCH_ES_URL")
    api_key = api_key or os.environ.get("ONIONWATCH_ES_API_KEY")
    username = username or os.environ.get("ONIONWATCH_ES_USER")
    password = password or os.environ.get("ONIONWATCH_ES_PASSWORD")
    ca_certs = ca_certs or os.environ.get("ONIONWATCH_ES_CA_CERTS")
    options = dict(client_options)
    options.setdefault("retry_on_timeout", True)
    options.setdefault("max_retries", 3)
    if flavour == "opensearch":
        from opensearchpy import OpenSearch

        if api_key:
            raise ValueError("OpenSearch has no API keys: give [index] username and password instead")
        if username:
            options["http_auth"] = (username, password or "")
        if ca_certs:
            options.update(ca_certs=ca_certs, verify_certs=True)
        if any(host.startswith("https:") for host in hosts):
            options.setdefault("use_ssl", True)
            options.setdefault("verify_certs", True)
        return OpenSearchApi(OpenSearch(hosts, **options))
    if api_key:
        options["api_key"] = api_key
    elif username:
        options["basic_auth"] = (username, password or "")
    if ca_certs:
        options["ca_certs"] = ca_certs
    return ElasticApi(Elasticsearch(hosts, **options))


class ElasticsearchIndex(Aggregations):
    """Listings in Elasticsearch or OpenSearch. ``shards``/``replicas`` go into the index template when given."""

    def __init__(self, api, prefix: str = "onionwatch", retry_backoff_s: float = 1.0, bulk_retries: int = 6,
                 shards: int | None = None, replicas: int | None = None):
        self.api = api if isinstance(api, ElasticApi) else ElasticApi(api)
        self.client = self.api.client
        self.flavour = self.api.flavour
        self.retry_backoff_s = retry_backoff_s
        self.bulk_retries = bulk_retries
        self.max_backoff_s = 30.0
        self.alias = f"{prefix}-listings"
        self.template = f"{prefix}-listings"
        self.prefix = prefix
        self.shards, self.replicas = shards, replicas
        self.retried_items = 0  # items the engine rejected for load (or had no primary for) and were sent again
        self._ready = False

    @classmethod
    def from_settings(cls, url=None, api_key: str | None = None, username: str | None = None,
                      password: str | None = None, ca_certs: str | None = None, prefix: str = "onionwatch",
                      flavour: str = "elasticsearch", shards: int | None = None, replicas: int | None = None,
                      **client_options) -> "ElasticsearchIndex":
        """Connection settings from arguments, else from ONIONWATCH_ES_URL, _API_KEY, _USER, _PASSWORD, _CA_CERTS."""
        api = connect(flavour, url, api_key=api_key, username=username, password=password, ca_certs=ca_certs,
                      **client_options)
        return cls(api, prefix=prefix, shards=shards, replicas=replicas)

    def versioned_name(self, version: int = MAPPING_VERSION) -> str:
        return f"{self.alias}-v{version}"

    def template_body(self) -> dict:
        settings = dict(SETTINGS)
        if self.shards is not None:
            settings["number_of_shards"] = self.shards
        if self.replicas is not None:
            settings["number_of_replicas"] = self.replicas
        return {"settings": settings, "mappings": MAPPINGS}

    def ensure_ready(self) -> None:
        """Template, versioned index and alias, created once if missing (several writers may race here)."""
        if self._ready:
            return
        self.api.put_template(self.template, [f"{self.alias}-v*"], self.template_body())
        if not self.api.exists_alias(self.alias):
            name = self.versioned_name()
            if not self.api.exists(name):
                self.api.create(name)
            self.api.put_alias(name, self.alias)
        self._ready = True

    def migrate(self, new_version: int) -> str:
        """Copy the listings into a new versioned index (new template mappings), then swap the alias at once.

        Searches go on during the copy and see the old index until the swap; writes should pause
        (a listing written to the old index after the copy began would be left behind)."""
        self.ensure_ready()
        current = self.api.aliased(self.alias)
        target = self.versioned_name(new_version)
        self.api.create(target)
        self.api.reindex(self.alias, target)
        self.api.update_aliases([
            *({"remove": {"index": name, "alias": self.alias}} for name in current),
            {"add": {"index": target, "alias": self.alias}},
        ])
        return target

    def upsert(self, listings: Iterable[dict]) -> int:
        return self._write(listings)

    def add_observations(self, observations: Iterable[dict]) -> int:
        return self._write(observations)

    def _write(self, documents: Iterable[dict]) -> int:
        """Bulk requests of 500, keyed by the stable id; items rejected for load go again after a back-off."""
        written, failures = 0, []
        try:
            self.ensure_ready()
        except Exception as exc:
            if not self.api.is_transient(exc):
                raise
            documents = list(documents)
            raise IndexWriteError([_unreached(doc, exc) for doc in documents]) from exc
        chunk: list[tuple[str, dict]] = []
        for doc in documents:
            chunk.append((doc.get("doc_id") or doc["listing_id"], es_document(doc)))
            if len(chunk) == 500:
                written += self._send(chunk, failures)
                chunk = []
        if chunk:
            written += self._send(chunk, failures)
        try:
            self.api.refresh(self.alias)
        except Exception as exc:
            if not self.api.is_transient(exc):
                raise
        if failures:
            raise IndexWriteError(failures, written)
        return written

    def _send(self, chunk: list[tuple[str, dict]], failures: list[dict]) -> int:
        written, todo, attempt = 0, chunk, 0
        while todo:
            operations = []
            for doc_id, source in todo:
                operations += [{"index": {"_index": self.alias, "_id": doc_id}}, source]
            try:
                answer = self.api.bulk(operations)
            except Exception as exc:
                if not self.api.is_transient(exc):
                    raise
                if attempt >= self.bulk_retries:
                    failures.extend(_unreached({"listing_id": doc_id}, exc) for doc_id, _ in todo)
                    return written
                self._back_off(attempt)
                attempt += 1
                continue
            again = []
            for (doc_id, source), item in zip(todo, answer["items"]):
                result = next(iter(item.values()))
                status = result.get("status", 0)
                if status < 300:
                    written += 1
                elif status in _RETRY_ITEM and attempt < self.bulk_retries:
                    again.append((doc_id, source))
                else:
                    error = result.get("error") or {}
                    failures.append({"id": doc_id, "status": status, "error": error.get("type", "error"),
                                     "reason": error.get("reason", "")})
            if again:
                self.retried_items += len(again)
                self._back_off(attempt)
                attempt += 1
            todo = again
        return written

    def _back_off(self, attempt: int) -> None:
        time.sleep(min(self.retry_backoff_s * 2 ** attempt, self.max_backoff_s))

    def get_many(self, listing_ids: Iterable[str]) -> dict[str, dict]:
        ids = list(dict.fromkeys(listing_ids))
        if not ids:
            return {}
        self.ensure_ready()
        answer = self.api.mget(self.alias, ids)
        return {doc["_id"]: _listing(doc["_source"]) for doc in answer["docs"]
                if doc.get("found") and doc["_source"].get("kind") == "listing"}

    def search(self, query: str, limit: int = 20, only_ids: list[str] | None = None,
               include_removed: bool = False) -> SearchResult:
        node = listing_query(query, include_removed)
        self.ensure_ready()
        body = _of_kind(to_es_query(node), "listing")
        if only_ids is not None:
            body["bool"]["filter"].append({"terms": {"listing_id": list(only_ids)}})
        answer = self.api.search(self.alias, {"query": body, "size": limit, "track_total_hits": True,
                                              "sort": ["_score", {"listing_id": "asc"}]})
        return SearchResult(total=answer["hits"]["total"]["value"],
                            hits=[_listing(hit["_source"]) for hit in answer["hits"]["hits"]])

    def scan(self, query: str = "", kind: str = "listing", only_ids: list[str] | None = None,
             batch: int = 500):
        """Matching documents through the scroll API (``helpers.scan``), ``batch`` per round trip."""
        self.ensure_ready()
        body = _of_kind(to_es_query(listing_query(query, include_removed=True)), kind)
        if only_ids is not None:
            body["bool"]["filter"].append({"terms": {"listing_id": list(only_ids)}})
        for source in self.api.scan(self.alias, body, batch):
            yield _listing(source)

    def clear(self) -> None:
        """Drop every document (before a rebuild from the capture store)."""
        self.ensure_ready()
        self.api.delete_by_query(self.alias, {"match_all": {}})

    def count(self) -> int:
        """Listings held (observations not counted)."""
        self.ensure_ready()
        return self.api.count(self.alias, {"term": {"kind": "listing"}})

    def _aggregate(self, node: Node, body: dict, kind: str) -> dict:
        self.ensure_ready()
        answer = self.api.search(self.alias, {"query": _of_kind(to_es_query(node), kind), "size": 0, "aggs": body})
        return answer["aggregations"]

    def _count(self, node: Node, kind: str) -> int:
        self.ensure_ready()
        return self.api.count(self.alias, _of_kind(to_es_query(node), kind))

    def drop(self) -> None:
        """Delete every index and the template of this prefix (tests, benchmarks)."""
        self.api.delete_indices(f"{self.alias}-v*")
        self.api.delete_template(self.template)

    def close(self) -> None:
        self.api.close()


def _unreached(doc: dict, exc: Exception) -> dict:
    return {"id": doc.get("doc_id") or doc["listing_id"], "status": 0, "error": "unreachable",
            "reason": type(exc).__name__}


def _listing(source: dict) -> dict:
    source = dict(source)
    source.pop("month", None)
    source.pop("kind", None)
    for name in SHOWN_FIELDS:
        source.pop(f"{name}_shown", None)
    return source

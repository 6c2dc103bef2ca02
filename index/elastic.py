"""The Elasticsearch backend, through the official client (servers 8.x and 9.x).

Listings live in a versioned index (``onionwatch-listings-v1``) behind an alias
(``onionwatch-listings``): a mapping change is a new version, a reindex, and an
atomic alias swap, with no downtime. An index template carries the settings and
mappings. Writes go through ``helpers.streaming_bulk`` with retries and back-off,
keyed by the stable listing id, so re-indexing never duplicates. User queries
become a bool query; free text goes through ``simple_query_string``, never a
raw ``query_string``.

Client and server majors must match (the client asks for its own API version):
``pip install "elasticsearch>=9,<10"`` for 9.x clusters, ``"elasticsearch>=8.13,<9"`` for 8.x.
"""
from __future__ import annotations

import os
import re
from typing import Iterable

from elasticsearch import Elasticsearch, helpers

from index.aggregations import Aggregations
from index.protocol import SearchResult
from index.query import (
    KEYWORD_FIELDS, NUMBER_FIELDS, And, Node, Not, Or, Range, Term, Text, parse_query,
)

MAPPING_VERSION = 1
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
    return document


class IndexWriteError(RuntimeError):
    """Some listings could not be written; they are named so the batch can be kept for retry."""


def _of_kind(query: dict, kind: str) -> dict:
    return {"bool": {"must": [query], "filter": [{"term": {"kind": kind}}]}}


class ElasticsearchIndex(Aggregations):
    def __init__(self, client: Elasticsearch, prefix: str = "onionwatch", retry_backoff_s: float = 1.0):
        self.client = client
        self.retry_backoff_s = retry_backoff_s
        self.alias = f"{prefix}-listings"
        self.template = f"{prefix}-listings"
        self.prefix = prefix
        self._ready = False

    @classmethod
    def from_settings(cls, url: str | None = None, api_key: str | None = None, username: str | None = None,
                      password: str | None = None, ca_certs: str | None = None, prefix: str = "onionwatch",
                      **client_options) -> "ElasticsearchIndex":
        """Connection settings from arguments, else from ONIONWATCH_ES_URL, _API_KEY, _USER, _PASSWORD, _CA_CERTS."""
        url = url or os.environ.get("ONIONWATCH_ES_URL")
        if not url:
            raise ValueError("Elasticsearch needs a URL: [index] url in the config or ONIONWATCH_ES_URL")
        api_key = api_key or os.environ.get("ONIONWATCH_ES_API_KEY")
        username = username or os.environ.get("ONIONWATCH_ES_USER")
        password = password or os.environ.get("ONIONWATCH_ES_PASSWORD")
        ca_certs = ca_certs or os.environ.get("ONIONWATCH_ES_CA_CERTS")
        options = dict(client_options)
        if api_key:
            options["api_key"] = api_key
        elif username:
            options["basic_auth"] = (username, password or "")
        if ca_certs:
            options["ca_certs"] = ca_certs
        options.setdefault("retry_on_timeout", True)
        options.setdefault("max_retries", 3)
        return cls(Elasticsearch(url, **options), prefix=prefix)

    def versioned_name(self, version: int = MAPPING_VERSION) -> str:
        return f"{self.alias}-v{version}"

    def ensure_ready(self) -> None:
        """Template, versioned index and alias, created once if missing."""
        if self._ready:
            return
        self.client.indices.put_index_template(
            name=self.template, index_patterns=[f"{self.alias}-v*"], priority=100,
            template={"settings": SETTINGS, "mappings": MAPPINGS},
        )
        if not self.client.indices.exists_alias(name=self.alias):
            name = self.versioned_name()
            if not self.client.indices.exists(index=name):
                self.client.indices.create(index=name)
            self.client.indices.put_alias(index=name, name=self.alias)
        self._ready = True

    def migrate(self, new_version: int) -> str:
        """Copy the listings into a new versioned index (new template mappings), then swap the alias at once."""
        self.ensure_ready()
        current = list(self.client.indices.get_alias(name=self.alias).body)
        target = self.versioned_name(new_version)
        self.client.indices.create(index=target)
        self.client.reindex(source={"index": self.alias}, dest={"index": target}, wait_for_completion=True, refresh=True)
        self.client.indices.update_aliases(actions=[
            *({"remove": {"index": name, "alias": self.alias}} for name in current),
            {"add": {"index": target, "alias": self.alias}},
        ])
        return target

    def upsert(self, listings: Iterable[dict]) -> int:
        return self._write(listings)

    def add_observations(self, observations: Iterable[dict]) -> int:
        return self._write(observations)

    def _write(self, documents: Iterable[dict]) -> int:
        self.ensure_ready()
        actions = ({"_op_type": "index", "_index": self.alias, "_id": doc.get("doc_id") or doc["listing_id"],
                    "_source": es_document(doc)} for doc in documents)
        written, failed = 0, []
        for ok, item in helpers.streaming_bulk(
            self.client, actions, chunk_size=500, max_retries=5, initial_backoff=self.retry_backoff_s, max_backoff=60,
            raise_on_error=False, raise_on_exception=False,
        ):
            if ok:
                written += 1
            else:
                failed.append(item.get("index", {}).get("_id"))
        self.client.indices.refresh(index=self.alias)
        if failed:
            raise IndexWriteError(f"{len(failed)} listings not written: {', '.join(map(str, failed[:5]))}")
        return written

    def get_many(self, listing_ids: Iterable[str]) -> dict[str, dict]:
        ids = list(dict.fromkeys(listing_ids))
        if not ids:
            return {}
        self.ensure_ready()
        answer = self.client.mget(index=self.alias, ids=ids)
        return {doc["_id"]: _listing(doc["_source"]) for doc in answer["docs"]
                if doc.get("found") and doc["_source"].get("kind") == "listing"}

    def search(self, query: str, limit: int = 20, only_ids: list[str] | None = None) -> SearchResult:
        node = parse_query(query)
        self.ensure_ready()
        body = _of_kind(to_es_query(node), "listing")
        if only_ids is not None:
            body["bool"]["filter"].append({"terms": {"listing_id": list(only_ids)}})
        answer = self.client.search(index=self.alias, query=body, size=limit,
                                    track_total_hits=True, sort=["_score", {"listing_id": "asc"}])
        return SearchResult(total=answer["hits"]["total"]["value"],
                            hits=[_listing(hit["_source"]) for hit in answer["hits"]["hits"]])

    def scan(self, query: str = "", kind: str = "listing", only_ids: list[str] | None = None,
             batch: int = 500):
        """Matching documents through the scroll API (``helpers.scan``), ``batch`` per round trip."""
        self.ensure_ready()
        body = _of_kind(to_es_query(parse_query(query)), kind)
        if only_ids is not None:
            body["bool"]["filter"].append({"terms": {"listing_id": list(only_ids)}})
        for hit in helpers.scan(self.client, index=self.alias, query={"query": body}, size=batch,
                                preserve_order=False):
            yield _listing(hit["_source"])

    def clear(self) -> None:
        """Drop every document (before a rebuild from the capture store)."""
        self.ensure_ready()
        self.client.delete_by_query(index=self.alias, query={"match_all": {}}, refresh=True, conflicts="proceed")

    def count(self) -> int:
        """Listings held (observations not counted)."""
        self.ensure_ready()
        return self.client.count(index=self.alias, query={"term": {"kind": "listing"}})["count"]

    def _aggregate(self, node: Node, body: dict, kind: str) -> dict:
        self.ensure_ready()
        answer = self.client.search(index=self.alias, query=_of_kind(to_es_query(node), kind), size=0, aggs=body)
        return answer["aggregations"]

    def close(self) -> None:
        self.client.close()


def _listing(source: dict) -> dict:
    source = dict(source)
    source.pop("month", None)
    source.pop("kind", None)
    return source

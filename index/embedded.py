"""The embedded default index: tantivy in a folder, no server.

Chosen by measurement on this hardware: a filtered full-text query over 100k
listings in about 1 ms, against 41 ms for SQLite FTS5. Each write batch is one
tantivy commit, which is atomic: a crash mid-batch leaves the last commit.
Listings (current state) and their observations share the index, told apart
by ``kind``; each document has a stable ``doc_id``, replaced on every write.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

import tantivy

from index.aggregations import SHOWN_FIELDS, Aggregations, shown_names
from index.protocol import IndexBusy, SearchResult
from index.query import KEYWORD_FIELDS, NUMBER_FIELDS, And, Node, Not, Or, Range, Term, Text, listing_query, normalise_value

SCHEMA_VERSION = 4
_WORD = re.compile(r"\w+", re.UNICODE)


_RAW_FIELDS = ("doc_id", "kind", "month", "placeholder_price", *KEYWORD_FIELDS)
_SHOWN = tuple(f"{name}_shown" for name in SHOWN_FIELDS)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in _RAW_FIELDS:
        builder.add_text_field(name, tokenizer_name="raw", fast=True, stored=name == "doc_id")
    for name in _SHOWN:
        builder.add_text_field(name, tokenizer_name="raw", fast=True)
    builder.add_text_field("text", tokenizer_name="default")
    for name in NUMBER_FIELDS:
        builder.add_float_field(name, indexed=True, fast=True)
    builder.add_date_field("captured_at", indexed=True, fast=True)
    builder.add_bytes_field("doc", stored=True)
    return builder.build()


def _chunks(items: Iterable[dict], size: int):
    chunk: list[dict] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _from_nanoseconds(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=value // 1000)


def words(text: str) -> list[str]:
    """Tokens as tantivy's default tokenizer makes them (alphanumeric runs, lower case)."""
    return [w.lower() for w in _WORD.findall(text) if w != "_"]


class EmbeddedIndex(Aggregations):
    def __init__(self, path: Path):
        older = [p for p in Path(path).glob("listings-v*") if p.name != f"listings-v{SCHEMA_VERSION}"]
        self.path = Path(path) / f"listings-v{SCHEMA_VERSION}"
        self._older = bool(older)
        self.path.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(self.path))

    @property
    def needs_rebuild(self) -> bool:
        """An index written by an older onionwatch is left as it was, and this one is empty:
        ``onionwatch index rebuild`` fills it from the capture store."""
        return self._older and self.count() == 0

    def _document(self, listing: dict) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text("doc_id", listing.get("doc_id") or listing["listing_id"])
        doc.add_text("kind", listing.get("kind") or "listing")
        doc.add_text("placeholder_price", "true" if listing.get("placeholder_price") else "false")
        if listing.get("captured_at"):
            doc.add_text("month", listing["captured_at"][:7])
        for name in KEYWORD_FIELDS:
            value = listing.get(name)
            for item in value if isinstance(value, list) else [value]:
                if item:
                    doc.add_text(name, normalise_value(name, str(item)))
        for name, value in shown_names(listing).items():
            doc.add_text(name, value)
        searchable = " ".join(
            str(listing.get(key) or "") for key in ("title", "vendor", "drug", "city", "district", "market")
        )
        doc.add_text("text", searchable)
        for name in NUMBER_FIELDS:
            if listing.get(name) is not None:
                doc.add_float(name, float(listing[name]))
        if listing.get("captured_at"):
            captured = datetime.fromisoformat(listing["captured_at"].replace("Z", "+00:00"))
            doc.add_date("captured_at", captured.astimezone(timezone.utc))
        doc.add_bytes("doc", json.dumps(listing, ensure_ascii=False).encode("utf-8"))
        return doc

    def upsert(self, listings: Iterable[dict]) -> int:
        return self._write(listings)

    def add_observations(self, observations: Iterable[dict]) -> int:
        return self._write(observations)

    def _write(self, documents: Iterable[dict]) -> int:
        # Two indexing threads: tantivy indexes while Python builds the next documents.
        writer = self._writer(heap_size=128 * 1024 * 1024, num_threads=2)
        count = 0
        try:
            for chunk in _chunks(documents, 10_000):
                # One delete for the chunk's ids (earlier versions of them), then the new versions:
                # tantivy orders operations, so the delete never touches what is added after it.
                ids = [document.get("doc_id") or document["listing_id"] for document in chunk]
                writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, "doc_id", ids))
                for document in chunk:
                    writer.add_document(self._document(document))
                count += len(chunk)
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()
        self.index.reload()
        return count

    def _writer(self, heap_size: int, num_threads: int):
        """The index's one writer; another process holding it is a one-line error, not a traceback."""
        try:
            return self.index.writer(heap_size=heap_size, num_threads=num_threads)
        except ValueError as exc:
            if "LockBusy" in str(exc) or "lock" in str(exc).lower():
                raise IndexBusy(f"the index at {self.path} is being written by another process "
                                "(another onionwatch run, replay or rebuild); try again when it has finished") from None
            raise

    def _tantivy_query(self, node: Node) -> tantivy.Query:
        schema = self.schema
        if isinstance(node, Term):
            return tantivy.Query.term_query(schema, node.field, node.value)
        if isinstance(node, Text):
            tokens = words(node.value)
            if not tokens:
                return tantivy.Query.all_query()
            if node.phrase and len(tokens) > 1:
                return tantivy.Query.phrase_query(schema, "text", tokens)
            if len(tokens) == 1:
                return tantivy.Query.term_query(schema, "text", tokens[0])
            return tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, tantivy.Query.term_query(schema, "text", t)) for t in tokens]
            )
        if isinstance(node, Range):
            kind = tantivy.FieldType.Date if node.field == "captured_at" else tantivy.FieldType.Float
            return tantivy.Query.range_query(
                schema, node.field, kind, node.low, node.high,
                include_lower=node.include_low if node.low is not None else True,
                include_upper=node.include_high if node.high is not None else True,
            )
        if isinstance(node, Not):
            return tantivy.Query.boolean_query([
                (tantivy.Occur.Must, tantivy.Query.all_query()),
                (tantivy.Occur.MustNot, self._tantivy_query(node.clause)),
            ])
        if isinstance(node, And):
            if not node.clauses:
                return tantivy.Query.all_query()
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, self._tantivy_query(c)) for c in node.clauses])
        if isinstance(node, Or):
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, self._tantivy_query(c)) for c in node.clauses])
        raise TypeError(f"unknown query node {node!r}")

    def get_many(self, listing_ids: Iterable[str]) -> dict[str, dict]:
        ids = list(dict.fromkeys(listing_ids))
        if not ids:
            return {}
        searcher = self.index.searcher()
        query = self._of_kind(tantivy.Query.term_set_query(self.schema, "listing_id", ids), "listing")
        result = searcher.search(query, limit=len(ids), count=False)
        docs = (json.loads(bytes(searcher.doc(address)["doc"][0])) for _score, address in result.hits)
        return {doc["listing_id"]: doc for doc in docs}

    def _of_kind(self, query: tantivy.Query, kind: str) -> tantivy.Query:
        return tantivy.Query.boolean_query([
            (tantivy.Occur.Must, query),
            (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "kind", kind)),
        ])

    def _aggregate(self, node: Node, body: dict, kind: str) -> dict:
        return self.index.searcher().aggregate(self._of_kind(self._tantivy_query(node), kind), body)

    def _count(self, node: Node, kind: str) -> int:
        return self.index.searcher().search(self._of_kind(self._tantivy_query(node), kind), limit=1, count=True).count

    def search(self, query: str, limit: int = 20, only_ids: list[str] | None = None,
               include_removed: bool = False) -> SearchResult:
        parsed = self._of_kind(self._tantivy_query(listing_query(query, include_removed)), "listing")
        if only_ids is not None:
            parsed = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, parsed),
                (tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "listing_id", list(only_ids))),
            ])
        searcher = self.index.searcher()
        result = searcher.search(parsed, limit=limit, count=True)
        hits = [json.loads(bytes(searcher.doc(address)["doc"][0])) for _score, address in result.hits]
        return SearchResult(total=result.count, hits=hits)

    def scan(self, query: str = "", kind: str = "listing", only_ids: list[str] | None = None,
             batch: int = 500):
        """Matching documents, ``batch`` at a time from one searcher (a snapshot), in capture-time order.

        Keyset paging on the capture time (a fast field), so no page costs more than ``batch``
        plus the documents captured in the same second (paged by doc_id); documents without a
        capture time come last, paged by doc_id.
        """
        Occur, Query = tantivy.Occur, tantivy.Query
        base = self._of_kind(self._tantivy_query(listing_query(query, include_removed=True)), kind)
        if only_ids is not None:
            base = Query.boolean_query([(Occur.Must, base),
                                        (Occur.Must, Query.term_set_query(self.schema, "listing_id", list(only_ids)))])
        searcher = self.index.searcher()

        def docs(hits):
            return (json.loads(bytes(searcher.doc(address)["doc"][0])) for _key, address in hits)

        def by_id(narrowed):
            offset = 0
            while True:
                hits = searcher.search(narrowed, limit=batch, count=False, order_by_field="doc_id",
                                       order=tantivy.Order.Asc, offset=offset).hits
                yield from docs(hits)
                if len(hits) < batch:
                    return
                offset += batch

        def at(low, include_low=True, high=None):
            bounds = Query.range_query(self.schema, "captured_at", tantivy.FieldType.Date, low, high,
                                       include_lower=include_low, include_upper=True)
            return Query.boolean_query([(Occur.Must, base), (Occur.Must, bounds)])

        after = None
        while True:
            if after is None:
                narrowed = Query.boolean_query([(Occur.Must, base), (Occur.Must, Query.exists_query("captured_at"))])
            else:
                narrowed = at(after, include_low=False)
            hits = searcher.search(narrowed, limit=batch, count=False, order_by_field="captured_at",
                                   order=tantivy.Order.Asc).hits
            if not hits:
                break
            last = hits[-1][0]
            yield from docs(h for h in hits if h[0] != last)
            moment = _from_nanoseconds(last)
            yield from by_id(at(moment, high=moment))  # all of that second, however many
            if len(hits) < batch:
                break
            after = moment
        yield from by_id(Query.boolean_query([(Occur.Must, base),
                                              (Occur.MustNot, Query.exists_query("captured_at"))]))

    def clear(self) -> None:
        """Drop every document (before a rebuild from the capture store)."""
        writer = self._writer(heap_size=64 * 1024 * 1024, num_threads=1)
        writer.delete_all_documents()
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()

    def count(self) -> int:
        """Listings held (observations not counted)."""
        query = tantivy.Query.term_query(self.schema, "kind", "listing")
        return self.index.searcher().search(query, limit=1, count=True).count

    def close(self) -> None:
        """Nothing to release: writers are opened per batch and closed by commit."""

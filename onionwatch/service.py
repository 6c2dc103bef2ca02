"""The operations analysts use, in one place: the CLI, the web pages and the HTTP API all call these.

Search (with facets, page numbers for people and stable cursors for machines),
statistics, changes, vendors, listings with their price history and captures,
the captured page itself read back from its WARC record (digest verified),
runs and watchlists. Nothing here prints or knows about HTTP.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from index.aggregations import GROUPS
from index.protocol import SearchResult
from index.query import QuerySyntaxError, listing_query, normalise_value, parse_query

FACETS = ("market", "drug", "ships_from", "city", "vendor", "status")
STAT_KINDS = ("prices", "counts", "top_vendors")
MAX_PAGE = 500
RELOAD_S = 1.0  # how stale an embedded index reader may be


class ServiceError(ValueError):
    """A user's mistake (bad query, unknown listing, bad cursor): one line, said back to them."""


class NotFound(ServiceError):
    pass


@dataclass
class Page:
    total: int
    hits: list[dict]
    next_cursor: str | None = None


@dataclass
class CaptureRecord:
    warc_file: str
    offset: int
    url: str
    captured_at: str
    content_type: str | None
    body: bytes
    recorded_digest: str
    computed_digest: str
    revisit: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems and self.recorded_digest == self.computed_digest


def encode_cursor(query: str, last_id: str, offset: int) -> str:
    raw = json.dumps({"q": hashlib.sha256(query.encode()).hexdigest()[:16], "after": last_id, "at": offset})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(query: str, cursor: str) -> tuple[str, int]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        last, offset = str(raw["after"]), int(raw["at"])
        same = raw["q"] == hashlib.sha256(query.encode()).hexdigest()[:16]
    except (ValueError, KeyError, TypeError):
        raise ServiceError("the cursor is not one this server gave out") from None
    if not same or offset < 0:
        raise ServiceError("the cursor belongs to another query")
    return last, offset


class Service:
    """One per process (the web app) or per command (the CLI); the index is opened on first use."""

    def __init__(self, config, index=None):
        self.config = config
        self._index = index
        self._lock = threading.Lock()
        self._reloaded = 0.0

    @property
    def index(self):
        if self._index is None:
            with self._lock:
                if self._index is None:
                    from index import open_index

                    self._index = open_index(self.config)
        reload = getattr(getattr(self._index, "index", None), "reload", None)
        if reload is not None and time.monotonic() - self._reloaded > RELOAD_S:
            reload()  # the embedded index: see what other processes (runs, the scheduler) committed
            self._reloaded = time.monotonic()
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()

    # -- search ---------------------------------------------------------------------------------
    def search(self, query: str, limit: int = 20, include_removed: bool = False) -> SearchResult:
        """Best first, as the CLI has always shown them; listings removed from their market only
        with ``include_removed`` or a ``status:`` in the query."""
        try:
            return self.index.search(query, limit=limit, include_removed=include_removed)
        except QuerySyntaxError as exc:
            raise ServiceError(str(exc)) from None

    def needs_rebuild(self) -> bool:
        """An empty index of this version beside one an older version wrote."""
        return bool(getattr(self.index, "needs_rebuild", False))

    def search_page(self, query: str, page: int = 1, size: int = 20) -> Page:
        """Best first, page ``page`` (from 1) of ``size``: for people paging through results."""
        size = max(1, min(size, MAX_PAGE))
        page = max(1, page)
        node = _parse(query)
        total, hits = _backend(self.index).ranked(node, size, (page - 1) * size)
        return Page(total=total, hits=hits)

    def search_cursor(self, query: str, limit: int = 100, cursor: str | None = None) -> Page:
        """In listing-id order after the cursor: each listing exactly once however the index changes
        between calls (a listing added behind the cursor is not seen, one added ahead is)."""
        limit = max(1, min(limit, MAX_PAGE))
        node = _parse(query)
        last, offset = decode_cursor(query, cursor) if cursor else (None, 0)
        total, hits, offset = _backend(self.index).after(node, limit, last, offset)
        next_cursor = encode_cursor(query, hits[-1]["listing_id"], offset) if len(hits) == limit else None
        return Page(total=total, hits=hits, next_cursor=next_cursor)

    def export(self, query: str, batch: int = 5000) -> Iterator[dict]:
        """Every listing the query matches, streamed a batch at a time, each once."""
        node = _parse(query)
        backend = _backend(self.index)
        if hasattr(backend, "export"):
            yield from backend.export(node, batch)
            return
        last, offset = None, 0
        while True:
            _total, hits, offset = backend.after(node, batch, last, offset)
            yield from hits
            if len(hits) < batch:
                return
            last = hits[-1]["listing_id"]

    def facets(self, query: str, size: int = 10) -> dict[str, list[dict]]:
        """Counts of the matching listings per value of each facet field the index groups by,
        in one aggregation pass."""
        node = _parse(query)
        fields = [name for name in FACETS if name in GROUPS or name == "status"]
        body = {name: {"terms": {"field": name, "size": size}} for name in fields}
        answer = self.index._aggregate(node, body, "listing")
        return {name: [{"value": bucket["key"], "count": bucket["doc_count"]}
                       for bucket in answer[name]["buckets"]] for name in fields}

    # -- statistics, changes, vendors, runs ---------------------------------------------------------
    def stats(self, query: str = "", by: str = "drug", kind: str = "prices", top: int = 10) -> list[dict]:
        if kind not in STAT_KINDS:
            raise ServiceError(f"no statistic {kind!r} (choose from {', '.join(STAT_KINDS)})")
        try:
            if kind == "top_vendors":
                return self.index.top_vendors(query, size=top)
            if kind == "counts":
                return self.index.listing_counts(query, group_by=by)
            return self.index.price_stats(query, group_by=by)
        except (QuerySyntaxError, ValueError) as exc:
            raise ServiceError(str(exc)) from None

    def unpriced(self, query: str = "") -> int:
        """Observations the price figures leave out (no USD price per base unit)."""
        try:
            return self.index.unpriced_observations(query)
        except (QuerySyntaxError, ValueError) as exc:
            raise ServiceError(str(exc)) from None

    def changes(self, since: str, market: str | None = None) -> list[dict]:
        from index import open_history

        history = open_history(self.config)
        try:
            return history.changes(since, market)
        finally:
            history.close()

    def vendor(self, name: str) -> list[dict]:
        from index import open_history

        history = open_history(self.config)
        try:
            return history.vendor(name)
        finally:
            history.close()

    def runs(self, limit: int = 20, market: str | None = None) -> list[dict]:
        from onionwatch.runlog import RunLog

        log = RunLog(self.config.runs_db)
        try:
            return log.recent(limit, market)
        finally:
            log.close()

    # -- listings and captures --------------------------------------------------------------------
    def listing(self, listing_id: str) -> dict:
        found = self.index.get_many([listing_id]).get(listing_id)
        if found is None:
            raise NotFound(f"no listing {listing_id!r}")
        return found

    def lifecycle(self, listing_id: str) -> dict | None:
        """First and last seen, and when it went (from the history of runs)."""
        import sqlite3

        path = Path(self.config.history_db)
        if not path.exists():
            return None
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT first_seen, last_seen, gone_at FROM listing_state WHERE listing_id = ?",
                             (listing_id,)).fetchone()
        except sqlite3.Error:
            return None
        finally:
            db.close()
        return dict(zip(("first_seen", "last_seen", "gone_at"), row)) if row else None

    def observations(self, listing_id: str) -> list[dict]:
        """The listing's price history: one observation per day it was seen, oldest first."""
        self.listing(listing_id)
        return _backend(self.index).observations(listing_id)

    def captures(self, listing_id: str) -> list[dict]:
        """The capture records the listing came from (file, offset, digest)."""
        capture = self.listing(listing_id).get("capture")
        return [capture] if capture else []

    def read_capture(self, warc_file: str, offset: int) -> CaptureRecord:
        """The record at ``offset`` of a capture file in the store, its digest checked again."""
        from crawlers.warcreader import ArchiveIterator

        from crawlers.evidence import sha256_digest

        root = Path(self.config.captures_dir).resolve()
        path = Path(warc_file).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFound("no such capture file in the capture store")
        with open(path, "rb") as handle:
            handle.seek(offset)
            try:
                record = next(iter(ArchiveIterator(handle, check_digests=True)))
                body = record.content_stream().read()
            except Exception:  # noqa: BLE001 - whatever warcio makes of a bad offset
                raise NotFound(f"no capture record at offset {offset}") from None
            headers = record.rec_headers
            if record.http_headers is not None and record.rec_type in ("response", "revisit"):
                content_type = record.http_headers.get_header("Content-Type")
            else:
                content_type = headers.get_header("Content-Type")
            problems = [str(p) for p in (record.digest_checker.problems or [])]
            return CaptureRecord(
                warc_file=str(path), offset=offset, url=headers.get_header("WARC-Target-URI") or "",
                captured_at=headers.get_header("WARC-Date") or "", content_type=content_type, body=body,
                recorded_digest=headers.get_header("WARC-Payload-Digest") or "",
                computed_digest=sha256_digest(body), revisit=record.rec_type == "revisit", problems=problems,
            )

    def listing_capture(self, listing_id: str, number: int = 0) -> CaptureRecord:
        captures = self.captures(listing_id)
        if not 0 <= number < len(captures):
            raise NotFound(f"listing {listing_id!r} has no capture {number}")
        return self.read_capture(captures[number]["warc_file"], int(captures[number]["offset"]))

    # -- watchlists -------------------------------------------------------------------------------
    def _watchlists(self):
        from onionwatch.alerts import Watchlists

        return Watchlists(self.config.watch_db)

    def alert_sinks(self) -> list:
        """The configured alert sinks (none: hits are kept until one is configured)."""
        from onionwatch.monitor import alert_sinks

        return alert_sinks(self.config)

    def watchlists(self) -> list[dict]:
        watchlists = self._watchlists()
        try:
            return watchlists.all()
        finally:
            watchlists.close()

    def add_watchlist(self, name: str, query: str) -> None:
        name = (name or "").strip()
        if not name:
            raise ServiceError("name the watchlist")
        if not (query or "").strip():
            raise ServiceError("give the query")
        watchlists = self._watchlists()
        try:
            watchlists.add(name, query)
        except QuerySyntaxError as exc:
            raise ServiceError(str(exc)) from None
        finally:
            watchlists.close()

    def remove_watchlist(self, name: str) -> bool:
        watchlists = self._watchlists()
        try:
            return watchlists.remove(name)
        finally:
            watchlists.close()

    def watchlist_hits(self, name: str, limit: int = 200) -> list[dict]:
        """The alerts a watchlist raised, newest first."""
        if not any(w["name"] == name for w in self.watchlists()):
            raise NotFound(f"no watchlist named {name!r}")
        watchlists = self._watchlists()
        try:
            rows = watchlists._db.execute(
                "SELECT created, payload FROM alerts WHERE watchlist = ? ORDER BY created DESC, listing_id LIMIT ?",
                (name, limit)).fetchall()
        finally:
            watchlists.close()
        return [{"created": row["created"], **json.loads(row["payload"])["listing"]} for row in rows]


def _parse(query: str):
    """The query as a search runs it: canonical values, listings still on their market unless the
    query names a ``status:``."""
    try:
        return listing_query(query)
    except QuerySyntaxError as exc:
        raise ServiceError(str(exc)) from None


# -- what the common index interface does not offer, per backend ------------------------------------
def _literal(char: str) -> str:
    return "\\x{%x}" % ord(char)


WIDE_LEVELS = 2  # levels with a literal prefix this short match much of the dictionary (ids are hashes)


def _after_levels(last: str) -> list[str]:
    """Regular expressions that together match exactly the strings sorting after ``last``, each set
    sorting before the next: ``last`` followed by more; then, from the last character back, the
    strings sharing ``last``'s first i characters with a greater (i+1)th. The first sets are narrow
    (long literal prefixes: a short walk of the term dictionary), so a page is usually filled
    before the wide ones are needed."""
    levels = ["".join(_literal(c) for c in last) + "(?s:.)+"]
    for i in range(len(last) - 1, -1, -1):
        prefix = "".join(_literal(c) for c in last[:i])
        if i < WIDE_LEVELS and ord(last[i]) < 0x7F:
            # a wide level: one character at a time (ids are mostly ASCII), the rest of Unicode last
            levels.extend(f"{prefix}{_literal(chr(code))}(?s:.)*" for code in range(ord(last[i]) + 1, 0x80))
            levels.append(f"{prefix}[^\\x{{0}}-\\x{{7f}}](?s:.)*")
        else:
            levels.append(f"{prefix}[^\\x{{0}}-{_literal(last[i])}](?s:.)*")
    return levels


def _backend(index):
    from index.embedded import EmbeddedIndex

    if isinstance(index, EmbeddedIndex):
        return _Embedded(index)
    from index.elastic import ElasticsearchIndex

    if isinstance(index, ElasticsearchIndex):
        return _Elastic(index)
    return _Generic(index)


class _Embedded:
    def __init__(self, index):
        self.index = index

    def _docs(self, searcher, hits) -> list[dict]:
        return [json.loads(bytes(searcher.doc(address)["doc"][0])) for _key, address in hits]

    def ranked(self, node, limit: int, offset: int) -> tuple[int, list[dict]]:
        searcher = self.index.index.searcher()
        query = self.index._of_kind(self.index._tantivy_query(node), "listing")
        result = searcher.search(query, limit=limit, count=True, offset=offset)
        return result.count, self._docs(searcher, result.hits)

    def after(self, node, limit: int, last: str | None, offset: int) -> tuple[int, list[dict], int]:
        import tantivy

        searcher = self.index.index.searcher()
        query = self.index._of_kind(self.index._tantivy_query(node), "listing")
        if last is None:
            result = searcher.search(query, limit=limit, count=True, order_by_field="listing_id",
                                     order=tantivy.Order.Asc)
            return result.count, self._docs(searcher, result.hits), len(result.hits)
        # tantivy has no range query over text: the ids after the cursor are read level by level
        # (regular expressions matched against the term dictionary), nearest first.
        found = []
        for pattern in _after_levels(normalise_value("listing_id", last)):
            level = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, query),
                (tantivy.Occur.Must, tantivy.Query.regex_query(self.index.schema, "listing_id", pattern)),
            ])
            result = searcher.search(level, limit=limit - len(found), count=False, order_by_field="listing_id",
                                     order=tantivy.Order.Asc)
            found.extend(result.hits)
            if len(found) == limit:
                break
        total = searcher.search(query, limit=1, count=True).count
        return total, self._docs(searcher, found), offset + len(found)

    def export(self, node, batch: int) -> Iterator[dict]:
        """One searcher (a snapshot of the index) paged through by offset: consistent and cheap."""
        searcher = self.index.index.searcher()
        query = self.index._of_kind(self.index._tantivy_query(node), "listing")
        offset = 0
        while True:
            result = searcher.search(query, limit=batch, count=False, offset=offset)
            yield from self._docs(searcher, result.hits)
            if len(result.hits) < batch:
                return
            offset += batch

    def observations(self, listing_id: str) -> list[dict]:
        import tantivy

        searcher = self.index.index.searcher()
        query = self.index._of_kind(tantivy.Query.term_query(self.index.schema, "listing_id", listing_id),
                                    "observation")
        result = searcher.search(query, limit=10_000, count=False, order_by_field="captured_at",
                                 order=tantivy.Order.Asc)
        return self._docs(searcher, result.hits)


class _Elastic:
    def __init__(self, index):
        self.index = index

    def _search(self, node, kind: str, **options) -> dict:
        from index.elastic import _of_kind, to_es_query

        self.index.ensure_ready()
        return self.index.client.search(index=self.index.alias, query=_of_kind(to_es_query(node), kind),
                                        track_total_hits=True, **options)

    @staticmethod
    def _hits(answer) -> list[dict]:
        from index.elastic import _listing

        return [_listing(hit["_source"]) for hit in answer["hits"]["hits"]]

    def ranked(self, node, limit: int, offset: int) -> tuple[int, list[dict]]:
        answer = self._search(node, "listing", size=limit, from_=offset, sort=["_score", {"listing_id": "asc"}])
        return answer["hits"]["total"]["value"], self._hits(answer)

    def after(self, node, limit: int, last: str | None, offset: int) -> tuple[int, list[dict], int]:
        options = {"search_after": [last]} if last is not None else {}
        answer = self._search(node, "listing", size=limit, sort=[{"listing_id": "asc"}], **options)
        hits = self._hits(answer)
        return answer["hits"]["total"]["value"], hits, offset + len(hits)

    def observations(self, listing_id: str) -> list[dict]:
        from index.query import Term

        answer = self._search(Term("listing_id", listing_id), "observation", size=10_000,
                              sort=[{"captured_at": "asc"}])
        return self._hits(answer)


class _Generic:
    """Any other backend: only the common interface, so pages are cut from a longer best-first list."""

    def __init__(self, index):
        self.index = index

    def ranked(self, node, limit: int, offset: int) -> tuple[int, list[dict]]:
        raise ServiceError("this index backend cannot page")

    after = observations = ranked

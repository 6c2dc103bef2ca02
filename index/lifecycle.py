"""A listing's life on its market, kept on the indexed listing itself.

``status`` is ``active`` while the market shows the listing and ``removed`` once a
complete crawl no longer finds it (``removed_at`` says when); ``first_seen`` and
``last_seen`` bound the time it was on offer. Search leaves removed listings out
unless asked (``status:removed``, ``--all``). A listing on a page that did not
change since the last run is still on the market: it is seen again, from the
page's remembered listings, without re-extracting the page.
"""
from __future__ import annotations

from typing import Iterable

from index.protocol import ListingIndex

ACTIVE, REMOVED = "active", "removed"


def stamp_seen(doc: dict, stored: dict | None, seen_at: str) -> dict:
    """Mark ``doc`` seen at ``seen_at``: active, first seen when first stored (or now), last seen now."""
    first = (stored or {}).get("first_seen") or doc.get("first_seen") or seen_at
    doc["first_seen"] = min(first, seen_at)
    doc["last_seen"] = max(seen_at, (stored or {}).get("last_seen") or seen_at)
    doc["status"] = ACTIVE
    doc["removed_at"] = None
    return doc


def seen_again(index: ListingIndex, seen_at: dict[str, str]) -> list[dict]:
    """The stored listings with these ids (listing id -> when its unchanged page was captured),
    seen again; ids the index does not hold are left out."""
    stored = index.get_many(seen_at)
    return [stamp_seen(dict(doc), doc, seen_at[listing_id]) for listing_id, doc in stored.items()]


def mark_removed(index: ListingIndex, listing_ids: Iterable[str], at: str) -> int:
    """Listings a complete crawl no longer found: removed at ``at``, kept for history."""
    stored = index.get_many(listing_ids)
    docs = [{**doc, "status": REMOVED, "removed_at": at} for doc in stored.values()]
    return index.upsert(docs) if docs else 0


def restore_from_history(index: ListingIndex, states: Iterable[dict], chunk: int = 1000) -> int:
    """After a rebuild from the capture store: status and first/last seen as the run history
    recorded them (``History.lifecycle()``), since captures alone cannot tell what was removed."""
    restored = 0
    batch: list[dict] = []

    def flush() -> int:
        stored = index.get_many(state["listing_id"] for state in batch)
        docs = []
        for state in batch:
            doc = stored.get(state["listing_id"])
            if doc is None:
                continue
            doc.update(first_seen=state["first_seen"], last_seen=state["last_seen"],
                       status=REMOVED if state["gone_at"] else ACTIVE, removed_at=state["gone_at"])
            docs.append(doc)
        batch.clear()
        return index.upsert(docs) if docs else 0

    for state in states:
        batch.append(state)
        if len(batch) >= chunk:
            restored += flush()
    if batch:
        restored += flush()
    return restored

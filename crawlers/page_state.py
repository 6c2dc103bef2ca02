"""What each market page looked like at the last run, by content hash: new, changed, unchanged, gone.

A re-crawl extracts only new and changed pages. The state is written in one
SQLite transaction after the run's listings are safely indexed, so a run that
dies half-way leaves the old state, and the next run redoes its pages.
"""
from __future__ import annotations

import json
from pathlib import Path
from stores import open_sqlite


class PageState:
    def __init__(self, path: Path):
        self._db = open_sqlite(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pages (market TEXT NOT NULL, page TEXT NOT NULL, digest TEXT NOT NULL,"
            " first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, listings TEXT NOT NULL DEFAULT '[]',"
            " PRIMARY KEY (market, page))"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(pages)")}
        if "listings" not in columns:  # state written before pages remembered their listings
            self._db.execute("ALTER TABLE pages ADD COLUMN listings TEXT NOT NULL DEFAULT '[]'")

    def close(self) -> None:
        self._db.close()

    def known(self, market: str) -> dict[str, str]:
        """page -> digest at the last run."""
        return dict(self._db.execute("SELECT page, digest FROM pages WHERE market = ?", (market,)))

    def listings_on(self, market: str) -> dict[str, list[str]]:
        """page -> ids of the listings it showed at the last run that read it."""
        return {page: json.loads(ids) for page, ids in
                self._db.execute("SELECT page, listings FROM pages WHERE market = ?", (market,))}

    def classify(self, known: dict[str, str], page: str, digest: str) -> str:
        if page not in known:
            return "new"
        return "unchanged" if known[page] == digest else "changed"

    def commit_run(self, market: str, seen: dict[str, str], when: str, complete: bool,
                   listings: dict[str, list[str]]) -> list[str]:
        """Store this run's pages (and the listings of those read again); when the crawl was
        complete, forget (and return) pages no longer there."""
        gone: list[str] = []
        with self._db:
            self._db.executemany(
                "INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (market, page)"
                " DO UPDATE SET digest = excluded.digest, last_seen = excluded.last_seen",
                [(market, page, digest, when, when, "[]") for page, digest in seen.items()],
            )
            self._db.executemany(
                "UPDATE pages SET listings = ? WHERE market = ? AND page = ?",
                [(json.dumps(ids), market, page) for page, ids in listings.items()],
            )
            if complete:
                gone = [page for page in self.known(market) if page not in seen]
                self._db.executemany("DELETE FROM pages WHERE market = ? AND page = ?", [(market, p) for p in gone])
        return sorted(gone)

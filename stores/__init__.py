"""The small SQLite stores under the data folder (page state, rates, history, runs, watchlists and
alerts, accounts, audit, leads), opened one way: ``open_sqlite``.

A neutral package: ``crawlers``, ``extract``, ``index`` and ``onionwatch`` all import it, and it
imports none of them. What each store holds and how to recover it is in ``onionwatch/recovery.py``.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_MS = 5000  # another process writing (the scheduler and a manual command) waits, not fails


def open_sqlite(path: str | Path, *, threads: bool = False, autocommit: bool = False) -> sqlite3.Connection:
    """One store's connection: its folder made, rows as ``sqlite3.Row`` (by name and by index),
    write-ahead logging so readers never block the writer, a busy timeout.

    ``threads``: the connection is used from several threads (the web app, alert delivery), each
    use under the store's own lock. ``autocommit``: every statement commits by itself (stores that
    manage their own ``BEGIN``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=not threads, isolation_level=None if autocommit else "")
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    return db


__all__ = ["open_sqlite"]

"""The audit trail: who searched, viewed, exported or administered what, when, and from where.

Append-only SQLite: triggers refuse every UPDATE and DELETE, and each entry
carries the SHA-256 of the previous entry's hash and its own content, so an
entry changed or removed behind SQLite's back (the file edited, the triggers
dropped) breaks the chain and ``verify`` names the first broken entry.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator
from stores import open_sqlite

GENESIS = "0" * 64
FIELDS = ("id", "at", "user", "address", "action", "target", "detail", "prev_hash", "hash")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT NOT NULL, address TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


def _entry_hash(prev_hash: str, at: str, user: str, address: str, action: str, target: str, detail: str) -> str:
    content = json.dumps([prev_hash, at, user, address, action, target, detail], ensure_ascii=False)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, path: Path):
        self._db = open_sqlite(path, threads=True, autocommit=True)
        self._lock = threading.Lock()
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record(self, user: str, address: str, action: str, target: str = "", detail: dict | None = None) -> int:
        at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        detail_json = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes too
            try:
                row = self._db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
                prev = row[0] if row else GENESIS
                digest = _entry_hash(prev, at, user, address, action, target, detail_json)
                cursor = self._db.execute(
                    "INSERT INTO audit (at, user, address, action, target, detail, prev_hash, hash) "
                    "VALUES (?,?,?,?,?,?,?,?)", (at, user, address, action, target, detail_json, prev, digest))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return cursor.lastrowid

    def entries(self, limit: int = 100, before: int | None = None, user: str | None = None,
                action: str | None = None) -> list[dict]:
        """Newest first; ``before`` an id pages further back."""
        clauses, params = [], []
        for column, value in (("id <", before), ("user =", user), ("action =", action)):
            if value is not None:
                clauses.append(f"{column} ?")
                params.append(value)
        sql = "SELECT * FROM audit" + (" WHERE " + " AND ".join(clauses) if clauses else "")
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
        return [_row(row) for row in rows]

    def all(self) -> Iterator[dict]:
        for row in self._db.execute("SELECT * FROM audit ORDER BY id"):
            yield _row(row)

    def verify(self) -> tuple[int, int | None]:
        """Walk the chain: (entries checked, id of the first entry that does not fit, or None)."""
        prev, checked = GENESIS, 0
        for row in self._db.execute("SELECT * FROM audit ORDER BY id"):
            expected = _entry_hash(prev, row["at"], row["user"], row["address"], row["action"], row["target"],
                                   row["detail"])
            if row["prev_hash"] != prev or row["hash"] != expected:
                return checked, row["id"]
            prev, checked = row["hash"], checked + 1
        return checked, None


def _row(row: sqlite3.Row) -> dict:
    entry = dict(row)
    entry["detail"] = json.loads(entry["detail"])
    return entry

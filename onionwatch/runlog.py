"""Every market run, recorded: when, how it ended, what it fetched and found, and why it failed."""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from stores import open_sqlite

STATUSES = ("running", "ok", "degraded", "failed", "interrupted")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class RunLog:
    def __init__(self, path: Path):
        self._db = open_sqlite(path, threads=True)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, market TEXT NOT NULL, started TEXT NOT NULL,"
            " ended TEXT, status TEXT NOT NULL, pages INTEGER, new_pages INTEGER, changed_pages INTEGER,"
            " unchanged_pages INTEGER, gone_pages INTEGER, listings INTEGER, indexed INTEGER, alerts INTEGER,"
            " reason TEXT, errors TEXT NOT NULL DEFAULT '[]')"
        )
        if "pid" not in {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}:
            self._db.execute("ALTER TABLE runs ADD COLUMN pid INTEGER")
        self._db.commit()
        self.reap_dead()

    def reap_dead(self) -> int:
        """Runs left ``running`` by a process that no longer exists (killed, crashed) become interrupted."""
        dead = [row["run_id"] for row in self._db.execute("SELECT run_id, pid FROM runs WHERE status = 'running'")
                if row["pid"] and not _alive(row["pid"])]
        with self._db:
            for run_id in dead:
                self._db.execute("UPDATE runs SET ended = ?, status = 'interrupted', reason = ? WHERE run_id = ? "
                                 "AND status = 'running'",
                                 (_now(), "the process running it died before it finished (killed or crashed)", run_id))
        return len(dead)

    def close(self) -> None:
        self._db.close()

    def start(self, market: str) -> str:
        run_id = uuid.uuid4().hex[:12]
        with self._db:
            self._db.execute("INSERT INTO runs (run_id, market, started, status, pid) VALUES (?, ?, ?, 'running', ?)",
                             (run_id, market, _now(), os.getpid()))
        return run_id

    def finish(self, run_id: str, report, alerts: int = 0) -> None:
        errors = [{"url": p.url, "kind": p.kind, "message": p.message} for p in report.problems if p.kind == "error"]
        reason = report.error or (f"{errors[0]['url']}: {errors[0]['message']}" if errors and report.status != "ok"
                                  else None)
        with self._db:
            self._db.execute(
                "UPDATE runs SET ended = ?, status = ?, pages = ?, new_pages = ?, changed_pages = ?,"
                " unchanged_pages = ?, gone_pages = ?, listings = ?, indexed = ?, alerts = ?, reason = ?, errors = ?"
                " WHERE run_id = ?",
                (_now(), report.status, report.pages, report.changes["new"], report.changes["changed"],
                 report.changes["unchanged"], report.changes["gone"], report.listings, report.indexed, alerts,
                 reason, json.dumps(errors, ensure_ascii=False), run_id),
            )

    def fail(self, run_id: str, reason: str, status: str = "failed") -> None:
        with self._db:
            self._db.execute("UPDATE runs SET ended = ?, status = ?, reason = ? WHERE run_id = ? AND status = 'running'",
                             (_now(), status, reason, run_id))

    def interrupt_unfinished(self, reason: str) -> int:
        """Runs still marked running by this process, or by one that is gone, become interrupted;
        a run another live process is doing (an ``onionwatch run`` beside the scheduler) is left alone."""
        stale = [row["run_id"] for row in self._db.execute("SELECT run_id, pid FROM runs WHERE status = 'running'")
                 if not row["pid"] or row["pid"] == os.getpid() or not _alive(row["pid"])]
        with self._db:
            return sum(self._db.execute("UPDATE runs SET ended = ?, status = 'interrupted', reason = ? "
                                        "WHERE run_id = ? AND status = 'running'", (_now(), reason, run_id)).rowcount
                       for run_id in stale)

    def recent(self, limit: int = 20, market: str | None = None) -> list[dict]:
        self.reap_dead()
        query = "SELECT * FROM runs" + (" WHERE market = ?" if market else "") + " ORDER BY started DESC, rowid DESC LIMIT ?"
        rows = self._db.execute(query, (market, limit) if market else (limit,)).fetchall()
        return [{**dict(row), "errors": json.loads(row["errors"])} for row in rows]

"""Broken stores: say which file and how to recover, in one line; rebuild the index without ever emptying it.

Every store under the data folder, what it holds and how to recover it when it is
damaged (the README's "What onionwatch promises" repeats this table):

- ``captures/`` — the evidence (WARC). Never rewritten; ``onionwatch captures verify`` reports damage.
- ``index/`` — derived data: ``onionwatch index rebuild`` rebuilds it from the captures.
- ``state.sqlite`` — page hashes of the last run: delete it; the next run re-extracts every page.
- ``history.sqlite`` — changes between runs and vendors: move it aside; history starts again
  from the next run (the index and the captures are unaffected).
- ``runs.sqlite`` — the run log: move it aside; a new one starts.
- ``watchlists.sqlite`` — watchlists and their alert outbox: move it aside and add the watchlists again.
- ``rates.sqlite`` — exchange rates: move it aside and ``onionwatch rates import``/``update`` again.
- ``jobs.sqlite`` — the scheduler's job store: delete it; it is rebuilt from the configuration.
"""
from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"

RECOVERY = {
    "state.sqlite": "delete it; the next run re-extracts every page",
    "history.sqlite": "move it aside; change history starts again from the next run",
    "runs.sqlite": "move it aside; a new run log starts",
    "watchlists.sqlite": "move it aside and add the watchlists again (onionwatch watch add)",
    "rates.sqlite": "move it aside and import the rates again (onionwatch rates import FILE / rates update)",
    "jobs.sqlite": "delete it; the scheduler rebuilds it from the configuration",
}


def damaged_sqlite(path: Path) -> str | None:
    """Why ``path`` is not a usable SQLite database, or None when it is (or does not exist yet)."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return None
    with open(path, "rb") as handle:
        if handle.read(16) != SQLITE_MAGIC:
            return "not an SQLite database"
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = db.execute("PRAGMA quick_check").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if result and result[0] == "ok" else f"integrity check failed ({result[0] if result else '?'})"


def store_failure(exc: BaseException, config) -> str | None:
    """A one-line message for a failure of a store the user can act on, or None when it is not one."""
    from index import IndexUnavailable

    if isinstance(exc, IndexUnavailable):
        return str(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        for name, how in RECOVERY.items():
            path = Path(config.data_dir) / name
            problem = damaged_sqlite(path)
            if problem:
                return f"{path} is damaged ({problem}); to recover: {how}"
        return f"a store in {config.data_dir} failed ({exc})"
    module = type(exc).__module__ or ""
    if module.startswith(("elastic_transport", "elasticsearch")):
        where = config.index.url or "ONIONWATCH_ES_URL"
        return (f"Elasticsearch at {where} cannot be used ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                "check that it runs and the [index] url and credentials")
    return None


@dataclass
class RebuildResult:
    files: int = 0
    listings: int = 0
    writes: int = 0
    skipped: list[str] = field(default_factory=list)  # one line per capture file or store left out


def _ingest_all(config, index, result: RebuildResult) -> None:
    from crawlers.evidence import capture_files, read_pages
    from extract.rates import RatesStore
    from onionwatch.pipeline import MarketReport, Sinks, ingest_warc, source_root

    rates = None
    problem = damaged_sqlite(config.rates_db)
    if problem:
        result.skipped.append(f"{config.rates_db} is damaged ({problem}); rebuilt without stored rates "
                              f"(to recover: {RECOVERY['rates.sqlite']})")
    else:
        rates = RatesStore(config.rates_db)
    sinks = Sinks(index=index, pending_dir=config.data_dir / "pending", rates=rates)
    files = sorted(capture_files(config.captures_dir), key=lambda p: (p.parent.name, p.name))
    result.files = len(files)
    try:
        for warc in files:  # oldest first, so the newest state wins and observations keep their dates
            try:
                first = next(read_pages(warc), None)
                if first is None:
                    continue
                report = MarketReport(market=first.market or warc.parent.parent.name, warc_path=str(warc))
                ingest_warc(warc, report.market, source_root(first.url), sinks, report)
            except Exception as exc:  # a garbled capture file is skipped, never the end of the rebuild
                result.skipped.append(f"{warc}: unreadable, skipped ({type(exc).__name__}: {str(exc)[:200]}); "
                                      "check it with 'onionwatch captures verify'")
                continue
            if report.error:
                result.skipped.append(f"{warc}: {report.error}")
            result.writes += report.indexed
    finally:
        sinks.close()


def rebuild_index(config) -> RebuildResult:
    """Re-extract every capture into a NEW index and put it in place only when that succeeded;
    the old index stays untouched until then (embedded backend). Elasticsearch is rebuilt in place."""
    from index import open_index
    from index.embedded import EmbeddedIndex

    result = RebuildResult()
    if config.index.backend != "embedded":
        index = open_index(config)
        index.clear()
        _ingest_all(config, index, result)
        _restore_lifecycle(config, index)
        result.listings = index.count()
        return result
    index_dir = Path(config.index_dir)
    scratch = index_dir.parent / f".index-rebuild-{uuid.uuid4().hex[:8]}"
    try:
        fresh = EmbeddedIndex(scratch)
        _ingest_all(config, fresh, result)
        _restore_lifecycle(config, fresh)
        result.listings = fresh.count()
        built = fresh.path  # <scratch>/listings-vN
        del fresh
        target = index_dir / built.name
        index_dir.mkdir(parents=True, exist_ok=True)
        old = index_dir / f".{built.name}-old-{uuid.uuid4().hex[:8]}"
        if target.exists():
            target.rename(old)
        built.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def _restore_lifecycle(config, index) -> None:
    """First/last seen and removals come from the history of runs, not from the captures alone."""
    from index import open_history
    from index.lifecycle import restore_from_history

    if config.index.backend == "embedded" and not config.history_db.exists():
        return
    history = open_history(config)
    try:
        restore_from_history(index, history.lifecycle())
    finally:
        history.close()


def index_lost_listings(index, listed_before: dict[str, list[str]]) -> bool:
    """True when listings the page state says are indexed are missing from the index (deleted,
    or rebuilt empty): unchanged pages must then be read again, or their listings stay lost."""
    ids = list({i for ids in listed_before.values() for i in ids})
    if not ids:
        return False
    found = index.get_many(ids)
    return len(found) < len(ids)

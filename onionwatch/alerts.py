"""Watchlists and alerts: saved queries evaluated after every run, each hit sent once per sink.

Alerts go through an outbox: a hit is stored first (once per watchlist and
listing, ever), with one delivery row per configured sink; a delivery is
marked done only when its sink accepted it. A sink that fails (webhook down,
SMTP refusing) keeps its rows and is tried again after the next run, so no
alert is lost and none is sent twice.
"""
from __future__ import annotations

import http.client
import json
import smtplib
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Protocol
from urllib.parse import urlsplit

from index.query import parse_query
from stores import open_sqlite

_ALERT_FIELDS = ("listing_id", "market", "title", "vendor", "price", "currency", "price_usd", "drug", "city",
                 "district", "dead_drop", "ships_from", "url", "captured_at")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Bounds on delivery: a sink that answers slowly, trickles bytes or never answers costs at most
# SINK_TIMEOUT_S per alert, and a whole delivery round at most DELIVERY_BUDGET_S; what is left
# stays pending for the next round. A sink that fails is not tried again in the same round.
SINK_TIMEOUT_S = 5.0
DELIVERY_BUDGET_S = 30.0


class Sink(Protocol):
    name: str

    def send(self, alert: dict, timeout_s: float | None = None) -> None:
        """Deliver one alert within ``timeout_s`` in all, or raise."""


def _bounded(work: Callable[[], None], abort: Callable[[], None], seconds: float, what: str) -> None:
    """Run ``work`` for at most ``seconds`` in all (not per socket operation): it runs in a daemon
    thread, and on time-out ``abort`` shuts its socket so the thread ends; nothing waits longer."""
    outcome: dict = {}

    def target():
        try:
            work()
        except BaseException as exc:  # handed to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"onionwatch-{what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        abort()
        thread.join(1.0)
        raise TimeoutError(f"{what} did not finish within {seconds:g}s")
    if "error" in outcome:
        raise outcome["error"]


def _shut(sock) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@dataclass
class JsonlSink:
    path: Path
    name: str = "jsonl"

    def send(self, alert: dict, timeout_s: float | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(alert, ensure_ascii=False) + "\n")


@dataclass
class WebhookSink:
    url: str
    timeout_s: float = SINK_TIMEOUT_S
    name: str = "webhook"

    def send(self, alert: dict, timeout_s: float | None = None) -> None:
        seconds = min(self.timeout_s, timeout_s) if timeout_s is not None else self.timeout_s
        parts = urlsplit(self.url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=seconds)
        body = json.dumps(alert, ensure_ascii=False).encode("utf-8")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

        def post():
            connection.request("POST", target, body=body, headers={
                "Content-Type": "application/json", "User-Agent": "onionwatch-alerts"})
            response = connection.getresponse()
            response.read(65536)
            if response.status >= 300:
                raise OSError(f"webhook answered {response.status}")

        try:
            _bounded(post, lambda: _shut(connection.sock), seconds, "webhook")
        finally:
            connection.close()


@dataclass
class SmtpSink:
    host: str
    port: int
    sender: str
    recipients: list[str]
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = SINK_TIMEOUT_S
    name: str = "email"

    def send(self, alert: dict, timeout_s: float | None = None) -> None:
        seconds = min(self.timeout_s, timeout_s) if timeout_s is not None else self.timeout_s
        message = EmailMessage()
        message["From"], message["To"] = self.sender, ", ".join(self.recipients)
        message["Subject"] = f"[onionwatch] {alert['watchlist']}: {alert['listing']['title']}"
        listing = alert["listing"]
        lines = [f"Watchlist {alert['watchlist']!r} ({alert['query']}) has a new hit:", ""]
        lines += [f"{key}: {listing[key]}" for key in _ALERT_FIELDS if listing.get(key) not in (None, "")]
        message.set_content("\n".join(lines))
        smtp = smtplib.SMTP(timeout=seconds)  # connects in the bounded thread, not here

        def mail():
            smtp.connect(self.host, self.port)
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
            smtp.quit()

        try:
            _bounded(mail, lambda: _shut(getattr(smtp, "sock", None)), seconds, "SMTP")
        finally:
            smtp.close()


class Watchlists:
    def __init__(self, path: Path):
        self._db = open_sqlite(path, threads=True)
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS watchlists (name TEXT PRIMARY KEY, query TEXT NOT NULL, created TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS alerts (watchlist TEXT NOT NULL, listing_id TEXT NOT NULL, created TEXT NOT NULL,
                payload TEXT NOT NULL, PRIMARY KEY (watchlist, listing_id));
            CREATE TABLE IF NOT EXISTS deliveries (watchlist TEXT NOT NULL, listing_id TEXT NOT NULL, sink TEXT NOT NULL,
                delivered TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
                PRIMARY KEY (watchlist, listing_id, sink));
        """)

    def close(self) -> None:
        self._db.close()

    def add(self, name: str, query: str) -> None:
        parse_query(query)  # refuse a query that would never run
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO watchlists VALUES (?, ?, ?)", (name, query, _now()))

    def remove(self, name: str) -> bool:
        with self._db:
            return self._db.execute("DELETE FROM watchlists WHERE name = ?", (name,)).rowcount > 0

    def all(self) -> list[dict]:
        return [dict(row) for row in self._db.execute("SELECT * FROM watchlists ORDER BY name")]

    def evaluate(self, index, listing_ids: list[str], sinks: list[Sink]) -> int:
        """Store new hits among ``listing_ids`` (what a run added or changed); returns how many are new."""
        if not listing_ids:
            return 0
        new = 0
        for watchlist in self.all():
            hits = index.search(watchlist["query"], limit=len(listing_ids), only_ids=listing_ids).hits
            with self._db:
                for hit in hits:
                    alert = {"watchlist": watchlist["name"], "query": watchlist["query"], "created": _now(),
                             "listing": {key: hit.get(key) for key in _ALERT_FIELDS}}
                    inserted = self._db.execute(
                        "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?)",
                        (watchlist["name"], hit["listing_id"], alert["created"], json.dumps(alert, ensure_ascii=False)),
                    ).rowcount
                    if inserted:
                        new += 1
                        self._db.executemany("INSERT OR IGNORE INTO deliveries (watchlist, listing_id, sink) "
                                             "VALUES (?, ?, ?)",
                                             [(watchlist["name"], hit["listing_id"], sink.name) for sink in sinks])
        return new

    def notice(self, key: str, message: dict, sinks: list[Sink]) -> bool:
        """A one-off alert that is about no listing (a learned layout that changed): stored once
        per ``key`` and delivered through the outbox like hits; True when it is new."""
        alert = {"watchlist": "onionwatch", "query": None, "created": _now(), "notice": message}
        with self._db:
            inserted = self._db.execute("INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?)",
                                        ("onionwatch", key, alert["created"], json.dumps(alert, ensure_ascii=False)),
                                        ).rowcount
            if inserted:
                self._db.executemany("INSERT OR IGNORE INTO deliveries (watchlist, listing_id, sink) VALUES (?, ?, ?)",
                                     [("onionwatch", key, sink.name) for sink in sinks])
        return bool(inserted)

    def deliver(self, sinks: list[Sink], budget_s: float = DELIVERY_BUDGET_S) -> tuple[int, int]:
        """Send every alert not yet accepted by its sink, within ``budget_s`` in all; returns
        (delivered, still pending). A sink that fails is skipped for the rest of the round."""
        delivered = pending = 0
        deadline = time.monotonic() + budget_s
        failed: set[str] = set()
        by_name = {sink.name: sink for sink in sinks}
        rows = self._db.execute(
            "SELECT d.watchlist, d.listing_id, d.sink, a.payload FROM deliveries d JOIN alerts a "
            "USING (watchlist, listing_id) WHERE d.delivered IS NULL ORDER BY a.created, d.listing_id").fetchall()
        for row in rows:
            sink = by_name.get(row["sink"])
            remaining = deadline - time.monotonic()
            if sink is None or row["sink"] in failed or remaining <= 0:
                pending += 1
                continue
            key = (row["watchlist"], row["listing_id"], row["sink"])
            try:
                sink.send(json.loads(row["payload"]), timeout_s=remaining)
            except Exception as exc:  # any failure of a sink: keep the alert for the next attempt
                with self._db:
                    self._db.execute("UPDATE deliveries SET attempts = attempts + 1, last_error = ? "
                                     "WHERE watchlist = ? AND listing_id = ? AND sink = ?", (str(exc)[:500], *key))
                failed.add(row["sink"])
                pending += 1
                continue
            with self._db:
                self._db.execute("UPDATE deliveries SET delivered = ?, attempts = attempts + 1, last_error = NULL "
                                 "WHERE watchlist = ? AND listing_id = ? AND sink = ?", (_now(), *key))
            delivered += 1
        return delivered, pending


# -- alerts with nowhere to go -------------------------------------------------
# A hit found while no sink is configured has no delivery row: it is kept, counted
# as unsent, and given to the first sink configured later.


def without_sink(watchlists: Watchlists) -> int:
    """Alerts no sink has taken yet because none was configured when they were found."""
    return watchlists._db.execute(
        "SELECT COUNT(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d "
        "WHERE d.watchlist = a.watchlist AND d.listing_id = a.listing_id)").fetchone()[0]


def adopt_pending(watchlists: Watchlists, sinks: list[Sink]) -> int:
    """Give every configured sink the alerts no sink has delivered yet (kept while no sink
    existed); returns how many delivery rows were added. Alerts one sink already delivered
    are not re-sent to a sink added after."""
    added = 0
    with watchlists._db:
        for sink in sinks:
            added += watchlists._db.execute(
                "INSERT OR IGNORE INTO deliveries (watchlist, listing_id, sink) "
                "SELECT a.watchlist, a.listing_id, ? FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d "
                "WHERE d.watchlist = a.watchlist AND d.listing_id = a.listing_id AND d.delivered IS NOT NULL)",
                (sink.name,)).rowcount
    return added

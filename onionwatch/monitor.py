"""One monitored run of a market: crawl, extract, index, record the run, alert on watchlist hits.

Used by ``onionwatch run`` and by the scheduler alike, so a scheduled run and
a manual one leave the same traces.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from onionwatch.alerts import JsonlSink, Sink, SmtpSink, Watchlists, WebhookSink, adopt_pending, without_sink
from onionwatch.config import Config, MarketSource
from onionwatch.pipeline import MarketReport, Sinks, replay_pending, run_market
from onionwatch.runlog import RunLog


def alert_sinks(config: Config) -> list[Sink]:
    alerts = config.alerts
    sinks: list[Sink] = []
    if alerts.jsonl:
        path = Path(alerts.jsonl)
        sinks.append(JsonlSink(path if path.is_absolute() else config.data_dir / path))
    if alerts.webhook:
        sinks.append(WebhookSink(alerts.webhook))
    if alerts.smtp_host and alerts.smtp_to:
        sinks.append(SmtpSink(alerts.smtp_host, alerts.smtp_port, alerts.smtp_from, list(alerts.smtp_to),
                              alerts.smtp_user, alerts.smtp_password or os.environ.get("ONIONWATCH_SMTP_PASSWORD"),
                              alerts.smtp_starttls))
    return sinks


class Monitor:
    """Holds the stores for the life of a process; ``run`` may be called from several threads."""

    def __init__(self, config: Config, index):
        self.config = config
        self.index = index
        self.runs = RunLog(config.runs_db)
        self.watchlists = Watchlists(config.watch_db)
        self.alert_sinks = alert_sinks(config)
        # Crawls run side by side; extraction and index writes take turns (one index writer at a time).
        self._writing = threading.Lock()
        self._delivering = threading.Lock()  # one delivery round at a time; others leave it to that one
        self.stopping = threading.Event()

    def close(self) -> None:
        self.runs.close()
        self.watchlists.close()

    def alerts_without_sink(self) -> int:
        """Alerts kept unsent because no sink is configured (0 when one is)."""
        return 0 if self.alert_sinks else without_sink(self.watchlists)

    def run(self, market: MarketSource) -> MarketReport:
        run_id = self.runs.start(market.name)
        try:
            sinks = Sinks.open(self.config, self.index)
            sinks.write_lock = self._writing
            try:
                with self._writing:
                    replay_pending(self.index, sinks.pending_dir)
                report = run_market(self.config, market, sinks, stopping=self.stopping)
            finally:
                sinks.close()
            with self._writing:
                new_alerts = self.watchlists.evaluate(self.index, report.written_ids, self.alert_sinks)
                adopt_pending(self.watchlists, self.alert_sinks)  # kept while no sink was configured
                for notice in report.notices:  # once per learned version of the market
                    key = f"{notice['kind']}:{notice['market']}:v{notice.get('version')}"
                    new_alerts += self.watchlists.notice(key, notice, self.alert_sinks)
            # Outside the write turn, within a total deadline; on shutdown the alerts wait for the next run.
            if not self.stopping.is_set() and self._delivering.acquire(blocking=False):
                try:
                    self.watchlists.deliver(self.alert_sinks)
                finally:
                    self._delivering.release()
        except Exception as exc:  # a run that breaks is recorded as failed; the monitor goes on
            self.runs.fail(run_id, f"{type(exc).__name__}: {exc}")
            raise
        self.runs.finish(run_id, report, alerts=new_alerts)
        return report

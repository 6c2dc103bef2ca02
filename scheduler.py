"""Unattended monitoring: every market with a ``schedule`` is run by APScheduler 3.

Schedules in the configuration read ``interval:6h`` (also ``30m``, ``45s``,
``2d``) or ``cron:0 */6 * * *`` (standard five crontab fields, UTC). Each run
crawls in a child process (see ``crawlers.runner``), so a crashed or hung
crawl never takes the scheduler down; ``coalesce`` folds missed runs into one
and a market never runs twice at once.
"""
from __future__ import annotations

import logging
import re
import threading

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from index import open_index
from onionwatch.config import Config, ConfigError, MarketSource
from onionwatch.pipeline import MarketReport, Sinks, run_market

logger = logging.getLogger("onionwatch.scheduler")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_schedule(text: str):
    """``interval:6h`` -> IntervalTrigger, ``cron:0 */6 * * *`` -> CronTrigger (UTC)."""
    kind, _, spec = text.partition(":")
    if kind == "interval":
        match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", spec)
        if not match or int(match.group(1)) == 0:
            raise ConfigError(f"schedule {text!r}: interval must look like 30m, 6h or 2d")
        return IntervalTrigger(**{_UNITS[match.group(2)]: int(match.group(1))})
    if kind == "cron":
        try:
            return CronTrigger.from_crontab(spec.strip(), timezone="UTC")
        except ValueError as exc:
            raise ConfigError(f"schedule {text!r}: {exc}") from None
    raise ConfigError(f"schedule {text!r}: must start with 'interval:' or 'cron:'")


class MarketRunner:
    """Runs a market's crawl-extract-index job. Runs take turns in one process, because the
    embedded index has one writer at a time; each crawl's wall-clock limit bounds the wait."""

    def __init__(self, config: Config):
        self.config = config
        self.index = open_index(config)
        self._turn = threading.Lock()

    def __call__(self, market_name: str) -> MarketReport:
        market = self.config.market(market_name)
        with self._turn:
            sinks = Sinks.open(self.config, self.index)
            try:
                report = run_market(self.config, market, sinks)
            finally:
                sinks.close()
        logger.info("%s: %s, %d pages, %d listings indexed", market.name, report.status, report.pages, report.indexed)
        return report


def scheduled_markets(config: Config) -> list[MarketSource]:
    return [market for market in config.markets if market.schedule]


def build_scheduler(config: Config, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    scheduler = scheduler or BlockingScheduler(timezone="UTC")
    runner = MarketRunner(config)
    for market in scheduled_markets(config):
        scheduler.add_job(
            runner, trigger=parse_schedule(market.schedule), args=[market.name], id=market.name,
            name=f"crawl {market.name}", max_instances=1, coalesce=True, misfire_grace_time=3600,
        )
    return scheduler

"""Unattended monitoring: every market with a ``schedule`` is run by APScheduler 3.

Schedules in the configuration read ``interval:6h`` (also ``30m``, ``45s``,
``2d``) or ``cron:0 */6 * * *`` (standard five crontab fields, UTC). Jobs live
in a SQLite job store (``<data>/jobs.sqlite``): a restart keeps them, and a run
missed while the machine was down happens once on start if it is within the
misfire grace time. ``coalesce`` folds missed runs into one and a market never
runs twice at once. Each crawl runs in a child process with a wall-clock limit
(see ``crawlers.runner``), so a crashed or hung crawl never takes the scheduler
or the other markets down.

On SIGTERM the scheduler takes no new runs, lets running ones finish for up
to ``shutdown_timeout_s``, then stops their crawls and records them as
interrupted; nothing of an interrupted run reaches the index.
"""
from __future__ import annotations

import logging
import re
import signal
import threading

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawlers.runner import stop_all_crawls
from index import open_index
from onionwatch.config import Config, ConfigError, MarketSource
from onionwatch.monitor import Monitor
from onionwatch.pipeline import MarketReport

logger = logging.getLogger("onionwatch.scheduler")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# The monitor of this process; jobs in the store name a function, so they can outlive a restart.
_MONITOR: Monitor | None = None


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


def run_scheduled(market_name: str) -> MarketReport | None:
    """The job every market's schedule calls (by name, so stored jobs survive restarts)."""
    if _MONITOR is None or _MONITOR.stopping.is_set():
        return None
    market = _MONITOR.config.market(market_name)
    report = _MONITOR.run(market)
    logger.info("%s: %s, %d pages, %d listings indexed%s", market.name, report.status, report.pages,
                report.indexed, f" ({report.error})" if report.error else "")
    return report


def scheduled_markets(config: Config) -> list[MarketSource]:
    return [market for market in config.markets if market.schedule]


def _job_name(market: MarketSource) -> str:
    return f"{market.name} {market.schedule}"


def build_scheduler(config: Config, scheduler: BaseScheduler | None = None, index=None) -> BaseScheduler:
    """A scheduler whose stored jobs match the configuration: new schedules added, changed ones
    replaced, removed markets dropped, unchanged ones kept with their next run time."""
    global _MONITOR
    _MONITOR = Monitor(config, index or open_index(config))
    config.data_dir.mkdir(parents=True, exist_ok=True)
    scheduler = scheduler or BackgroundScheduler(timezone="UTC")
    scheduler.configure(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{config.jobs_db}")},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": config.scheduler.misfire_grace_s},
        timezone="UTC",
    )
    wanted = {market.name: market for market in scheduled_markets(config)}
    for market in wanted.values():
        parse_schedule(market.schedule)  # refuse a bad schedule before anything starts
    scheduler.start(paused=True)
    for job in scheduler.get_jobs():
        if job.id not in wanted or job.name != _job_name(wanted[job.id]):
            job.remove()
    for market in wanted.values():
        if scheduler.get_job(market.name) is None:
            scheduler.add_job(run_scheduled, trigger=parse_schedule(market.schedule), args=[market.name],
                              id=market.name, name=_job_name(market))
    return scheduler


def stop(scheduler: BaseScheduler, timeout_s: float) -> int:
    """Take no new runs; give running ones ``timeout_s`` to finish, then stop their crawls.

    Returns how many runs had to be interrupted.
    """
    monitor = _MONITOR
    scheduler.pause()
    finished = threading.Event()

    def wait_for_runs():
        scheduler.shutdown(wait=True)
        finished.set()

    threading.Thread(target=wait_for_runs, daemon=True).start()
    if finished.wait(timeout_s):
        return 0
    monitor.stopping.set()
    interrupted = stop_all_crawls()
    finished.wait(60)
    monitor.runs.interrupt_unfinished("stopped by shutdown before the run could finish")
    return interrupted


def serve(config: Config) -> int:
    """``onionwatch schedule start``: run in the foreground until SIGTERM or SIGINT, as the
    data folder's one writer (``onionwatch.datalock``)."""
    from onionwatch.datalock import writer_lock

    with writer_lock(config.data_dir, "scheduler"):
        return _serve(config)


def _serve(config: Config) -> int:
    scheduler = build_scheduler(config)
    _MONITOR.runs.interrupt_unfinished("the scheduler stopped while this run was going on")
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    scheduler.resume()
    logger.info("scheduler started: %s", ", ".join(f"{j.id} next {j.next_run_time}" for j in scheduler.get_jobs()))
    stopping.wait()
    logger.info("stopping: no new runs; waiting up to %gs for running ones", config.scheduler.shutdown_timeout_s)
    interrupted = stop(scheduler, config.scheduler.shutdown_timeout_s)
    logger.info("stopped (%d runs interrupted)", interrupted)
    _MONITOR.close()
    return 0

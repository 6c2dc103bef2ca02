"""The scheduler drives real crawls of a sample mirror on a second-level interval."""
from __future__ import annotations

import time

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from helpers import expected, site_dir
from index import open_index
from onionwatch.config import ConfigError, MarketSource
from scheduler import build_scheduler, parse_schedule


@pytest.mark.parametrize("text", ["interval:0s", "interval:6 weeks", "cron:61 * * * *", "daily", "cron:* *"])
def test_bad_schedules_are_refused(text):
    with pytest.raises(ConfigError):
        parse_schedule(text)


def test_interval_schedule_runs_the_market_again_and_again(make_config):
    market = MarketSource("tayga", (site_dir("tayga") / "index.html").as_uri(), schedule="interval:1s")
    unscheduled = MarketSource("northwind", (site_dir("northwind") / "index.html").as_uri())
    config = make_config(market, unscheduled)
    scheduler = build_scheduler(config, BackgroundScheduler(timezone="UTC"))
    assert [job.id for job in scheduler.get_jobs()] == ["tayga"]
    scheduler.start()
    try:
        deadline = time.monotonic() + 60
        captures = config.captures_dir / "tayga"
        while time.monotonic() < deadline and len(list(captures.rglob("*.warc.gz"))) < 2:
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    assert len(list(captures.rglob("*.warc.gz"))) >= 2
    index = open_index(config)
    assert index.count() == len(expected("tayga")["listings"])

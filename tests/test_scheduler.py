"""Unattended runs: schedules that survive restarts, crashed and hung crawls, SIGTERM, run history."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

import scheduler
from crawlers import runner
from helpers import expected, site_dir
from index import open_index
from onionwatch.config import ConfigError, CrawlLimits, MarketSource
from onionwatch.monitor import Monitor
from onionwatch.runlog import RunLog

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text", ["interval:0s", "interval:6 weeks", "cron:61 * * * *", "daily", "cron:* *"])
def test_bad_schedules_are_refused(text):
    with pytest.raises(ConfigError):
        scheduler.parse_schedule(text)


def wait_for(predicate, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def runs_of(config, market=None):
    log = RunLog(config.runs_db)
    try:
        return log.recent(100, market)
    finally:
        log.close()


def test_interval_schedule_runs_the_market_again_and_again(make_config):
    market = MarketSource("tayga", (site_dir("tayga") / "index.html").as_uri(), schedule="interval:1s")
    unscheduled = MarketSource("northwind", (site_dir("northwind") / "index.html").as_uri())
    config = make_config(market, unscheduled)
    jobs = scheduler.build_scheduler(config, BackgroundScheduler(timezone="UTC"))
    assert [job.id for job in jobs.get_jobs()] == ["tayga"]
    jobs.resume()
    try:
        assert wait_for(lambda: len([r for r in runs_of(config) if r["status"] == "ok"]) >= 2)
    finally:
        jobs.shutdown(wait=True)
    assert {r["market"] for r in runs_of(config)} == {"tayga"}
    assert open_index(config).count() == len(expected("tayga")["listings"])


def test_restart_keeps_jobs_and_catches_up_a_missed_run(make_config):
    market = MarketSource("tayga", (site_dir("tayga") / "index.html").as_uri(), schedule="interval:1h")
    config = make_config(market)
    first = scheduler.build_scheduler(config, BackgroundScheduler(timezone="UTC"))
    planned = first.get_job("tayga").next_run_time
    first.shutdown(wait=False)

    restarted = scheduler.build_scheduler(config, BackgroundScheduler(timezone="UTC"))
    assert restarted.get_job("tayga").next_run_time == planned  # kept, not re-planned
    # The machine was down when the run was due: within the grace time it happens once on start.
    restarted.get_job("tayga").modify(next_run_time=datetime.now(timezone.utc) - timedelta(minutes=5))
    restarted.resume()
    try:
        assert wait_for(lambda: [r["status"] for r in runs_of(config)] == ["ok"])
    finally:
        restarted.shutdown(wait=True)
    assert len(runs_of(config)) == 1

    changed = replace(config, markets=(replace(market, schedule="interval:2h"),))
    replanned = scheduler.build_scheduler(changed, BackgroundScheduler(timezone="UTC"))
    assert replanned.get_job("tayga").name == "tayga interval:2h"
    replanned.shutdown(wait=False)


def _slow_route(seconds):
    def slow(handler):
        time.sleep(seconds)
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.end_headers()
            handler.wfile.write(b"<html><body>late</body></html>")
        except OSError:
            pass
    return slow


def test_a_killed_crawl_fails_its_run_and_the_next_run_is_fine(make_config, http_mirror):
    slow = http_mirror(site_dir("tayga"), routes={"/index.html": _slow_route(5)})
    fast = http_mirror(site_dir("tayga"))
    config = make_config()
    monitor = Monitor(config, open_index(config))
    market = MarketSource("tayga", slow.url + "index.html", on_gate="skip")
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(report=monitor.run(market)))
    worker.start()
    assert wait_for(lambda: runner._children, 20)
    os.kill(next(iter(runner._children)).pid, signal.SIGKILL)
    worker.join(60)
    assert outcome["report"].status == "failed"
    (failed,) = runs_of(config)
    assert failed["status"] == "failed" and "exited with -9" in failed["reason"]

    report = monitor.run(replace(market, source=fast.url + "index.html"))
    assert report.status == "ok" and report.indexed == len(expected("tayga")["listings"])
    assert [r["status"] for r in runs_of(config)] == ["ok", "failed"]
    monitor.close()


def test_a_hung_crawl_is_cut_by_its_wall_clock_limit(make_config, http_mirror):
    hung = http_mirror(site_dir("tayga"), routes={"/index.html": _slow_route(30)})
    config = replace(make_config(), limits=CrawlLimits(wall_clock_s=3, timeout_s=60))
    monitor = Monitor(config, open_index(config))
    started = time.monotonic()
    report = monitor.run(MarketSource("tayga", hung.url + "index.html"))
    assert time.monotonic() - started < 20
    assert report.status == "failed" and "wall-clock limit" in report.error
    assert "wall-clock limit" in runs_of(config)[0]["reason"]
    monitor.close()


def test_sigterm_stops_new_runs_and_interrupts_the_running_one(tmp_path, http_mirror):
    slow = http_mirror(site_dir("tayga"), routes={"/index.html": _slow_route(20)})
    data = tmp_path / "data"
    config_file = tmp_path / "ow.toml"
    config_file.write_text(
        f'data_dir = "{data}"\n[scheduler]\nshutdown_timeout_s = 1\n'
        f'[[markets]]\nname = "tayga"\nsource = "{slow.url}index.html"\nschedule = "interval:1s"\non_gate = "skip"\n'
    )
    service = subprocess.Popen([sys.executable, "-m", "onionwatch.cli", "--config", str(config_file), "schedule", "start"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: (data / "runs.sqlite").exists() and _statuses(data) == ["running"], 30)
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0
    finally:
        if service.poll() is None:
            service.kill()
    assert _statuses(data) == ["interrupted"]  # one run: none started after the signal
    assert _listings_indexed(data) == 0  # nothing of the interrupted run reached the index


def _statuses(data: Path) -> list[str]:
    """The runs' statuses; none while the scheduler has made the file but not yet its table."""
    with sqlite3.connect(data / "runs.sqlite") as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").fetchone():
            return []
        return [row[0] for row in db.execute("SELECT status FROM runs ORDER BY started")]


def _listings_indexed(data: Path) -> int:
    from index.embedded import EmbeddedIndex

    return EmbeddedIndex(data / "index").count()

"""Run one market's crawl in a child process (Scrapy's reactor cannot restart in one process).

Parent side: ``crawl(spec)`` starts ``python -m crawlers.runner SPEC.json``,
enforces the wall-clock limit, and returns the child's summary. Child side:
``main`` runs Scrapy with the spec's settings and writes the summary file.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from crawlers.middlewares.onion_guard import is_onion
from crawlers.settings import BASE_SETTINGS


class CrawlRefused(ValueError):
    """The crawl would break a safety rule (an .onion source without a Tor proxy)."""


@dataclass
class CrawlSpec:
    market: str
    start_url: str
    warc_path: str
    proxies: list[str] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)
    on_gate: str = "skip"
    warc_source: str | None = None  # replay this capture file instead of fetching
    http_cache_dir: str | None = None  # conditional re-fetches (ETag, Last-Modified) for live sites
    max_pages: int = 5000
    max_depth: int = 8
    max_page_bytes: int = 20 * 1024 * 1024
    timeout_s: float = 60.0
    wall_clock_s: float = 3600.0
    retry_times: int = 3
    retry_base_delay_s: float = 2.0


@dataclass
class CrawlSummary:
    market: str
    status: str  # ok, failed, timeout
    pages: int = 0
    warc_path: str | None = None
    failures: list[dict] = field(default_factory=list)
    gates: list[dict] = field(default_factory=list)
    finish_reason: str | None = None
    error: str | None = None

    @property
    def stopped_on_gate(self) -> bool:
        return (self.finish_reason or "").startswith("gate:")


def check_safe(spec: CrawlSpec) -> None:
    if is_onion(spec.start_url) and not spec.proxies and not spec.warc_source:
        raise CrawlRefused(
            f"refusing to crawl {spec.start_url}: .onion sources need a Tor proxy ([proxy] http in the config)"
        )


def scrapy_settings(spec: CrawlSpec) -> dict:
    host = urlsplit(spec.start_url).hostname or ""
    local = spec.start_url.startswith("file:") or host in ("127.0.0.1", "localhost", "::1")
    settings = {
        **BASE_SETTINGS,
        "ONIONWATCH_WARC_PATH": spec.warc_path,
        "ONIONWATCH_START_URL": spec.start_url,
        "ONIONWATCH_HTTP_PROXIES": spec.proxies,
        "ONIONWATCH_WARC_SOURCE": spec.warc_source,
        "DEPTH_LIMIT": spec.max_depth,
        "CLOSESPIDER_PAGECOUNT": spec.max_pages,
        "DOWNLOAD_MAXSIZE": spec.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_TIMEOUT": spec.timeout_s,
        "RETRY_TIMES": spec.retry_times,
        "ONIONWATCH_RETRY_BASE_DELAY": spec.retry_base_delay_s,
        # Politeness towards a live market; a local mirror has nobody to be polite to.
        "AUTOTHROTTLE_ENABLED": not local,
        "AUTOTHROTTLE_START_DELAY": 2.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    }
    if spec.http_cache_dir and not spec.warc_source:
        settings.update({
            "HTTPCACHE_ENABLED": True,
            "HTTPCACHE_DIR": spec.http_cache_dir,
            "HTTPCACHE_POLICY": "scrapy.extensions.httpcache.RFC2616Policy",
            "HTTPCACHE_STORAGE": "scrapy.extensions.httpcache.FilesystemCacheStorage",
            "HTTPCACHE_ALWAYS_STORE": True,
            # Always ask the server; a 304 costs no body and proves the page unchanged.
            "DEFAULT_REQUEST_HEADERS": {**settings.get("DEFAULT_REQUEST_HEADERS", {}), "Cache-Control": "max-age=0"},
        })
    return settings


# Crawl processes running now, so a shutting-down scheduler can stop them.
_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()


def stop_all_crawls() -> int:
    """Terminate every crawl child of this process (on shutdown); returns how many were running."""
    with _children_lock:
        running = [child for child in _children if child.poll() is None]
    for child in running:
        child.terminate()
    return len(running)


def crawl(spec: CrawlSpec) -> CrawlSummary:
    """Crawl in a child process; never raises for a failed crawl, returns its summary instead."""
    check_safe(spec)
    Path(spec.warc_path).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="onionwatch-crawl-") as scratch:
        spec_file = Path(scratch) / "spec.json"
        summary_file = Path(scratch) / "summary.json"
        spec_file.write_text(json.dumps(asdict(spec)), encoding="utf-8")
        child = subprocess.Popen(
            [sys.executable, "-m", "crawlers.runner", str(spec_file), str(summary_file), str(os.getpid())],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        with _children_lock:
            _children.add(child)
        try:
            _, stderr = child.communicate(timeout=spec.wall_clock_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            return CrawlSummary(spec.market, "timeout", warc_path=spec.warc_path,
                                error=f"crawl exceeded its wall-clock limit of {spec.wall_clock_s:g}s")
        finally:
            with _children_lock:
                _children.discard(child)
        if child.returncode != 0 or not summary_file.exists():
            last = (stderr.strip().splitlines() or ["no output"])[-1]
            return CrawlSummary(spec.market, "failed", warc_path=spec.warc_path,
                                error=f"crawl process exited with {child.returncode}: {last}")
        return CrawlSummary(**json.loads(summary_file.read_text(encoding="utf-8")))


# Seconds the child may run past its wall-clock limit before it ends itself (its parent normally
# stops it at the limit; this is for a child whose parent is gone).
_CHILD_GRACE_S = 5.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int, wall_clock_s: float) -> None:
    """The crawl child never outlives its parent nor its own wall-clock limit.

    Linux: the kernel sends SIGKILL when the parent dies (PR_SET_PDEATHSIG). Everywhere:
    a watchdog thread ends the process when the parent pid changes or the limit passes.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent_pid and os.getppid() != parent_pid:
        os._exit(3)  # the parent died before the death signal was armed
    deadline = time.monotonic() + wall_clock_s + _CHILD_GRACE_S

    def watch():
        while True:
            time.sleep(0.5)
            if (parent_pid and os.getppid() != parent_pid) or time.monotonic() > deadline:
                os._exit(3)

    threading.Thread(target=watch, name="onionwatch-watchdog", daemon=True).start()


def guard_name_lookups(log_path: str | None) -> None:
    """Refuse, in this process, any local lookup of an .onion name (a leak to the resolver);
    with ``log_path`` (``$ONIONWATCH_DNS_LOG``), append every name looked up to that file,
    so an operator (or a test) can see exactly what the crawl asked the resolver."""
    from crawlers.middlewares.onion_guard import is_onion_host

    def wrap(original):
        def lookup(host, *args, **kwargs):
            name = host.decode("idna", "replace") if isinstance(host, bytes) else str(host)
            if log_path:
                with open(log_path, "a", encoding="utf-8") as handle:
                    handle.write(name + "\n")
            if is_onion_host(name):
                raise socket.gaierror(socket.EAI_NONAME, f"refused to resolve {name} locally (.onion goes through Tor)")
            return original(host, *args, **kwargs)

        return lookup

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        setattr(socket, name, wrap(getattr(socket, name)))


# Page failures kept in detail; a mirror full of dead links is summed up, not held in memory.
MAX_FAILURES_KEPT = 1000


def main(argv: list[str]) -> int:
    spec = CrawlSpec(**json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    summary_path = Path(argv[1])
    _die_with_parent(int(argv[2]) if len(argv) > 2 else 0, spec.wall_clock_s)
    guard_name_lookups(os.environ.get("ONIONWATCH_DNS_LOG"))

    from scrapy.crawler import CrawlerProcess

    from crawlers.spiders.mirror import MirrorSpider

    check_safe(spec)
    process = CrawlerProcess(settings=scrapy_settings(spec), install_root_handler=True)
    crawler = process.create_crawler(MirrorSpider)
    process.crawl(crawler, start_url=spec.start_url, market=spec.market, on_gate=spec.on_gate, cookies=spec.cookies)
    process.start()
    stats = crawler.stats.get_stats()
    summary = CrawlSummary(
        market=spec.market,
        status="ok",
        pages=stats.get("item_scraped_count", 0),
        warc_path=spec.warc_path,
        failures=crawler.spider.failures + (
            [{"url": "", "error": f"and {crawler.spider.failures_dropped} more failed pages"}]
            if crawler.spider.failures_dropped else []),
        gates=crawler.spider.gates,
        finish_reason=stats.get("finish_reason"),
    )
    summary_path.write_text(json.dumps(asdict(summary)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

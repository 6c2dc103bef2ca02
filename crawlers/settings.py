"""Scrapy settings shared by every onionwatch crawl; per-run values are added by the runner."""
from __future__ import annotations

# What Tor Browser sends: a crawler that looks like one browser among many.
TOR_BROWSER_USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"

BASE_SETTINGS = {
    "BOT_NAME": "onionwatch",
    "USER_AGENT": TOR_BROWSER_USER_AGENT,
    "ROBOTSTXT_OBEY": False,  # hidden markets have none; mirrors are ours to read
    "COOKIES_ENABLED": True,
    "CONCURRENT_REQUESTS": 8,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    "RETRY_ENABLED": True,
    "REDIRECT_MAX_TIMES": 5,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "WARNING",
    "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    "DEFAULT_REQUEST_HEADERS": {
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "en-US,en;q=0.5",
    },
    "DOWNLOADER_MIDDLEWARES": {
        # Replay answers before anything could reach the network.
        "crawlers.middlewares.warc_replay.WarcReplayMiddleware": 10,
        # Folder mirrors: nothing outside the mirror folder is read, missing files fail at once.
        "crawlers.middlewares.file_mirror.FileMirrorMiddleware": 20,
        "crawlers.middlewares.onion_guard.OnionGuardMiddleware": 50,
        "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
        "crawlers.middlewares.backoff_retry.BackoffRetryMiddleware": 550,
        # Above RedirectMiddleware (600), so it sees a redirect before it is followed
        # (loops, and redirects off the source's host, are page errors, never followed).
        "crawlers.middlewares.redirect_loop.RedirectLoopMiddleware": 650,
    },
    "ITEM_PIPELINES": {
        "crawlers.pipelines.warc_capture.WarcCapturePipeline": 100,
    },
}

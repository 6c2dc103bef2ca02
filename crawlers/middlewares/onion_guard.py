"""Fail-closed proxy routing: no .onion request leaves without the Tor proxy.

With ``ONIONWATCH_HTTP_PROXY`` set (privoxy in front of Tor), every request,
clearnet links included, goes through it, so DNS is never resolved locally.
Without it, any .onion request is refused before it reaches a downloader.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)


def is_onion(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "onion" or host.endswith(".onion")


class OnionProxyRequired(IgnoreRequest):
    pass


class OnionGuardMiddleware:
    def __init__(self, proxy: str | None, stats):
        self.proxy = proxy
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("ONIONWATCH_HTTP_PROXY") or None, crawler.stats)

    def process_request(self, request, spider=None):
        if request.url.startswith("file:"):
            return None
        if self.proxy:
            request.meta["proxy"] = self.proxy
            return None
        if is_onion(request.url):
            self.stats.inc_value("onionwatch/onion_refused")
            logger.error("refused %s: .onion needs a Tor proxy (set [proxy] http in the config)", request.url)
            raise OnionProxyRequired(f"refused {request.url}: no Tor proxy configured")
        return None

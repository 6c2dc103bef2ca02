"""Fail-closed proxy routing: no .onion request leaves without the Tor proxy.

With ``ONIONWATCH_HTTP_PROXIES`` set (privoxy in front of Tor), every request,
clearnet links included, goes through a proxy, so no name is resolved locally.
Each host always gets the same proxy from the list: with one privoxy per Tor
SocksPort, a market keeps one circuit for the whole crawl. Without a proxy,
any .onion request is refused before it reaches a downloader.
"""
from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)


def normal_host(host: str | None) -> str:
    """A host name as DNS sees it: lower case, without the trailing dot of a fully qualified name."""
    return (host or "").strip().lower().rstrip(".")


def is_onion_host(host: str | None) -> bool:
    host = normal_host(host)
    return host == "onion" or host.endswith(".onion")


def is_onion(url: str) -> bool:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return False
    return is_onion_host(host)


def proxy_for(host: str, proxies: list[str]) -> str:
    """The same proxy for the same host, every time (not Python's salted hash())."""
    digest = hashlib.sha256(host.encode("utf-8")).digest()
    return proxies[int.from_bytes(digest[:4], "big") % len(proxies)]


class OnionProxyRequired(IgnoreRequest):
    pass


class OnionGuardMiddleware:
    def __init__(self, proxies: list[str], stats):
        self.proxies = proxies
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(list(crawler.settings.getlist("ONIONWATCH_HTTP_PROXIES")), crawler.stats)

    def process_request(self, request, spider=None):
        if request.url.startswith("file:") or request.meta.get("onionwatch_replayed"):
            return None
        if self.proxies:
            request.meta["proxy"] = proxy_for(normal_host(urlsplit(request.url).hostname), self.proxies)
            return None
        if is_onion(request.url):
            self.stats.inc_value("onionwatch/onion_refused")
            logger.error("refused %s: .onion needs a Tor proxy (set [proxy] http in the config)", request.url)
            raise OnionProxyRequired(f"refused {request.url}: no Tor proxy configured")
        return None

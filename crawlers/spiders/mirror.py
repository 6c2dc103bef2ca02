"""MirrorSpider: walks one market from its start page, never leaving it, and yields every page.

The spider only navigates (category, pagination, listing and vendor links);
field extraction is the page objects' job, later, from the captures. It does
look at each page for a gate (captcha, DDoS filter, login, expired session):
following links from a gate leads nowhere, and on a live market a gate means
the session is gone, so the crawl stops there (``on_gate = "stop"``).
"""
from __future__ import annotations

import posixpath
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, TextResponse
from scrapy.linkextractors import LinkExtractor

from crawlers.items import CapturedPage
from extract.document import UnreadablePage, charset_of, parse
from extract.gates import gate_type

# Links to these are never pages worth fetching.
# Following these would end the analyst's session.
_SESSION_ENDING = r"log-?out|sign-?out|logoff|выход|выйти"
_SKIP_EXTENSIONS = ["png", "jpg", "jpeg", "gif", "webp", "svg", "ico", "css", "js", "zip", "pdf", "mp4", "woff", "woff2"]


def _cached_date(response) -> str | None:
    """When a response came from the HTTP cache, the date of the capture it repeats."""
    if "cached" not in response.flags or not response.headers.get("Date"):
        return None
    try:
        fetched = parsedate_to_datetime(response.headers.get("Date").decode("latin-1"))
    except (TypeError, ValueError):
        return None
    return fetched.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def mirror_scope(start_url: str) -> tuple[str, str]:
    """(scheme://host, path prefix) a link must share with the start page to stay in the mirror."""
    parts = urlsplit(start_url)
    prefix = posixpath.dirname(parts.path) + "/" if parts.scheme == "file" else "/"
    return f"{parts.scheme}://{parts.netloc}", prefix


class MirrorSpider(scrapy.Spider):
    name = "mirror"

    def __init__(self, start_url: str, market: str, on_gate: str = "skip", cookies: dict | None = None,
                 *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_urls = [start_url]
        self.market = market
        self.on_gate = on_gate
        self.cookies = cookies or {}
        self.origin, self.prefix = mirror_scope(start_url)
        self.links = LinkExtractor(
            deny=[_SESSION_ENDING], deny_extensions=_SKIP_EXTENSIONS, tags=("a", "area"), attrs=("href",)
        )
        self.failures: list[dict] = []
        self.failures_dropped = 0  # beyond MAX_FAILURES_KEPT: counted, not kept
        self.gates: list[dict] = []

    async def start(self):
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed, cookies=self.cookies)

    def gate(self, response) -> str | None:
        try:
            content_type = response.headers.get("Content-Type", b"").decode("latin-1")
            return gate_type(parse(response.body, charset_of(content_type)))
        except UnreadablePage:
            return None

    def in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin and parts.path.startswith(self.prefix)

    def parse(self, response):
        yield CapturedPage(
            url=response.url,
            status=response.status,
            body=response.body,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs],
            request_headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.request.headers.items() for v in vs
            ],
            captured_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            market=self.market,
            refers_to_date=_cached_date(response),
        )
        gate = self.gate(response)
        if gate:
            self.gates.append({"url": response.url, "type": gate})
            # An error page says nothing about the session; only a captcha or login ends a live crawl.
            if self.on_gate == "stop" and gate != "error":
                raise CloseSpider(f"gate:{gate}")
            return
        if not isinstance(response, TextResponse):
            # Saved pages without an extension come back untyped; read their links as HTML.
            response = HtmlResponse(response.url, body=response.body, request=response.request)
        for link in self.links.extract_links(response):
            url = urldefrag(link.url).url
            if self.in_scope(url):
                yield response.follow(url, callback=self.parse, errback=self.failed)
            else:
                self.crawler.stats.inc_value("onionwatch/offsite_links")

    def failed(self, failure):
        from crawlers.runner import MAX_FAILURES_KEPT

        request = failure.request
        if len(self.failures) >= MAX_FAILURES_KEPT:
            self.failures_dropped += 1
            return
        self.failures.append({"url": request.url, "error": failure.getErrorMessage() or failure.type.__name__})

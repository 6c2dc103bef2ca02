"""Crawl a WARC file as if it were the site: every response comes from the archive.

Enabled by ``ONIONWATCH_WARC_SOURCE``. Requests for pages the archive lacks
get a 404; nothing ever goes to the network, which is how past captures are
replayed through the same spider in tests and for re-extraction.
"""
from __future__ import annotations

from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Response

from crawlers.evidence import read_pages


class WarcReplayMiddleware:
    def __init__(self, path: str):
        # Last capture of a URL wins, as when the same page was fetched twice.
        self.pages = {page.url: page for page in read_pages(path) if page.body}

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("ONIONWATCH_WARC_SOURCE")
        if not path:
            raise NotConfigured("ONIONWATCH_WARC_SOURCE is not set")
        return cls(path)

    def process_request(self, request, spider=None):
        request.meta["onionwatch_replayed"] = True
        page = self.pages.get(request.url)
        if page is None:
            return Response(request.url, status=404, request=request)
        headers = {"Content-Type": page.content_type} if page.content_type else {}
        return HtmlResponse(request.url, status=page.status, body=page.body, headers=headers, request=request)

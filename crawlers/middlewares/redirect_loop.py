"""Redirect loops reported as such: without this, the duplicate filter drops the
looping request silently and the analyst never learns a page was unreachable."""
from __future__ import annotations

from urllib.parse import urljoin

from scrapy.exceptions import IgnoreRequest


class RedirectLoop(IgnoreRequest):
    pass


class RedirectLoopMiddleware:
    def process_response(self, request, response, spider=None):
        location = response.headers.get("Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise RedirectLoop(f"redirect loop: {' -> '.join([*chain, target])}")
        return response

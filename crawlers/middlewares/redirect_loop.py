"""Redirects the crawl must not follow, reported as page errors.

Loops: without this, the duplicate filter drops the looping request silently and
the analyst never learns a page was unreachable. Off-source redirects: a crawl
never leaves its source, so a redirect to another host (another .onion, a
clearnet site) is recorded as an error for that page and not followed.
"""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import IgnoreRequest


class RedirectLoop(IgnoreRequest):
    pass


class OffsiteRedirect(IgnoreRequest):
    pass


def host_key(url: str) -> tuple[str, str, int | None]:
    """Scheme, host (lower case, trailing dot dropped) and port: what "the same source" means."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").rstrip("."), port


class RedirectLoopMiddleware:
    def process_response(self, request, response, spider=None):
        location = response.headers.get("Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise RedirectLoop(f"redirect loop: {' -> '.join([*chain, target])}")
        _, host, port = host_key(chain[0])
        _, target_host, target_port = host_key(target)
        if (target_host, target_port) != (host, port):
            raise OffsiteRedirect(f"redirect off the source to {target} (not followed)")
        return response

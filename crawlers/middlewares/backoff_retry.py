"""Retries with exponential back-off: Tor circuits and market servers fail in bursts,
and retrying at once only meets the same failure."""
from __future__ import annotations

import asyncio

from scrapy.downloadermiddlewares.retry import RetryMiddleware

_DELAY_KEY = "onionwatch_retry_delay"


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.base_delay = settings.getfloat("ONIONWATCH_RETRY_BASE_DELAY", 2.0)

    def _retry(self, request, reason):
        retry = super()._retry(request, reason)
        if retry is not None:
            attempt = retry.meta.get("retry_times", 1)
            retry.meta[_DELAY_KEY] = self.base_delay * 2 ** (attempt - 1)
        return retry

    async def process_request(self, request, spider=None):
        delay = request.meta.pop(_DELAY_KEY, 0)
        if delay:
            await asyncio.sleep(delay)
        return None

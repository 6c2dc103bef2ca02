"""Item pipeline that writes every captured page to the run's WARC file (the evidence)."""
from __future__ import annotations

from pathlib import Path

from scrapy.exceptions import NotConfigured

from crawlers.evidence import Sha256WARCWriter, write_page
from crawlers.items import CapturedPage


class WarcCapturePipeline:
    """Enabled by the ``ONIONWATCH_WARC_PATH`` setting; writes gzip-per-record WARC."""

    def __init__(self, path: Path):
        self.path = path
        self._handle = None
        self._writer = None

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("ONIONWATCH_WARC_PATH")
        if not path:
            raise NotConfigured("ONIONWATCH_WARC_PATH is not set")
        return cls(Path(path))

    def open_spider(self, spider=None):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "ab")
        self._writer = Sha256WARCWriter(self._handle, gzip=True)

    def close_spider(self, spider=None):
        if self._handle is not None:
            self._handle.close()

    def process_item(self, item, spider=None):
        if isinstance(item, CapturedPage):
            write_page(self._writer, item)
            self._handle.flush()
        return item

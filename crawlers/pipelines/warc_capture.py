"""Item pipeline that writes every captured page to the run's WARC file (the evidence)."""
from __future__ import annotations

import json
from pathlib import Path

from scrapy.exceptions import NotConfigured

from crawlers.evidence import Sha256WARCWriter, manifest_path, sha256_digest, write_page
from crawlers.items import CapturedPage


class WarcCapturePipeline:
    """Enabled by the ``ONIONWATCH_WARC_PATH`` setting; writes gzip-per-record WARC."""

    def __init__(self, path: Path):
        self.path = path
        self._handle = None
        self._writer = None
        self._manifest = None
        self._records = 0

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
        # What the crawl wrote, page by page, written after the page's bytes are flushed: the
        # record of the run that ``captures verify`` holds the WARC file against.
        self._manifest = open(manifest_path(self.path), "a", encoding="utf-8")

    def close_spider(self, spider=None):
        if self._handle is not None:
            self._handle.close()
        if self._manifest is not None:
            self._manifest.write(json.dumps({"closed": True, "pages": self._records,
                                             "bytes": self.path.stat().st_size}) + "\n")
            self._manifest.close()

    def process_item(self, item, spider=None):
        if isinstance(item, CapturedPage):
            start = self._handle.tell()
            write_page(self._writer, item)
            self._handle.flush()
            self._records += 1
            self._manifest.write(json.dumps({"offset": start, "end": self._handle.tell(), "url": item.url,
                                             "digest": sha256_digest(item.body)}, ensure_ascii=False) + "\n")
            self._manifest.flush()
        return item

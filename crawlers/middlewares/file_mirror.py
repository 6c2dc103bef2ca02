"""Folder mirrors stay inside their folder: every ``file://`` request is checked before it is read.

A hostile page can link ``%2e%2e/%2e%2e/etc/passwd``, ``..%2f`` or a symlink that
leads out of the mirror; the target is decoded as the file handler would decode
it, resolved with ``realpath`` (symlinks included) and refused unless it lies
under the mirror root. Missing files are reported at once (retrying cannot make
a file appear) and files over ``DOWNLOAD_MAXSIZE`` are refused unread.
"""
from __future__ import annotations

import os
import posixpath
from urllib.parse import urlsplit
from urllib.request import url2pathname

from scrapy.exceptions import IgnoreRequest, NotConfigured


class OutsideMirror(IgnoreRequest):
    pass


class MissingFile(IgnoreRequest):
    pass


class FileTooLarge(IgnoreRequest):
    pass


def file_path(url: str) -> str:
    """The local path a ``file://`` URL names, decoded as Scrapy's file handler decodes it."""
    return url2pathname(urlsplit(url).path)


def mirror_root(start_url: str) -> str:
    """The real folder a folder mirror lives in (the start page's folder, symlinks resolved)."""
    return os.path.realpath(posixpath.dirname(file_path(start_url)))


def inside(root: str, path: str) -> bool:
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


class FileMirrorMiddleware:
    def __init__(self, start_url: str, max_bytes: int):
        self.root = mirror_root(start_url)
        self.max_bytes = max_bytes

    @classmethod
    def from_crawler(cls, crawler):
        start_url = crawler.settings.get("ONIONWATCH_START_URL") or ""
        if not start_url.startswith("file:"):
            raise NotConfigured("not a folder mirror")
        return cls(start_url, crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_request(self, request, spider=None):
        if not request.url.startswith("file:"):
            return None
        path = file_path(request.url)
        if not inside(self.root, path):
            raise OutsideMirror(f"refused: {path} lies outside the mirror folder {self.root}")
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise MissingFile(f"no such page in the mirror: {path} ({exc.strerror})") from None
        if os.path.isdir(path):
            raise MissingFile(f"a folder, not a page: {path}")
        if self.max_bytes and size > self.max_bytes:
            raise FileTooLarge(f"page too large: {size} bytes (limit {self.max_bytes})")
        return None

"""The capture store: every fetched page as WARC records with SHA-256 digests.

Layout: ``<captures>/<market>/<YYYY-MM-DD>/<run id>.warc.gz``. Folder mirrors
become ``resource`` records (there was no HTTP exchange); HTTP fetches become a
``request`` and a ``response`` record. Reading gives back each page with where
it lies (file and offset) and its digest, so a search hit can be traced to it.
"""
from __future__ import annotations

import io
import json
from http import HTTPStatus
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from crawlers.warcreader import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from crawlers.items import CapturedPage

MARKET_HEADER = "WARC-Onionwatch-Market"


class Sha256WARCWriter(WARCWriter):
    """warcio's writer with SHA-256 block and payload digests instead of SHA-1."""

    @staticmethod
    def _create_digester():
        return Digester("sha256")


def sha256_digest(payload: bytes) -> str:
    digester = Digester("sha256")
    digester.update(payload)
    return str(digester)


def manifest_path(warc: Path) -> Path:
    """The run's record of what it wrote to ``warc`` (one JSON line per page, then a closing line)."""
    return Path(str(warc) + ".manifest.jsonl")


def warc_path(captures_dir: Path, market: str, started: datetime, run_id: str) -> Path:
    if not market or market.startswith(".") or any(c in market for c in "/\\\0"):
        raise ValueError(f"market name {market!r} cannot name a capture folder")
    return Path(captures_dir) / market / started.strftime("%Y-%m-%d") / f"{run_id}.warc.gz"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def write_page(writer: WARCWriter, page: CapturedPage) -> None:
    warc_headers = {"WARC-Date": page.captured_at, MARKET_HEADER: page.market}
    content_type = dict((k.lower(), v) for k, v in page.headers).get("content-type", "text/html")
    if page.refers_to_date:
        # Unchanged since an earlier capture: record that it was seen, not the bytes again.
        revisit = writer.create_revisit_record(
            page.url, sha256_digest(page.body), page.url, page.refers_to_date,
            http_headers=StatusAndHeaders(f"{page.status} {_reason(page.status)}", page.headers, protocol="HTTP/1.1"),
            warc_headers_dict=dict(warc_headers),
        )
        writer.write_record(revisit)
    elif page.url.startswith(("http://", "https://")):
        parts = urlsplit(page.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = writer.create_warc_record(
            page.url, "request",
            http_headers=StatusAndHeaders(f"GET {target} HTTP/1.1", page.request_headers, is_http_request=True),
            warc_headers_dict=dict(warc_headers),
        )
        response = writer.create_warc_record(
            page.url, "response",
            payload=io.BytesIO(page.body),
            http_headers=StatusAndHeaders(f"{page.status} {_reason(page.status)}", page.headers, protocol="HTTP/1.1"),
            warc_headers_dict=dict(warc_headers),
        )
        writer.write_request_response_pair(request, response)
    else:
        record = writer.create_warc_record(
            page.url, "resource",
            payload=io.BytesIO(page.body),
            warc_content_type=content_type,
            warc_headers_dict=dict(warc_headers),
        )
        writer.write_record(record)


@dataclass(frozen=True)
class StoredPage:
    url: str
    body: bytes
    captured_at: str
    market: str
    status: int
    content_type: str | None
    warc_file: str
    offset: int
    digest: str
    revisit: bool = False  # seen unchanged; the body lies in an earlier capture


def read_pages(path: Path) -> Iterator[StoredPage]:
    """Every captured page (response, resource or revisit record) in a WARC file, in order."""
    with open(path, "rb") as handle:
        records = ArchiveIterator(handle)
        for record in records:
            if record.rec_type not in ("response", "resource", "revisit"):
                continue
            body = record.content_stream().read()
            headers = record.rec_headers
            if record.http_headers is not None and record.rec_type in ("response", "revisit"):
                status = int(record.http_headers.get_statuscode() or 0)
                content_type = record.http_headers.get_header("Content-Type")
            else:
                status = 200
                content_type = headers.get_header("Content-Type")
            yield StoredPage(
                url=headers.get_header("WARC-Target-URI"),
                body=body,
                captured_at=headers.get_header("WARC-Date"),
                market=headers.get_header(MARKET_HEADER) or "",
                status=status,
                content_type=content_type,
                warc_file=str(path),
                offset=records.get_record_offset(),
                digest=headers.get_header("WARC-Payload-Digest") or sha256_digest(body),
                revisit=record.rec_type == "revisit",
            )


@dataclass(frozen=True)
class AlteredRecord:
    warc_file: str
    offset: int
    url: str
    problems: tuple[str, ...]


def capture_files(captures_dir: Path, market: str | None = None) -> list[Path]:
    root = Path(captures_dir) / market if market else Path(captures_dir)
    return sorted(p for pattern in ("*.warc.gz", "*.warc") for p in root.rglob(pattern))


def orphan_manifests(captures_dir: Path, market: str | None = None) -> list[Path]:
    """Manifests whose capture file is gone: evidence a run wrote that no longer exists."""
    root = Path(captures_dir) / market if market else Path(captures_dir)
    return sorted(p for p in root.rglob("*.manifest.jsonl") if not Path(str(p)[: -len(".manifest.jsonl")]).exists())


@dataclass(frozen=True)
class Damage:
    """Evidence that is not as the crawl wrote it: kind is ALTERED, MISSING, TRUNCATED, UNREADABLE or EMPTY."""

    kind: str
    warc_file: str
    offset: int | None
    url: str
    problem: str

    def line(self) -> str:
        at = f" @ {self.offset}" if self.offset is not None else ""
        return f"{self.kind} {self.warc_file}{at}{' ' + self.url if self.url else ''}: {self.problem}"


def _manifest(path: Path) -> tuple[list[dict], dict | None]:
    pages, closing = [], None
    try:
        lines = manifest_path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return [], None
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a manifest line cut by a kill: the WARC bytes are still checked
        if entry.get("closed"):
            closing = entry
        elif "offset" in entry:
            pages.append(entry)
    return pages, closing


def check_capture(path: Path) -> tuple[int, list[Damage], bool]:
    """Check one capture file: every record re-hashed against its digests, and the file held against
    the run's manifest (pages missing, file cut short). Never raises for a damaged file.

    Returns (records read, damage found, whether a manifest was there to compare with).
    """
    path = Path(path)
    name = str(path)
    pages, closing = _manifest(path)
    has_manifest = manifest_path(path).exists()
    damage: list[Damage] = []
    size = path.stat().st_size
    if size == 0:
        damage.append(Damage("EMPTY", name, None, "", "the file is empty"))
    found: dict[int, tuple[str, str, str]] = {}  # offset -> (url, payload digest, type)
    checked = 0
    offset = 0
    if size:
        with open(path, "rb") as handle:
            records = ArchiveIterator(handle, check_digests=True)
            try:
                for record in records:
                    offset = records.get_record_offset()
                    record.content_stream().read()  # digests are checked as the record is read to its end
                    checked += 1
                    url = record.rec_headers.get_header("WARC-Target-URI") or ""
                    found[offset] = (url, record.rec_headers.get_header("WARC-Payload-Digest") or "", record.rec_type)
                    if record.digest_checker.passed is False:
                        damage.append(Damage("ALTERED", name, offset, url,
                                             "; ".join(str(p) for p in record.digest_checker.problems)))
            except Exception as exc:  # garbled bytes: report where, go on with the other files
                damage.append(Damage("UNREADABLE", name, offset, "",
                                     f"cannot read past here ({type(exc).__name__}: {str(exc)[:160]}); "
                                     "records after it are not checked"))
    expected_bytes = closing["bytes"] if closing else (pages[-1]["end"] if pages else 0)
    if has_manifest and size < expected_bytes:
        damage.append(Damage("TRUNCATED", name, size, "", f"{size} bytes, the crawl wrote {expected_bytes}"))
    # Pages are matched by URL and digest, not offset: a record cut out shifts every later one.
    unmatched: dict[tuple[str, str], int] = {}
    by_url: dict[str, str] = {}
    for url, digest, kind in found.values():
        if kind != "request":
            unmatched[(url, digest)] = unmatched.get((url, digest), 0) + 1
            by_url[url] = digest
    for page in pages:
        key = (page["url"], page["digest"])
        if unmatched.get(key):
            unmatched[key] -= 1
        elif page["url"] in by_url:
            damage.append(Damage("ALTERED", name, page["offset"], page["url"],
                                 f"payload digest {by_url[page['url']]} differs from {page['digest']} recorded by the crawl"))
        else:
            damage.append(Damage("MISSING", name, page["offset"], page["url"],
                                 "the crawl wrote this page; it is not in the file"))
    return checked, damage, has_manifest


def verify(path: Path) -> tuple[int, list[AlteredRecord]]:
    """Re-hash every record of a capture file against its recorded block and payload digests.

    Returns how many records were checked, and the ones whose bytes no longer
    match what was recorded at capture time.
    """
    checked, damage, _ = check_capture(path)
    return checked, [AlteredRecord(d.warc_file, d.offset or 0, d.url, (d.problem,)) for d in damage
                     if d.kind == "ALTERED"]

"""Evidence packages: what a court needs to see that a captured page is what was seen, and when.

``onionwatch evidence --vendor V --out case.zip`` writes a zip holding

    records.warc.gz   the WARC records behind the selection, copied byte for byte from the
                      capture store (each record is its own gzip member, so the copies
                      concatenate into a valid WARC file): each listing's page record, for an
                      HTTP capture with the request record that fetched it; for a vendor, also
                      the pages of the capture store that show the vendor's keys and addresses
    manifest.json     per record: capture time, URI, record id and type, SHA-256 of the record
                      as stored, its WARC block and payload digests, where it lies in the
                      capture store and in the package, the listings read from it; the
                      onionwatch version, the configuration digest, the selection, the SHA-256
                      of every other file, who made the package (``made_by``) and when (``made_at``)
    listings.json     the listings of the selection as indexed
    report.html       listings with the sanitised text of their captured pages
    report.pdf        the same (reportlab, deterministic: invariant mode, fixed metadata)

Everything but the ``made_by``/``made_at`` entry of the manifest is byte-identical when the
package is made again from the same data: zip entries are sorted, timestamped 1980-01-01 and
compressed the same way. ``onionwatch evidence verify case.zip`` re-checks every hash and
every record's own WARC digests, and names each record or file that differs.
"""
from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from crawlers.warcreader import ArchiveIterator

from onionwatch import __version__
from onionwatch.exporters.rows import digest_hex
from onionwatch.selection import Selection, select

FORMAT = "onionwatch-evidence/1"
RECORDS = "records.warc.gz"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SECRETS = {"api_key", "password", "smtp_password"}


class PackageError(ValueError):
    """The package cannot be made or read; the message says why, in one line."""


def config_digest(config) -> str:
    """SHA-256 of the configuration as used (secrets left out), canonical JSON."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _SECRETS}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value

    canonical = json.dumps(strip(dataclasses.asdict(config)), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class _Record:
    source_file: Path
    source_offset: int
    listings: set = field(default_factory=set)
    data: bytes = b""
    headers: dict = field(default_factory=dict)
    text: str = ""


def _read_record(path: Path, offset: int) -> tuple[bytes, dict, bytes]:
    """The record at ``offset`` exactly as stored, its WARC headers, and its payload."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        records = ArchiveIterator(handle)
        record = next(records, None)
        if record is None:
            raise PackageError(f"no WARC record at offset {offset} of {path}")
        payload = record.content_stream().read()
        headers = {name: value for name, value in record.rec_headers.headers}
        records.read_to_end(record)
        length = records.get_record_length()
        handle.seek(offset)
        return handle.read(length), headers, payload


def _requests_for(path: Path) -> dict[str, int]:
    """Offsets of the request records of a capture file, by the response they belong to (WARC-Concurrent-To)."""
    found = {}
    with open(path, "rb") as handle:
        records = ArchiveIterator(handle)
        for record in records:
            if record.rec_type == "request" and record.rec_headers.get_header("WARC-Concurrent-To"):
                found[record.rec_headers.get_header("WARC-Concurrent-To")] = records.get_record_offset()
    return found


def _page_text(payload: bytes, content_type: str | None) -> str:
    from extract.document import UnreadablePage, charset_of, parse

    try:
        return parse(payload, charset_of(content_type)).text
    except UnreadablePage as exc:
        return f"[page text unreadable: {exc}]"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


def _vendor_pages(config, vendor: str) -> list[tuple[str, int]]:
    """Captures that show the vendor's keys or addresses (profile pages), from the leads' sightings."""
    from onionwatch.leads import Sightings

    book = Sightings.open(config)
    try:
        book.update(config.captures_dir)
        return book.vendor_pages(vendor)
    finally:
        book.close()


def make_package(config, selection: Selection, out: Path, examiner: str, made_at: str | None = None) -> dict:
    from index import open_index
    from index.history import History

    history = History(config.history_db)
    try:
        listings, records = [], {}
        for item in select(open_index(config), history, selection):
            listings.append({**item.listing, "observations": item.observations})
            capture = item.capture or {}
            if capture.get("warc_file") is not None and capture.get("offset") is not None:
                key = (capture["warc_file"], int(capture["offset"]))
                records.setdefault(key, _Record(Path(key[0]), key[1])).listings.add(item.listing["listing_id"])
    finally:
        history.close()
    if not listings:
        raise PackageError("nothing selected: no indexed listing matches")
    if selection.vendor:
        for key in _vendor_pages(config, selection.vendor):
            records.setdefault(key, _Record(Path(key[0]), key[1]))
    for key in list(records):  # an HTTP response goes with the request that fetched it
        if not records[key].source_file.is_file():
            raise PackageError(f"capture file missing: {records[key].source_file}")
    requests: dict[Path, dict[str, int]] = {}
    for record in list(records.values()):
        record.data, record.headers, payload = _read_record(record.source_file, record.source_offset)
        record.text = _page_text(payload, record.headers.get("Content-Type"))
        if record.headers.get("WARC-Type") == "response":
            if record.source_file not in requests:
                requests[record.source_file] = _requests_for(record.source_file)
            request_at = requests[record.source_file].get(record.headers.get("WARC-Record-ID"))
            if request_at is not None and (str(record.source_file), request_at) not in records:
                request = _Record(record.source_file, request_at, listings=set(record.listings))
                request.data, request.headers, _ = _read_record(record.source_file, request_at)
                request.text = "[the HTTP request that fetched record " \
                               f"{record.headers.get('WARC-Record-ID')}]"
                records[(str(record.source_file), request_at)] = request
    warc = io.BytesIO()
    entries = []
    for number, key in enumerate(sorted(records), 1):
        record = records[key]
        entries.append({
            "n": number, "warc_record_id": record.headers.get("WARC-Record-ID"),
            "warc_type": record.headers.get("WARC-Type"), "uri": record.headers.get("WARC-Target-URI"),
            "captured_at": record.headers.get("WARC-Date"), "market": record.headers.get("WARC-Onionwatch-Market"),
            "sha256": hashlib.sha256(record.data).hexdigest(), "length": len(record.data),
            "package_offset": warc.tell(),
            "block_digest": record.headers.get("WARC-Block-Digest"),
            "payload_digest": record.headers.get("WARC-Payload-Digest"),
            "payload_sha256": digest_hex(record.headers.get("WARC-Payload-Digest")),
            "source_file": _relative(record.source_file, config.captures_dir),
            "source_offset": record.source_offset, "listings": sorted(record.listings),
            "concurrent_to": record.headers.get("WARC-Concurrent-To"),
        })
        warc.write(record.data)
    ordered = [records[key] for key in sorted(records)]
    files = {
        RECORDS: warc.getvalue(),
        "listings.json": json.dumps(listings, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8"),
        "report.html": _html_report(selection, listings, entries, ordered).encode("utf-8"),
        "report.pdf": _pdf_report(selection, listings, entries, ordered),
    }
    manifest = {
        "format": FORMAT, "onionwatch_version": __version__, "config_digest": config_digest(config),
        "selection": selection.describe(), "records_file": RECORDS, "records": entries,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "made_by": examiner, "made_at": made_at or datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    out = Path(out)
    if not out.resolve().parent.is_dir():
        raise PackageError(f"no such folder: {out.parent}")
    with zipfile.ZipFile(out, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name], compresslevel=9)
    return {"listings": len(listings), "records": len(entries)}


def _html_report(selection: Selection, listings: list[dict], entries: list[dict], records: list[_Record]) -> str:
    e = html.escape
    by_listing = {i: entry for entry in entries if entry["warc_type"] != "request" for i in entry["listings"]}
    chosen = ", ".join(f"{k} {v}" for k, v in selection.describe().items() if v)
    out = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8"><title>onionwatch evidence report</title>',
           "<style>body{font-family:sans-serif;max-width:60em;margin:auto} pre{white-space:pre-wrap;"
           "background:#f4f4f4;padding:.5em} td,th{text-align:left;padding:0 .5em}</style></head><body>",
           f"<h1>Evidence report</h1><p>Selection: {e(chosen)}. onionwatch {e(__version__)}. "
           f"{len(listings)} listings, {len(entries)} WARC records (records.warc.gz; hashes in manifest.json).</p>",
           "<h2>Listings</h2><table><tr><th>listing</th><th>market</th><th>vendor</th><th>title</th><th>price</th>"
           "<th>captured</th><th>record</th></tr>"]
    for listing in listings:
        entry = by_listing.get(listing["listing_id"], {})
        price = f"{listing.get('price')} {listing.get('currency') or ''}" if listing.get("price") is not None else ""
        out.append(f"<tr><td>{e(listing['listing_id'])}</td><td>{e(listing.get('market') or '')}</td>"
                   f"<td>{e(listing.get('vendor') or '')}</td><td>{e(listing.get('title') or '')}</td>"
                   f"<td>{e(price)}</td><td>{e(listing.get('captured_at') or '')}</td>"
                   f"<td>{entry.get('n', '')}</td></tr>")
    out.append("</table><h2>Captured pages</h2>")
    for entry, record in zip(entries, records):
        if entry["warc_type"] == "request":
            continue
        out.append(f"<h3>Record {entry['n']}: {e(entry['uri'] or '')}</h3><p>Captured {e(entry['captured_at'] or '')}"
                   f"; {e(entry['warc_type'] or '')} record {e(entry['warc_record_id'] or '')}; SHA-256 of the record "
                   f"{entry['sha256']}; block digest {e(entry['block_digest'] or '')}</p><pre>{e(record.text)}</pre>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf",
          "/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")


def _font() -> str:
    """A TrueType font with Cyrillic (DejaVu or Liberation) if the system has one, else reportlab's Vera."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "OnionwatchSans" not in pdfmetrics.getRegisteredFontNames():
        path = next((p for p in _FONTS if Path(p).is_file()), "Vera.ttf")
        pdfmetrics.registerFont(TTFont("OnionwatchSans", path))
    return "OnionwatchSans"


def _pdf_report(selection: Selection, listings: list[dict], entries: list[dict], records: list[_Record]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Preformatted, SimpleDocTemplate, Spacer

    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=11)
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=16, spaceBefore=8, spaceAfter=4)
    mono = ParagraphStyle("page", fontName=font, fontSize=7, leading=8.5)
    e = html.escape
    chosen = ", ".join(f"{k} {v}" for k, v in selection.describe().items() if v)
    story = [Paragraph("Evidence report", heading),
             Paragraph(e(f"Selection: {chosen}. onionwatch {__version__}. {len(listings)} listings, "
                         f"{len(entries)} WARC records (records.warc.gz; hashes in manifest.json)."), body),
             Paragraph("Listings", heading)]
    by_listing = {i: entry for entry in entries if entry["warc_type"] != "request" for i in entry["listings"]}
    for listing in listings:
        entry = by_listing.get(listing["listing_id"], {})
        price = f"{listing.get('price')} {listing.get('currency') or ''}" if listing.get("price") is not None else "-"
        story.append(Paragraph(e(f"{listing.get('market')} | {listing.get('vendor') or '-'} | {listing.get('title')} | "
                                 f"{price} | captured {listing.get('captured_at')} | record {entry.get('n', '-')} | "
                                 f"id {listing['listing_id']}"), body))
    for entry, record in zip(entries, records):
        if entry["warc_type"] == "request":
            continue
        story.append(Paragraph(e(f"Record {entry['n']}: {entry['uri']}"), heading))
        story.append(Paragraph(e(f"Captured {entry['captured_at']}; {entry['warc_type']} record "
                                 f"{entry['warc_record_id']}; SHA-256 {entry['sha256']}"), body))
        story.append(Spacer(1, 4))
        story.append(Preformatted(record.text, mono, maxLineLength=120))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title="onionwatch evidence report", author="onionwatch",
                                 creator=f"onionwatch {__version__}", producer="onionwatch (reportlab)",
                                 subject=chosen, invariant=1)
    document.build(story)
    return buffer.getvalue()


@dataclass
class VerifyResult:
    checked: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)


def verify_package(path: Path) -> VerifyResult:
    """Re-check every file hash, every record's SHA-256 and the record's own WARC digests."""
    path = Path(path)
    if not path.is_file():
        raise PackageError(f"no such package: {path}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise PackageError(f"{path} is not a zip file") from None
    with archive:
        names = set(archive.namelist())
        if "manifest.json" not in names:
            raise PackageError(f"{path} has no manifest.json: not an onionwatch evidence package")
        try:
            manifest = json.loads(archive.read("manifest.json"))
        except (ValueError, UnicodeDecodeError):
            raise PackageError("manifest.json is not valid JSON") from None
        if manifest.get("format") != FORMAT:
            raise PackageError(f"unknown package format {manifest.get('format')!r} (expected {FORMAT})")
        result = VerifyResult()
        contents = {}
        for name, expected in sorted(manifest.get("files", {}).items()):
            result.files += 1
            if name not in names:
                result.problems.append(f"file {name}: missing from the package")
                continue
            contents[name] = archive.read(name)
            actual = hashlib.sha256(contents[name]).hexdigest()
            if actual != expected:
                result.problems.append(f"file {name}: SHA-256 {actual} differs from the manifest's {expected}")
        warc = contents.get(manifest.get("records_file", RECORDS), b"")
        end = 0
        for entry in manifest.get("records", []):
            result.checked += 1
            name = f"record {entry['n']} ({entry.get('uri')}, captured {entry.get('captured_at')}, " \
                   f"{entry.get('warc_record_id')})"
            data = warc[entry["package_offset"]:entry["package_offset"] + entry["length"]]
            end = max(end, entry["package_offset"] + entry["length"])
            actual = hashlib.sha256(data).hexdigest()
            if actual != entry["sha256"]:
                result.problems.append(f"{name}: SHA-256 {actual} differs from the manifest's {entry['sha256']}")
            for problem in _record_problems(data, entry):
                result.problems.append(f"{name}: {problem}")
        if warc and end != len(warc):
            result.problems.append(f"{RECORDS}: {len(warc) - end} bytes beyond the records the manifest lists")
    return result


def _record_problems(data: bytes, entry: dict) -> list[str]:
    """The record's own digests (block, payload) and headers against the manifest."""
    try:
        records = ArchiveIterator(io.BytesIO(data), check_digests=True)
        record = next(records, None)
        if record is None:
            return ["not a WARC record"]
        record.content_stream().read()
    except Exception as exc:  # a damaged gzip member or header block: say so, go on with the next record
        return [f"unreadable WARC record ({type(exc).__name__}: {exc})"]
    problems = []
    if record.digest_checker.passed is False:
        problems.append("WARC digests do not match the record's content: " +
                        "; ".join(str(p) for p in record.digest_checker.problems))
    for header, key in (("WARC-Record-ID", "warc_record_id"), ("WARC-Target-URI", "uri"), ("WARC-Date", "captured_at"),
                        ("WARC-Block-Digest", "block_digest")):
        if record.rec_headers.get_header(header) != entry.get(key):
            problems.append(f"{header} {record.rec_headers.get_header(header)!r} differs from the manifest's "
                            f"{entry.get(key)!r}")
    return problems

"""What a crawl yields: one fetched page, kept whole as evidence."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CapturedPage:
    url: str
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    captured_at: str = ""  # ISO 8601, UTC
    market: str = ""
    # Set when the page was re-validated from the HTTP cache (a 304): unchanged since that capture.
    refers_to_date: str | None = None

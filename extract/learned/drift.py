"""Noticing that a learned market changed its layout.

Each run of a learned market is compared with the market's recent history,
page by page (``<data>/markets/NAME.history.json``): a page whose items the
learned layout read before and now reads none, or a field every item of the
page showed in every earlier run and none shows now, means the layout moved.
Those pages go to the generic extractor for the run (``page_for`` answers
None), and the run is reported as drifted until the market is taught again.

``DriftWatch`` stands in for the ``LearnedMarket`` given to ``extract_page``:
set ``current`` to the page's key before extracting it.
"""
from __future__ import annotations

import json
from dataclasses import fields as dataclass_fields
from pathlib import Path

from extract.document import Document
from extract.learned import LearnedMarket, LearnedPage
from extract.model import RawListing

# Fields whose disappearance from a page shows a moved layout (the title is what finds items at all).
_WATCHED = ("vendor", "prices", "ships_from", "ships_to", "city", "district", "dead_drop")
HISTORY_RUNS = 5


def history_path(markets_dir: Path, name: str) -> Path:
    return Path(markets_dir) / f"{name}.history.json"


def _shown(listings: list[RawListing]) -> set[str]:
    names = {f.name for f in dataclass_fields(RawListing)}
    return {f for f in _WATCHED if f in names and listings and all(getattr(item, f) for item in listings)}


class DriftWatch:
    def __init__(self, learned: LearnedMarket, markets_dir: Path, version: int | None = None):
        self.learned = learned
        self.name = learned.name
        self.version = version
        self.path = history_path(markets_dir, learned.name)
        try:
            self.history = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}
        except (OSError, ValueError):
            self.history = {}
        self.pages: dict = self.history.setdefault("pages", {})
        self.current: str | None = None
        self.now: dict[str, dict] = {}
        self.drifted: dict[str, str] = {}  # page key -> what changed

    def page_for(self, doc: Document, url: str | None = None) -> LearnedPage | None:
        key = self.current or url or ""
        page = self.learned.page_for(doc, url)
        listings = page.listings() if page is not None else []
        before = self.pages.get(key, [])
        had_items = [run for run in before if run.get("items")]
        if had_items and not listings and len(had_items) == len(before):
            self.drifted[key] = "items were read here before, none now"
            return None
        if listings and had_items:
            always = set.intersection(*[set(run.get("shown", [])) for run in had_items])
            lost = always - _shown(listings)
            if lost:
                self.drifted[key] = f"{', '.join(sorted(lost))} always shown before, missing now"
                return None
        if page is not None:
            self.now[key] = {"items": len(listings), "shown": sorted(_shown(listings)), "type": page.page_type}
        return page

    @property
    def message(self) -> str | None:
        if not self.drifted:
            return None
        return f"layout of {self.name} changed: re-teach ({len(self.drifted)} pages read by the generic path)"

    def finish(self) -> None:
        """Remember this run's reading of the pages that did not drift (drifted ones keep their
        history, so the change is reported until the market is taught again)."""
        for key, seen in self.now.items():
            if key in self.drifted:
                continue
            runs = self.pages.setdefault(key, [])
            runs.append(seen)
            del runs[:-HISTORY_RUNS]
        self.history["version"] = self.version
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.history, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)


def learned_reader(markets_dir: Path | None, market: str, watch: bool):
    """What ``extract_page`` should get as ``learned`` for a market: None when it was never
    taught (or its file is unreadable), a DriftWatch on monitored runs, else the market itself."""
    from extract.learned import store

    if markets_dir is None:
        return None
    try:
        record = store.read(Path(markets_dir).parent, market)
    except store.StoreError:
        return None
    if record is None:
        return None
    learned = LearnedMarket(market, record["model"])
    return DriftWatch(learned, markets_dir, record.get("version")) if watch else learned

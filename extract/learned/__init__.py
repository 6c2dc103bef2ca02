"""Markets learned from labelled example pages (wrapper induction): data, not code.

``learn_from_examples`` turns saved pages and their labels into a model (plain
JSON); ``LearnedMarket`` reads pages of the learned layouts with it and says
when a page is of a layout it was not shown, so the caller falls back to the
generic extractor. ``extract.learned.store`` keeps models under the data folder.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urljoin

from extract.document import Document, parse
from extract.learned.wrapper import (
    FORMAT_VERSION, LabelError, apply_field, fingerprint, is_item, learn, select_records, similarity,
)
from extract.markets.base import MarketPage
from extract.model import RawListing

# A page of a learned layout shares most of its markup shapes with the example.
MIN_SIMILARITY = 0.45

__all__ = ["LabelError", "LearnedMarket", "LearnedPage", "learn_from_examples", "examples_in", "FORMAT_VERSION"]


class LearnedPage(MarketPage):
    def __init__(self, doc: Document, url: str | None, layout: dict, records: list):
        super().__init__(doc, url)
        self.layout = layout
        self.records = records  # (group, record element) in page order
        self.page_type = layout["page_type"]

    def listings(self) -> list[RawListing]:
        if getattr(self, "_listings", None) is None:
            self._listings = self._read()
        return self._listings

    def _read(self) -> list[RawListing]:
        body = self.doc.tree.find("body")
        body = body if body is not None else self.doc.tree
        shared_cache: dict[int, dict] = {}
        out = []
        for group, record in self.records:
            rules = group["fields"]
            key = id(group)
            if key not in shared_cache:
                shared_cache[key] = {field: apply_field(body, field, found)
                                     for field, found in (group.get("page_fields") or {}).items()}
            shared = shared_cache[key]
            title = apply_field(record, "title", rules["title"])
            if not title:
                continue

            def get(field, record=record, rules=rules, shared=shared):
                return apply_field(record, field, rules[field]) if field in rules else shared.get(field)

            href = get("url")
            out.append(RawListing(
                title=title,
                url=urljoin(self.url, href) if href and self.url else href,
                vendor=get("vendor"),
                prices=list(get("price") or []),
                quantity_text=get("quantity"),
                ships_from=get("ships_from"),
                ships_to=get("ships_to"),
                city=get("city"),
                district=get("district"),
                dead_drop=get("dead_drop"),
                category=get("category"),
            ))
        return out

    def vendor(self) -> dict | None:
        profile = self.layout.get("profile")
        if not profile:
            return None
        body = self.doc.tree.find("body")
        name = apply_field(body if body is not None else self.doc.tree, "vendor", profile["name"])
        return {"name": name} if name else None


class LearnedMarket:
    """A market's learned layouts; ``page_for`` picks the layout a page is of, or None."""

    def __init__(self, name: str, model: dict):
        self.name = name
        self.model = model
        self.layouts = model.get("layouts", [])
        self._prints = [set(layout.get("fingerprint", [])) for layout in self.layouts]

    def match(self, doc: Document) -> tuple[dict, list, float] | None:
        body = doc.tree.find("body")
        body = body if body is not None else doc.tree
        prints = fingerprint(body)
        best = None
        for layout, example_prints in zip(self.layouts, self._prints):
            score = similarity(example_prints, prints)
            if score < MIN_SIMILARITY or (best is not None and score <= best[2]):
                continue
            records = self._records(layout, body)
            if records is None:
                continue
            best = (layout, records, score)
        return best

    @staticmethod
    def _records(layout: dict, body) -> list | None:
        groups = layout.get("groups") or []
        if not groups:
            if layout.get("profile") and apply_field(body, "vendor", layout["profile"]["name"]):
                return []
            return [] if layout.get("empty") else None
        found = []
        for group in groups:
            rules = group["fields"]
            if "title" not in rules:
                continue
            selector = group.get("record")
            records = [body] if selector is None else select_records(body, selector)
            found.extend((group, r) for r in records if is_item(r, group))
        if not found:
            return None
        if len(groups) > 1:
            order = {id(el): i for i, el in enumerate(body.iter())}
            found.sort(key=lambda pair: order.get(id(pair[1]), 0))
        return found

    def page_for(self, doc: Document, url: str | None = None) -> LearnedPage | None:
        found = self.match(doc)
        if found is None:
            return None
        layout, records, _ = found
        return LearnedPage(doc, url, layout, records)


def examples_in(folder: Path) -> list[tuple[Path, Path]]:
    """(page, labels) pairs of a folder: every file P (not hidden) with P.json beside it."""
    pairs = []
    for page in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if page.name.startswith(".") or page.suffix == ".json" and page.with_suffix("").exists():
            continue
        labels = page.with_name(page.name + ".json")
        if labels.exists():
            pairs.append((page, labels))
    return pairs


def read_labels(path: Path) -> dict:
    try:
        labels = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelError(f"{path}: not readable JSON labels ({exc})") from None
    if not isinstance(labels, dict) or labels.get("page_type") not in (
            "listing", "category", "vendor", "captcha", "login", "error", "other"):
        raise LabelError(f"{path}: labels need a page_type (listing, category, vendor, ...)")
    if not isinstance(labels.get("listings", []), list):
        raise LabelError(f"{path}: 'listings' must be a list")
    return labels


def learn_from_examples(pairs: list[tuple[Path, dict | Path]], strict: bool = True) -> dict:
    """A model from (page file, labels or labels file) pairs; pages of page types without
    items or a vendor name (captcha, login, error, other) are not layouts and are left out."""
    examples = []
    for page, labels in pairs:
        if not isinstance(labels, dict):
            labels = read_labels(labels)
        if labels.get("page_type") not in ("listing", "category", "vendor"):
            continue
        try:
            doc = parse(Path(page).read_bytes())
        except (OSError, ValueError) as exc:
            raise LabelError(f"{page}: cannot read the example page ({exc})") from None
        examples.append((doc, labels, str(page)))
    if not examples:
        raise LabelError("no usable example: need a saved page with labels of page type listing, category or vendor")
    return learn(examples, strict)

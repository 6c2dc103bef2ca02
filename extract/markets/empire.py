"""Empire Market (2019-2020): home feature boxes, search rows, product pages, user profiles."""
from __future__ import annotations

import re

from extract.markets.base import Market, MarketPage, labelled_value, select, select_one, text
from extract.measures import parse_prices
from extract.model import RawListing

# "Item # <id> - <category> / <subcategory> - (<count>)": the category between the dashes.
_CATEGORY = re.compile(r"Item\s*#\s*\d+\s*-\s*(.+?)\s*-")


def _category(line: str | None) -> str | None:
    match = _CATEGORY.search(line or "")
    return match.group(1) if match else None


class EmpireListPage(MarketPage):
    """Home page feature boxes and search result rows: both are lists of items."""

    page_type = "category"

    def listings(self) -> list[RawListing]:
        found = []
        for box in select(self.root, "div.feature-listing div.col-2"):
            title_link = select_one(box, "p.paddingInit a[href*='/product/']")
            if title_link is None:
                continue
            lines = [text(p) for p in select(box, "p.paddingInit")]
            found.append(RawListing(
                title=text(title_link),
                url=self.link(title_link),
                vendor=text(box, "a[href*='/u/']"),
                prices=parse_prices(next((line for line in lines if line and line.startswith("Buy:")), "")),
                category=_category(next((line for line in lines if line and line.startswith("Item #")), None)),
            ))
        for row in select(self.root, "div.col-1search"):
            title_link = select_one(row, ".col-1centre .head > a[href*='/product/']")
            if title_link is None:
                continue
            found.append(RawListing(
                title=text(title_link),
                url=self.link(title_link),
                vendor=text(row, ".col-1centre a[href*='/u/']"),
                prices=parse_prices(text(row, ".col-1right") or ""),
                category=_category(text(row, ".col-1centre p.padp")),
            ))
        return found


class EmpireProductPage(MarketPage):
    page_type = "listing"

    def listings(self) -> list[RawListing]:
        product = select_one(self.root, "div.listDes")
        form = select_one(product, "form")
        return [RawListing(
            title=text(product, "h2"),
            url=self.url,
            vendor=text(product, "a[href*='/u/']"),
            prices=parse_prices(" ".join(text(p) or "" for p in select(form, "p")) if form is not None else ""),
            ships_from=labelled_value(product, "Origin Country"),
            ships_to=labelled_value(product, "Ships to"),
        )]


class EmpireProfilePage(MarketPage):
    page_type = "vendor"

    def vendor(self) -> dict:
        heading = text(self.root, ".sub_head_inner_header h3 a[href*='/u/']") or ""
        return {"name": heading.removesuffix("'s Profile").strip() or None}


class Empire(Market):
    name = "empire"

    @classmethod
    def recognises(cls, doc) -> bool:
        return doc.title.startswith("Empire Market")

    @classmethod
    def page_for(cls, doc, url):
        if select_one(doc.tree, "div.user_info") is not None:
            return EmpireProfilePage(doc, url)
        if select_one(doc.tree, "div.listDes") is not None:
            return EmpireProductPage(doc, url)
        return EmpireListPage(doc, url)

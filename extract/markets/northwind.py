"""Northwind Market (fictional sample): table rows of listings, detail tables, vendor profiles."""
from __future__ import annotations

import re

from extract.markets.base import Market, MarketPage, select, select_one, text
from extract.measures import parse_prices
from extract.model import RawListing


def _row_listing(page: MarketPage, row, category: str | None) -> RawListing | None:
    title_link = select_one(row, ".l-title a")
    if title_link is None:
        return None
    ships_to = text(row, ".l-ship .to")
    return RawListing(
        title=text(title_link),
        url=page.link(title_link),
        vendor=text(row, ".l-vendor a"),
        prices=parse_prices(text(row, ".l-price") or ""),
        ships_from=text(row, ".l-ship .from"),
        ships_to=ships_to,
        category=category,
    )


class NorthwindCategoryPage(MarketPage):
    page_type = "category"

    def listings(self) -> list[RawListing]:
        category = text(self.root, "h1.category-name")
        rows = (_row_listing(self, row, category) for row in select(self.root, ".listing-row"))
        return [row for row in rows if row]


class NorthwindListingPage(MarketPage):
    page_type = "listing"

    def _field(self, label: str):
        for row in select(self.root, "table.listing-info tr"):
            if text(row, "th") == label:
                return select_one(row, "td")
        return None

    def listings(self) -> list[RawListing]:
        detail = select_one(self.root, ".listing-detail")
        return [
            RawListing(
                title=text(detail, "h1.listing-title"),
                url=self.url,
                vendor=text(self._field("Vendor"), "a"),
                prices=parse_prices(text(self._field("Price")) or ""),
                ships_from=text(self._field("Ships from")),
                ships_to=text(self._field("Ships to")),
                category=text(self._field("Category")),
            )
        ]


class NorthwindVendorPage(MarketPage):
    page_type = "vendor"

    def listings(self) -> list[RawListing]:
        rows = (_row_listing(self, row, None) for row in select(self.root, ".vendor-profile .listing-row"))
        return [row for row in rows if row]

    def vendor(self) -> dict:
        stats = text(self.root, ".vendor-stats") or ""
        rating = re.search(r"Rating:\s*([\d.]+)", stats)
        sales = re.search(r"Sales:\s*([\d,]+)", stats)
        return {
            "name": text(self.root, "h1.vendor-name"),
            "rating": float(rating.group(1)) if rating else None,
            "sales": int(sales.group(1).replace(",", "")) if sales else None,
        }


class NorthwindHomePage(MarketPage):
    page_type = "other"


class Northwind(Market):
    name = "northwind"

    @classmethod
    def recognises(cls, doc) -> bool:
        return doc.title.endswith("| Northwind Market") and select_one(doc.tree, "#topbar a.brand") is not None

    @classmethod
    def page_for(cls, doc, url):
        if select_one(doc.tree, ".vendor-profile") is not None:
            return NorthwindVendorPage(doc, url)
        if select_one(doc.tree, ".listing-detail") is not None:
            return NorthwindListingPage(doc, url)
        if select_one(doc.tree, ".listing-table") is not None:
            return NorthwindCategoryPage(doc, url)
        return NorthwindHomePage(doc, url)

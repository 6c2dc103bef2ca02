"""Cryptonia Market (2019): product grids, product details with labelled fields, user profiles."""
from __future__ import annotations

from extract.markets.base import Market, MarketPage, labelled_value, select, select_one, text
from extract.measures import parse_prices
from extract.model import RawListing


def split_route(route: str | None) -> tuple[str | None, str | None]:
    """"United Kingdom → Worldwide" -> ("United Kingdom", "Worldwide")."""
    if not route:
        return None, None
    origin, _, destination = route.partition("→")
    return origin.strip() or None, destination.strip() or None


class CryptoniaProductsPage(MarketPage):
    page_type = "category"

    def listings(self) -> list[RawListing]:
        found = []
        for row in select(self.root, "tr"):
            title_link = select_one(row, "td.product a.growlink")
            if title_link is None:
                continue
            origin, destination = split_route(text(row, "td.product div > span:not(.verified)"))
            prices = " ".join(filter(None, (text(span) for span in select(row, "td.price span.listprice, td.price span.listprice_alt"))))
            found.append(RawListing(
                title=text(title_link),
                url=self.link(title_link),
                vendor=text(row, "td.vendor a[href^='/user/']"),
                prices=parse_prices(prices),
                ships_from=origin,
                ships_to=destination,
            ))
        return found


class CryptoniaProductPage(MarketPage):
    page_type = "listing"

    def listings(self) -> list[RawListing]:
        details = select_one(self.root, ".mainarea_inner")
        origin, destination = split_route(labelled_value(details, "Ships from"))
        return [RawListing(
            title=text(details, "h2"),
            url=self.url,
            vendor=text(details, ".product_data a[href^='/user/']"),
            prices=parse_prices(labelled_value(details, "Price") or ""),
            ships_from=origin,
            ships_to=destination,
            category=labelled_value(details, "Category"),
        )]


class CryptoniaProfilePage(MarketPage):
    page_type = "vendor"

    def vendor(self) -> dict:
        name = self.doc.title.removeprefix("Cryptonia Market - ").removesuffix(" Profile").strip()
        return {"name": name or None}


class Cryptonia(Market):
    name = "cryptonia"

    @classmethod
    def recognises(cls, doc) -> bool:
        return doc.title.startswith("Cryptonia Market")

    @classmethod
    def page_for(cls, doc, url):
        if doc.title.endswith(" Profile"):
            return CryptoniaProfilePage(doc, url)
        if doc.title.endswith("Product Details"):
            return CryptoniaProductPage(doc, url)
        return CryptoniaProductsPage(doc, url)

"""Dream Market (2018-2019): shopItem cards (search, vendor pages), viewProduct detail pages."""
from __future__ import annotations

from extract.markets.base import Market, MarketPage, labelled_value, select, select_one, text
from extract.markets.cryptonia import split_route
from extract.measures import parse_prices
from extract.model import RawListing


def _shop_items(page: MarketPage, vendor: str | None) -> list[RawListing]:
    found = []
    for item in select(page.root, "div.shopItem"):
        title_link = select_one(item, ".oTitle a")
        if title_link is None:
            continue
        origin, destination = split_route(text(item, ".oShips"))
        found.append(RawListing(
            title=text(title_link),
            url=page.link(title_link),
            vendor=vendor or text(item, ".oVendor a[href*='contactMember?member=']"),
            prices=parse_prices(text(item, ".oPrice") or ""),
            ships_from=origin,
            ships_to=destination,
        ))
    return found


class DreamSearchPage(MarketPage):
    page_type = "category"

    def listings(self) -> list[RawListing]:
        return _shop_items(self, vendor=None)


class DreamVendorPage(MarketPage):
    """"Contact NAME": a vendor's page; its items are that vendor's own."""

    page_type = "vendor"

    @property
    def name(self) -> str | None:
        return self.doc.title.removeprefix("Contact ").strip() or None

    def listings(self) -> list[RawListing]:
        return _shop_items(self, vendor=self.name)

    def vendor(self) -> dict:
        return {"name": self.name}


class DreamProductPage(MarketPage):
    page_type = "listing"

    def listings(self) -> list[RawListing]:
        product = select_one(self.root, "div.viewProduct")
        details = select_one(product, ".tabularDetails")
        vendor_row = next((row for row in select(details, "div") if text(row, "label") == "Vendor"), None)
        return [RawListing(
            title=text(product, "div.title"),
            url=self.url,
            vendor=text(vendor_row, "a[href*='contactMember?member=']") if vendor_row is not None else None,
            prices=parse_prices(labelled_value(details, "Price") or ""),
            ships_from=labelled_value(details, "Ships from"),
            ships_to=labelled_value(details, "Ships to"),
        )]


class DreamOtherPage(MarketPage):
    page_type = "other"


class Dream(Market):
    name = "dream"

    @classmethod
    def recognises(cls, doc) -> bool:
        return select_one(doc.tree, ".bakrlop") is not None and select_one(doc.tree, ".headNavitems") is not None

    @classmethod
    def page_for(cls, doc, url):
        if select_one(doc.tree, "div.viewProduct") is not None:
            return DreamProductPage(doc, url)
        if doc.title.startswith("Contact "):
            return DreamVendorPage(doc, url)
        if select_one(doc.tree, "div.shopItem") is not None:
            return DreamSearchPage(doc, url)
        return DreamOtherPage(doc, url)

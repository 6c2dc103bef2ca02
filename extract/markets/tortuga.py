"""Tortuga Bazaar (fictional sample): a card grid with pagination, and product pages."""
from __future__ import annotations

import re

from extract.markets.base import Market, MarketPage, select, select_one, text
from extract.measures import parse_prices
from extract.model import RawListing

_SHIPS_FROM = re.compile(r"Ships from:\s*(.+)", re.IGNORECASE)


class TortugaCategoryPage(MarketPage):
    page_type = "category"

    def listings(self) -> list[RawListing]:
        found = []
        for card in select(self.root, ".product-card"):
            name_link = select_one(card, ".product-name a")
            if name_link is None:
                continue
            origin = _SHIPS_FROM.match(text(card, ".origin") or "")
            found.append(
                RawListing(
                    title=text(name_link),
                    url=self.link(name_link),
                    vendor=text(card, ".seller a"),
                    prices=parse_prices(text(card, ".cost") or ""),
                    ships_from=origin.group(1) if origin else None,
                )
            )
        return found


class TortugaSellerPage(TortugaCategoryPage):
    page_type = "vendor"

    def vendor(self) -> dict:
        feedback = re.search(r"(\d+)% positive", text(self.root, ".seller-meta") or "")
        return {
            "name": text(self.root, ".seller-name"),
            "positive_feedback_pct": float(feedback.group(1)) if feedback else None,
        }


class TortugaListingPage(MarketPage):
    page_type = "listing"

    def listings(self) -> list[RawListing]:
        product = select_one(self.root, "article.product")
        shipping = {}
        for term in select(product, "dl.shipping dt"):
            definition = term.getnext()
            shipping[text(term)] = text(definition) if definition is not None else None
        ships_to = shipping.get("Ships to")
        return [
            RawListing(
                title=text(product, ".product-name"),
                url=self.url,
                vendor=text(product, ".seller a"),
                prices=parse_prices(text(product, ".buybox") or ""),
                ships_from=shipping.get("Ships from"),
                ships_to=ships_to.split("|") if ships_to else None,
            )
        ]


class Tortuga(Market):
    name = "tortuga"

    @classmethod
    def recognises(cls, doc) -> bool:
        return doc.title.startswith("Tortuga Bazaar") and select_one(doc.tree, "body.tortuga") is not None

    @classmethod
    def page_for(cls, doc, url):
        if select_one(doc.tree, "article.product") is not None:
            return TortugaListingPage(doc, url)
        if select_one(doc.tree, ".seller-profile") is not None:
            return TortugaSellerPage(doc, url)
        return TortugaCategoryPage(doc, url)

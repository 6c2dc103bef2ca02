"""Cypher Market (2020, Eckmar's marketplace script): bootstrap product cards in category pages."""
from __future__ import annotations

import re

from extract.markets.base import Market, MarketPage, select, select_one, text
from extract.measures import parse_prices
from extract.model import RawListing

# "From: 10 $ - Opiates -": the listing's category between the dashes.
_CATEGORY = re.compile(r"-\s*([^-]+?)\s*-\s*$")


class CypherCategoryPage(MarketPage):
    page_type = "category"

    def listings(self) -> list[RawListing]:
        found = []
        for card in select(self.root, "div.card"):
            title = select_one(card, "h4.card-title")
            if title is None:
                continue
            subtitle = text(card, "p.card-subtitle") or ""
            category = _CATEGORY.search(subtitle)
            found.append(RawListing(
                title=text(title),
                url=self.link(title.getparent() if title.getparent().tag == "a" else None),
                vendor=text(card, "a[href*='/vendor/']"),
                prices=parse_prices(text(card, "p.card-subtitle strong") or ""),
                category=category.group(1) if category else None,
            ))
        return found


class Cypher(Market):
    name = "cypher"

    @classmethod
    def recognises(cls, doc) -> bool:
        return doc.title.startswith("Cypher - ")

    @classmethod
    def page_for(cls, doc, url):
        return CypherCategoryPage(doc, url)

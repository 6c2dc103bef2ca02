"""Hydra (2021-2022), the Russian-language dead-drop market: catalogue cards per city, with
"more from this shop" sliders under each card."""
from __future__ import annotations

from extract.markets.base import Market, MarketPage, select, select_one, text
from extract.measures import parse_prices
from extract.model import RawListing


def _price_and_amount(shown: str | None) -> tuple[list, str | None]:
    """"от <amount> руб / <weight>" -> the price, and the amount it buys."""
    price, _, amount = (shown or "").partition("/")
    return parse_prices(price), amount.strip() or None


class HydraCatalogPage(MarketPage):
    page_type = "category"

    def listings(self) -> list[RawListing]:
        found = []
        for card in select(self.root, "div.catalog_item"):
            title_link = select_one(card, ".title a")
            if title_link is None:
                continue
            shop = text(card, ".market a")
            place = select_one(card, "li.over")
            places = [p.strip() for p in ((place.get("title") or text(place) or "") if place is not None else "").split(",")]
            prices, amount = _price_and_amount(text(card, ".foot .price span"))
            found.append(RawListing(
                title=text(title_link), url=self.link(title_link), vendor=shop, prices=prices,
                quantity_text=amount, city=places[0] if len(places) == 1 and places[0] else None,
            ))
            for slide in select(card, ".slide"):
                link = select_one(slide, "a[href]")
                prices, amount = _price_and_amount(text(slide, ".slide_price span"))
                found.append(RawListing(
                    title=text(slide, ".slide_title"), url=self.link(link), vendor=shop, prices=prices,
                    quantity_text=amount,
                ))
        return found


class Hydra(Market):
    name = "hydra"

    @classmethod
    def recognises(cls, doc) -> bool:
        return select_one(doc.tree, "div.catalog_item .market a[href^='/market/']") is not None

    @classmethod
    def page_for(cls, doc, url):
        return HydraCatalogPage(doc, url)

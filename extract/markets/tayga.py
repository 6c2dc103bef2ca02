"""Тайга (fictional sample): a Russian-language dead-drop shop with city showcases and product cards."""
from __future__ import annotations

from extract.markets.base import Market, MarketPage, select, select_one, text
from extract.measures import parse_prices
from extract.model import RawListing


def _after_colon(value: str | None) -> str | None:
    """"Район: Бостандыкский" -> "Бостандыкский"."""
    if not value:
        return None
    return value.split(":", 1)[-1].strip() or None


def _shop_name(page: MarketPage) -> str | None:
    return text(page.root, ".shop-logo a")


class TaygaCityPage(MarketPage):
    page_type = "category"

    def listings(self) -> list[RawListing]:
        shop = _shop_name(self)
        found = []
        for card in select(self.root, ".tovar"):
            name_link = select_one(card, "a.tovar-name")
            if name_link is None:
                continue
            found.append(
                RawListing(
                    title=text(name_link),
                    url=self.link(name_link),
                    vendor=shop,
                    prices=parse_prices(text(card, ".tovar-cena") or ""),
                    quantity_text=_after_colon(text(card, ".tovar-ves")),
                    city=_after_colon(text(card, ".tovar-gorod")),
                    district=_after_colon(text(card, ".tovar-rayon")),
                    dead_drop=_after_colon(text(card, ".tovar-klad")),
                )
            )
        return found


class TaygaProductPage(MarketPage):
    page_type = "listing"

    def listings(self) -> list[RawListing]:
        card = select_one(self.root, ".kartochka")
        return [
            RawListing(
                title=text(card, "h1.tovar-name"),
                url=self.url,
                vendor=_shop_name(self),
                prices=parse_prices(text(card, ".cena") or ""),
                quantity_text=text(card, ".ves"),
                city=text(card, ".gorod"),
                district=text(card, ".rayon"),
                dead_drop=text(card, ".klad"),
            )
        ]


class TaygaHomePage(MarketPage):
    page_type = "other"


class Tayga(Market):
    name = "tayga"

    @classmethod
    def recognises(cls, doc) -> bool:
        return doc.title.endswith("— Тайга") and select_one(doc.tree, ".shop-header .kurs") is not None

    @classmethod
    def page_for(cls, doc, url):
        if select_one(doc.tree, ".kartochka") is not None:
            return TaygaProductPage(doc, url)
        if select_one(doc.tree, ".vitrina") is not None:
            return TaygaCityPage(doc, url)
        return TaygaHomePage(doc, url)

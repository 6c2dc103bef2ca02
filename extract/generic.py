"""The generic extractor: listings from a market it has never seen.

Item lists are found as repeated siblings (same tag and class) that each hold
a price and a link; a single item page as a heading plus labelled fields
(table rows, definition lists, "Label: value" lines). Field rules depend on
words and shapes that markets share, not on any one market's markup.
"""
from __future__ import annotations

import re
from collections import defaultdict

from lxml.html import HtmlElement

from extract.document import visible_text
from extract.markets.base import MarketPage, text
from extract.measures import parse_prices
from extract.model import RawListing
from extract.places import country_code

_PRICE_HINT = re.compile(r"[$€£₽₸฿]|\b(?:USD|EUR|GBP|BTC|XMR|LTC|RUB|KZT|руб|тенге)\b", re.IGNORECASE)
_VENDOR_HREF = re.compile(r"vendor|seller|user|profile|shop|store|member|/u/", re.IGNORECASE)
_LABELS = {
    "vendor": re.compile(r"^(?:vendor|seller|sold by|shop|магазин|продавец)\b", re.IGNORECASE),
    "price": re.compile(r"^(?:price|цена|стоимость)\b", re.IGNORECASE),
    "ships_from": re.compile(r"^(?:ships? from|shipping from|origin|country|from)\b", re.IGNORECASE),
    "ships_to": re.compile(r"^(?:ships? to|shipping to|destination|delivers? to)\b", re.IGNORECASE),
    "quantity": re.compile(r"^(?:weight|amount|quantity|вес|фасовка|количество)\b", re.IGNORECASE),
    "city": re.compile(r"^(?:city|город|населенный пункт)\b", re.IGNORECASE),
    "district": re.compile(r"^(?:district|район)\b", re.IGNORECASE),
    "dead_drop": re.compile(r"^(?:drop type|тип клада|клад|тип)\b", re.IGNORECASE),
}
_INLINE_LABEL = re.compile(
    r"(?P<label>ships? from|ships? to|origin|vendor|seller|sold by|город|район|вес|тип клада)\s*:\s*"
    r"(?P<value>[^:|\n]+?)(?=\s+(?:ships? from|ships? to|origin|vendor|seller|sold by|город|район|вес|тип клада)\s*:|$)",
    re.IGNORECASE,
)
_VENDOR_CUES = re.compile(r"member since|feedback|vendor profile|seller profile|pgp|trust level", re.IGNORECASE)
_SKIP_TAGS = {"script", "style", "noscript", "head", "title"}
# An item card is small: page wrappers that happen to repeat are not items.
_CARD_MAX_TEXT = 1500
_CARD_MAX_LINKS = 15


def _signature(node: HtmlElement) -> tuple:
    return node.tag, " ".join(sorted((node.get("class") or "").split()))


def _is_card(node: HtmlElement) -> bool:
    content = visible_text(node)
    if len(content) > _CARD_MAX_TEXT or not _PRICE_HINT.search(content):
        return False
    links = node.findall(".//a[@href]")
    return 0 < len(links) <= _CARD_MAX_LINKS and bool(parse_prices(content))


def find_item_cards(root: HtmlElement) -> list[HtmlElement]:
    """The largest group of same-signature siblings that each hold a price and a link."""
    best: list[HtmlElement] = []
    for parent in root.iter():
        if not isinstance(parent.tag, str) or parent.tag in _SKIP_TAGS:
            continue
        children = [child for child in parent if isinstance(child.tag, str)]
        if len(children) < 2:
            continue
        groups: dict[tuple, list[HtmlElement]] = defaultdict(list)
        for child in children:
            groups[_signature(child)].append(child)
        for members in groups.values():
            if len(members) < 2 or len(members) < len(best):
                continue
            cards = [m for m in members if _is_card(m)]
            cards = _alike(cards) if len(cards) >= 2 else cards
            # Prefer the deeper (smaller) group on ties: iter() visits parents first.
            if len(cards) >= 2 and len(cards) >= len(best):
                best = cards
    return best


def _shape(node: HtmlElement) -> set[tuple]:
    return {_signature(child) for child in node.iter() if isinstance(child.tag, str)}


def _alike(cards: list[HtmlElement]) -> list[HtmlElement]:
    """Keep the cards built like the first one: real item cards share their inner markup."""
    first = _shape(cards[0])
    alike = []
    for card in cards:
        shape = _shape(card)
        if len(first & shape) / len(first | shape) >= 0.5:
            alike.append(card)
    return alike


def _item_link(card: HtmlElement) -> HtmlElement | None:
    """The link that names the item: longest text among links that do not point at a vendor."""
    candidates = [
        a for a in card.iterfind(".//a[@href]")
        if visible_text(a) and not _VENDOR_HREF.search(a.get("href", ""))
    ]
    return max(candidates, key=lambda a: len(visible_text(a)), default=None)


def _vendor_of(card: HtmlElement) -> str | None:
    for link in card.iterfind(".//a[@href]"):
        if _VENDOR_HREF.search(link.get("href", "")) and visible_text(link):
            return visible_text(link)
    match = re.search(r"(?:sold by|vendor|seller|by)\s*:?\s*([\w.\-]{3,40})", visible_text(card), re.IGNORECASE)
    return match.group(1) if match else None


def _inline_fields(text_value: str) -> dict[str, str]:
    fields = {}
    for match in _INLINE_LABEL.finditer(text_value):
        label = match.group("label").lower()
        for key, pattern in _LABELS.items():
            if pattern.match(label):
                fields.setdefault(key, match.group("value").strip())
                break
    return fields


def _labelled_fields(root: HtmlElement) -> dict[str, str]:
    """Label -> value pairs from table rows, definition lists, and "Label: value" text."""
    pairs: list[tuple[str, str]] = []
    for row in root.iter("tr"):
        cells = [visible_text(cell) for cell in row if cell.tag in ("th", "td")]
        if len(cells) >= 2:
            pairs.append((cells[0], cells[1]))
    for term in root.iter("dt"):
        definition = term.getnext()
        if definition is not None and definition.tag == "dd":
            pairs.append((visible_text(term), visible_text(definition)))
    fields: dict[str, str] = {}
    for label, value in pairs:
        label = label.rstrip(":").strip()
        for key, pattern in _LABELS.items():
            if pattern.match(label) and value:
                fields.setdefault(key, value)
                break
    for key, value in _inline_fields(visible_text(root)).items():
        fields.setdefault(key, value)
    return fields


def _country_or_none(value: str | None) -> str | None:
    return value if value and country_code(value) else None


def _from_fields(title: str, url: str | None, vendor: str | None, prices: list, fields: dict[str, str]) -> RawListing:
    return RawListing(
        title=title,
        url=url,
        vendor=vendor,
        prices=prices,
        ships_from=_country_or_none(fields.get("ships_from")),
        ships_to=fields.get("ships_to"),
        city=fields.get("city"),
        district=fields.get("district"),
        dead_drop=fields.get("dead_drop"),
        quantity_text=fields.get("quantity"),
    )


class GenericPage(MarketPage):
    """Reads any market page with layout-independent rules."""

    def __init__(self, doc, url=None):
        super().__init__(doc, url)
        self.cards = find_item_cards(self.root)
        self.heading = text(self.root, "h1") or text(self.root, "h2")
        self.page_type = self._classify()

    def _classify(self) -> str:
        if len(self.cards) >= 2:
            return "vendor" if self._looks_like_vendor() else "category"
        if self.heading and parse_prices(self.doc.text):
            return "listing"
        if self._looks_like_vendor():
            return "vendor"
        return "other"

    def _looks_like_vendor(self) -> bool:
        head = (self.heading or "") + " " + self.doc.title
        return bool(re.search(r"vendor|seller|profile|продавец", head, re.IGNORECASE)) and bool(
            _VENDOR_CUES.search(self.doc.text)
        )

    def listings(self) -> list[RawListing]:
        if self.cards:
            return [listing for listing in map(self._card_listing, self.cards) if listing]
        if self.page_type == "listing":
            return [self._detail_listing()]
        return []

    def _card_listing(self, card: HtmlElement) -> RawListing | None:
        link = _item_link(card)
        heading = next((visible_text(h) for h in card.iter("h1", "h2", "h3", "h4", "h5")), None)
        title = heading or (visible_text(link) if link is not None else None)
        if not title:
            return None
        text_value = visible_text(card)
        return _from_fields(title, self.link(link), _vendor_of(card), parse_prices(text_value), _inline_fields(text_value))

    def _detail_listing(self) -> RawListing:
        fields = _labelled_fields(self.root)
        vendor = fields.get("vendor", "").split("(")[0].strip() or None
        prices = parse_prices(fields.get("price") or self.doc.text)
        return _from_fields(self.heading, self.url, vendor, prices, fields)

    def vendor(self) -> dict | None:
        if self.page_type != "vendor":
            return None
        return {"name": self.heading}


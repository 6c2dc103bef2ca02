"""The generic extractor: listings from a market it has never seen.

Markets differ in markup but not in what they show. An item list is a set of
look-alike boxes (same tag and class, wherever they sit in the grid), each with
a link to the item and a price. An item page has one title (it also stands in
the page's <title>, or leads the content), one price (labelled, or first in
the content), and a purchase control. A profile names a user and shows member
statistics. Site chrome (menus, sidebars, headers, footers) and form options
(shipping choices) are never read as items. Every rule here is about those
shared shapes and words, none about a particular market.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from difflib import SequenceMatcher
from functools import cached_property

from lxml.html import HtmlElement

from extract.document import clean_text, visible_text
from extract.markets.base import MarketPage, labelled_value
from extract.measures import parse_prices
from extract.nlp import places_in
from extract.model import RawListing
from extract.places import country_code

_CHROME = re.compile(r"\b(?:nav|navbar|menu|sidebar|header|footer|topbar|breadcrumbs?|dropdown|side-?nav)\b", re.I)
_CHROME_TAGS = {"nav", "header", "footer", "script", "style", "noscript", "select", "option", "head", "title"}
_VENDOR_HREF = re.compile(
    r"vendor|seller|member|user|profile|/u/|/shop/|/store/|/market/\d|u_id=|contactMember", re.I
)
_NOT_ITEM_HREF = re.compile(
    r"[?&](?:page|sort|order|cat|cid|category)=|/category/|/categories/|javascript:|^#|\.(?:png|jpe?g|gif|css)$|"
    r"login|logout|register|message|feedback|rating|cart|wishlist|favou?rite|report",
    re.I,
)
_ACTION_WORDS = re.compile(
    r"^(?:buy|buy now|purchase|order|order now|view|details|more|add to cart|add|contact|message|купить|заказать|"
    r"подробнее|\d+)$",
    re.I,
)
_PURCHASE = re.compile(r"\b(?:buy|purchase|add to cart|order|checkout|pay with)\b|купить|в корзину|заказать", re.I)
_NOT_PRICE_CONTEXT = re.compile(r"bulk|discount|save\s+\d|escrow|balance|wallet|deposit|shipping|postage|доставка", re.I)
_FEEDBACK_ROW = re.compile(
    r"\b\w[*]{2,}\w\b|\b\w\.\.\.\w\b|\b\w(?: \.){3} \w\b|\b\d+\s*(?:minutes?|hours?|days?|weeks?|months?)\s+ago\b|\bview items?\b|no comment",
    re.I,
)
_PROFILE_WORDS = re.compile(
    r"member since|joined|join date|last (?:seen|login|online|active)|feedback|ratings|trust level|vendor level|"
    r"seller level|positive|disputes|pgp|public key|contact vendor|report vendor|зарегистрирован|отзывы",
    re.I,
)
_PROFILE_TITLE = re.compile(r"profile|vendor|seller|user|member|contact|магазин|продавец|профиль", re.I)
_BUYER = re.compile(r"user type\s*:?\s*buyer|account type\s*:?\s*buyer", re.I)
_LIST_TITLE = re.compile(r"categor|search|result|products|catalog|browse|shop|каталог|поиск|товары", re.I)
_ARROW_ROUTE = re.compile(r"([A-Za-z][A-Za-z .]{1,40}?)\s*(?:→|->|⇒|»|➜|➔|to)\s*([A-Za-z][A-Za-z ,.()]{1,80})")
_INLINE = re.compile(
    r"(?P<label>ships? from|shipping from|origin(?: country)?|ships? to|shipping to|destination|"
    r"vendor|seller|sold by|город|район|вес|тип клада)\s*:\s*(?P<value>[^:|\n]+?)"
    r"(?=\s+(?:ships? from|shipping from|origin|ships? to|shipping to|destination|vendor|seller|sold by|"
    r"город|район|вес|тип клада)\s*:|$)",
    re.I,
)
_INLINE_KEYS = (
    ("ships_from", re.compile(r"ships? from|shipping from|origin", re.I)),
    ("ships_to", re.compile(r"ships? to|shipping to|destination|deliver(?:s|y)? to", re.I)),
    ("vendor", re.compile(r"vendor|seller|sold by", re.I)),
    ("city", re.compile(r"город", re.I)),
    ("district", re.compile(r"район", re.I)),
    ("quantity", re.compile(r"вес", re.I)),
    ("dead_drop", re.compile(r"тип клада", re.I)),
)
_LABELS = {
    "price": ("Price", "Sale Price", "Purchase price", "Buy Price", "Цена", "Стоимость"),
    "vendor": ("Vendor", "Seller", "Sold by", "Shop", "Продавец", "Магазин"),
    "ships_from": ("Ships from", "Ship from", "Shipping from", "Origin Country", "Origin", "Country of origin"),
    "ships_to": ("Ships to", "Ship to", "Shipping to", "Destination", "Destinations", "Delivers to", "Delivery to",
                 "Доставка в", "Доставка"),
    "city": ("City", "Город"),
    "district": ("District", "Район"),
    "dead_drop": ("Тип клада", "Drop type", "Клад"),
    "quantity": ("Weight", "Вес", "Фасовка", "Amount"),
}
_CARD_MAX_TEXT = 2500
_CYRILLIC = re.compile(r"[а-яё]", re.I)
_INLINE_TAGS = frozenset({"a", "span", "b", "strong", "i", "em", "small", "img", "br", "p", "font", "sub", "sup", "label"})
_PRICE_HINT = re.compile(r"[$€£₽₸฿]|usd|eur|gbp|btc|xmr|ltc|rub|kzt|руб|тенге|тг", re.I)


def _is_chrome(node: HtmlElement) -> bool:
    if node.tag in _CHROME_TAGS or node.get("role") == "navigation":
        return True
    marks = f"{node.get('class') or ''} {node.get('id') or ''}"
    return bool(marks.strip()) and bool(_CHROME.search(marks))


def content_elements(root: HtmlElement):
    """Every element outside site chrome, in document order."""
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node.tag, str) or _is_chrome(node):
            continue
        yield node
        stack.extend(reversed(node))


def content_text(node: HtmlElement, skip=_NOT_PRICE_CONTEXT) -> str:
    """Visible text outside chrome and form options, leaving out boxes about bulk tiers,
    balances or shipping (their amounts are not the item's price)."""
    parts: list[str] = []

    def walk(element):
        if not isinstance(element.tag, str):
            return
        if _is_chrome(element) or element.tag in ("button", "textarea"):
            parts.append(element.tail or "")
            return
        own = element.text or ""
        if skip is not None and skip.search(own):
            parts.append(element.tail or "")
            return
        parts.append(own)
        for child in element:
            walk(child)
        parts.append(element.tail or "")

    walk(node)
    return clean_text(" ".join(parts))


_SIGNATURES: dict[str, str] = {}


def _signature(node: HtmlElement) -> tuple:
    """Tag and classes, without class tokens that carry numbers (per-item ids like shopItem_576552)."""
    classes = node.get("class") or ""
    key = _SIGNATURES.get(classes)
    if key is None:
        key = " ".join(sorted(token for token in classes.split() if not any(c.isdigit() for c in token)))
        if len(_SIGNATURES) < 100_000:
            _SIGNATURES[classes] = key
    return node.tag, key


def _vendor_link(node: HtmlElement) -> HtmlElement | None:
    for link in node.iterfind(".//a[@href]"):
        if _VENDOR_HREF.search(link.get("href", "")) and clean_text(visible_text(link)):
            return link
    return None


def _vendor_name(text: str | None) -> str | None:
    """"DrParagon (100%)" and "kim0ra (1383)" -> the name alone."""
    if not text:
        return None
    name = re.sub(r"\s*[\(\[][^)\]]*[\)\]]\s*", " ", text).strip(" -|:")
    return name.split("  ")[0].strip() or None


def _item_link(card: HtmlElement) -> HtmlElement | None:
    """The link naming the item: the first link with a name that is not a vendor, category or action link."""
    for link in card.iterfind(".//a[@href]"):
        if link.find(".//a[@href]") is not None:
            continue  # an <a> wrapped round others (broken markup): the inner ones name things
        href = link.get("href", "")
        label = visible_text(link)
        if not label or _VENDOR_HREF.search(href) or _NOT_ITEM_HREF.search(href) or _ACTION_WORDS.match(label):
            continue
        if len(re.sub(r"[\d\W_]", "", label)) >= 3:
            return link
    return None


def _item_key(card: HtmlElement) -> tuple:
    link = _item_link(card)
    return (visible_text(link).casefold(), link.get("href")) if link is not None else (id(card),)


def _shape(node: HtmlElement) -> set[tuple]:
    return {_signature(child) for child in node.iter() if isinstance(child.tag, str)}


def _alike(cards: list[HtmlElement]) -> list[HtmlElement]:
    """The cards built like most of the others: real item boxes share their inner markup,
    while a page's big layout rows (details, description) do not."""
    shapes = [frozenset(_shape(card)) for card in cards]
    # Cards share few distinct shapes: compare those, weighted by how many cards have each
    # (the same result as comparing every pair, without its n² cost on pages of thousands of items).
    counts = Counter(shapes)
    matches = {shape: sum(n for other, n in counts.items() if len(shape & other) / len(shape | other) >= 0.5)
               for shape in counts}
    return [card for card, shape in zip(cards, shapes) if matches[shape] * 2 > len(cards)]


def _distinct(cards: list[HtmlElement]) -> list[HtmlElement]:
    """One card per item: some markets repeat each item in a hidden order pop-up."""
    seen, unique = set(), []
    for card in cards:
        key = _item_key(card)
        if key not in seen:
            seen.add(key)
            unique.append(card)
    return unique


def _card_title(card: HtmlElement, link: HtmlElement | None) -> str | None:
    for node in card.iter("h1", "h2", "h3", "h4", "h5"):
        heading = visible_text(node)
        if heading and not _ACTION_WORDS.match(heading) and len(re.sub(r"[\d\W_]", "", heading)) >= 3:
            return heading
    return visible_text(link) if link is not None else None


def _is_candidate_card(node: HtmlElement) -> bool:
    text_value = node.text_content()
    if len(text_value) > 2 * _CARD_MAX_TEXT or len(clean_text(text_value)) > _CARD_MAX_TEXT:
        return False
    return bool(parse_prices(text_value)) and _item_link(node) is not None


def find_item_cards(root: HtmlElement) -> list[HtmlElement]:
    """The largest set of look-alike boxes, anywhere in the content, that each hold an item link and a price.

    Boxes are grouped by their own and their parent's tag and classes, so a grid
    split into rows still forms one set. Among nested sets of the same size the
    outermost wins (it holds the whole item: vendor and price cells too). Sets
    that read like feedback (masked buyer names, "3 days ago") are past
    purchases, not offers.
    """
    groups: dict[tuple, list[HtmlElement]] = defaultdict(list)
    for node in content_elements(root):
        parent = node.getparent()
        if parent is None or node.tag in _INLINE_TAGS:
            continue
        groups[(_signature(node), _signature(parent))].append(node)
    best: list[HtmlElement] = []
    best_depth = 0
    for members in sorted(groups.values(), key=len, reverse=True):
        if len(members) < max(2, len(best)):
            break  # sorted by size: no later group can beat the best
        # Cheap checks first: most groups (menus, table cells) fail them.
        likely = [m for m in members if m.find(".//a[@href]") is not None and _PRICE_HINT.search(m.text_content())]
        if len(likely) < max(2, len(best)):
            continue
        cards = _distinct(_alike([m for m in likely if _is_candidate_card(m)]))
        if len(cards) < max(2, len(best)):
            continue
        if sum(bool(_FEEDBACK_ROW.search(visible_text(c))) for c in cards) * 2 >= len(cards):
            continue
        depth = len(list(cards[0].iterancestors()))
        if len(cards) > len(best) or depth < best_depth:
            best, best_depth = cards, depth
    return best


def _route(text_value: str) -> tuple[str | None, str | None]:
    """"United Kingdom → Worldwide" -> both ends, when the first is a known place."""
    match = _ARROW_ROUTE.search(text_value)
    if match and country_code(match.group(1)):
        return match.group(1).strip(), match.group(2).strip()
    return None, None


def _inline_fields(text_value: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for match in _INLINE.finditer(text_value):
        for key, pattern in _INLINE_KEYS:
            if pattern.match(match.group("label")):
                fields.setdefault(key, match.group("value").strip())
                break
    return fields


def _labelled(root: HtmlElement, key: str) -> str | None:
    for label in _LABELS[key]:
        value = labelled_value(root, label)
        if value:
            return value
    return None


def _country_or_none(value: str | None) -> str | None:
    return value if value and country_code(value) else None


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a.casefold(), b.casefold(), autojunk=False).ratio()


class GenericPage(MarketPage):
    """Reads any market page with layout-independent rules."""

    def __init__(self, doc, url=None):
        super().__init__(doc, url)
        self.cards = find_item_cards(self.root)
        self.profile = self._looks_like_profile()
        self.page_type = self._classify()

    # -- what kind of page -------------------------------------------------

    def _looks_like_profile(self) -> bool:
        """A user's page: named so in the title or a heading, with member statistics outside
        the item boxes (item boxes carry their vendor's statistics too), and nothing to buy."""
        # The elements themselves, not id(): a set keeps them alive, so lxml hands back the same
        # proxies on later walks, where ids of collected proxies could be reused.
        in_cards = {node for card in self.cards for node in card.iter()}
        headings = [visible_text(h) for h in self.root.iter("h1", "h2", "h3") if h not in in_cards]
        named = bool(_PROFILE_TITLE.search(self.doc.title) or any(_PROFILE_TITLE.search(h) for h in headings))
        if not named or (not self.cards and self._has_purchase_control()):
            return False
        outside = " ".join(
            clean_text(node.text) for node in self._content if node not in in_cards and node.text
        )
        return len(_PROFILE_WORDS.findall(outside)) >= 2

    def _has_purchase_control(self) -> bool:
        for node in self._content:
            if node.tag in ("button", "input") or (node.tag == "a" and "btn" in (node.get("class") or "")):
                label = visible_text(node) if node.tag != "input" else (node.get("value") or "")
                if _PURCHASE.search(label):
                    return True
        return False

    def _classify(self) -> str:
        if self.cards:
            return "vendor" if self.profile else "category"
        if self.profile:
            return "other" if _BUYER.search(self.doc.text) else "vendor"
        offered = self._has_purchase_control() or _labelled(self.root, "price") is not None
        if self.single_title and offered and self._detail_prices():
            return "listing"
        if _LIST_TITLE.search(self.doc.title) or self.root.find(".//*[@rel='next']") is not None:
            return "category"
        return "other"

    # -- an item page --------------------------------------------------------

    @cached_property
    def _content(self) -> list[HtmlElement]:
        """The page outside chrome, walked once and read by every rule below."""
        return list(content_elements(self.root))

    @cached_property
    def single_title(self) -> str | None:
        """The item's name: the content text that best matches the page's <title>, else the
        first heading in the content that is not the site's own name."""
        page_title = self.doc.title
        best, best_score = None, 0.0
        headings = []
        for node in self._content:
            if node.tag in ("h1", "h2", "h3", "h4", "a", "div", "span", "td", "b", "strong", "p"):
                own = clean_text(node.text)
                if node.tag in ("h1", "h2", "h3", "h4"):
                    own = visible_text(node)
                    if own and not node.findall(".//a[@href='/']"):
                        headings.append(own)
                if len(own) < 6 or len(own) > 250:
                    continue
                if page_title and own.casefold() in page_title.casefold():
                    score = len(own) / max(len(page_title), 1) + 0.5
                elif page_title:
                    score = _similarity(own, page_title) if len(own) > 0.5 * len(page_title) else 0
                else:
                    score = 0
                if score > best_score:
                    best, best_score = own, score
        if best and best_score >= 0.6:
            return best
        return headings[0] if headings else None

    def _detail_prices(self) -> list:
        labelled = _labelled(self.root, "price")
        prices = parse_prices(labelled) if labelled else []
        if prices:
            return prices
        title = self.single_title or ""
        return parse_prices(content_text(self.root).replace(title, " "))

    def _detail_listing(self) -> RawListing:
        text_value = content_text(self.root)
        inline = _inline_fields(text_value)
        vendor_value = _labelled(self.root, "vendor")
        linked = [visible_text(node) for node in self._content
                  if node.tag == "a" and _VENDOR_HREF.search(node.get("href", "")) and visible_text(node)]
        if vendor_value:
            vendor = next((name for name in linked if name in vendor_value), None) or _vendor_name(vendor_value)
        else:
            vendor = _vendor_name(linked[0]) if linked else None
        ships_from = _labelled(self.root, "ships_from") or inline.get("ships_from")
        ships_to = _labelled(self.root, "ships_to") or inline.get("ships_to")
        if ships_from and not country_code(ships_from):
            route_from, route_to = _route(ships_from)
            ships_from, ships_to = route_from, ships_to or route_to
        return RawListing(
            title=self.single_title,
            url=self.url,
            vendor=vendor or _vendor_name(inline.get("vendor")),
            prices=self._detail_prices(),
            ships_from=_country_or_none(ships_from),
            ships_to=ships_to,
            city=_labelled(self.root, "city") or _city_named(text_value.replace(self.single_title or "", " ")),
            district=_labelled(self.root, "district"),
            dead_drop=_labelled(self.root, "dead_drop"),
            quantity_text=_labelled(self.root, "quantity"),
        )

    # -- lists of items --------------------------------------------------------

    def _card_listing(self, card: HtmlElement) -> RawListing | None:
        link = _item_link(card)
        title = _card_title(card, link)
        if not title:
            return None
        text_value = content_text(card)
        prices = parse_prices(text_value.replace(title, " ")) or parse_prices(text_value)
        inline = _inline_fields(text_value)
        route_from, route_to = _route(text_value)
        vendor_link = _vendor_link(card)
        vendor = _vendor_name(visible_text(vendor_link)) if vendor_link is not None else _vendor_name(inline.get("vendor"))
        if vendor is None and self.profile:
            vendor = self._profile_name()
        return RawListing(
            title=title,
            url=self.link(link),
            vendor=vendor,
            prices=prices,
            ships_from=_country_or_none(inline.get("ships_from")) or _country_or_none(route_from),
            ships_to=inline.get("ships_to") or route_to,
            city=inline.get("city") or _city_named(text_value.replace(title, " ")),
            district=inline.get("district"),
            dead_drop=inline.get("dead_drop"),
            quantity_text=inline.get("quantity"),
        )

    def listings(self) -> list[RawListing]:
        if self.cards:
            return [listing for listing in map(self._card_listing, self.cards) if listing]
        if self.page_type == "listing":
            return [self._detail_listing()]
        return []

    # -- profiles -------------------------------------------------------------

    def _profile_name(self) -> str | None:
        title = self.doc.title
        for pattern in (r"^Contact\s+(\S+)", r"^(\S+?)'s Profile", r"^(\S+)\s+-\s+User Profile", r"-\s*(\S+)\s+Profile$"):
            match = re.search(pattern, title, re.I)
            if match:
                return match.group(1)
        for node in self.root.iter("h1", "h2", "h3"):
            heading = visible_text(node)
            if heading and not _is_chrome(node):
                return _vendor_name(re.sub(r"'s profile$", "", heading, flags=re.I))
        return None

    def vendor(self) -> dict | None:
        if self.page_type != "vendor":
            return None
        return {"name": self._profile_name()}


def _city_named(text_value: str) -> str | None:
    """The one city a Russian-language card or page names (from the gazetteer), if just one."""
    if not _CYRILLIC.search(text_value):
        return None
    return places_in(text_value[:_CARD_MAX_TEXT])[1]

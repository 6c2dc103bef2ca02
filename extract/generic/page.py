"""The generic page object: records by structure, fields by the learned model, page type by shape."""
from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher
from functools import cached_property, lru_cache

from lxml.html import HtmlElement
from rapidfuzz.distance import Indel

from extract.document import clean_text, visible_text
from extract.generic.cues import (
    ACTION, BUYER, HREF_ITEM, HREF_OTHER, HREF_VENDOR, LIST_TITLE, OWN_ACCOUNT, PROFILE_TITLE, PROFILE_WORDS, PURCHASE,
    RELATED_ITEMS,
)
from extract.generic.fields import (
    Segment, _ROUTE, href_names_text, href_shape, record_features, record_segments, segment_prices, text_features,
    vendor_name,
)
from extract.generic.model import active_model
from extract.generic.pagetype import empty_list, page_features, purchase_controls
from extract.generic.records import MAX_RECORD_TEXT, Record, content_elements, find_records, record_text, twin_set
from extract.markets.base import MarketPage
from extract.measures import has_price, parse_prices
from extract.model import RawListing
from extract.nlp import places_in
from extract.places import country_code

_HEADINGS = ("h1", "h2", "h3", "h4")
_TITLE_TAGS = frozenset(("h1", "h2", "h3", "h4", "a", "div", "span", "td", "b", "strong", "p", "li"))
_CYRILLIC = re.compile(r"[а-яё]", re.I)
_LETTERS3 = re.compile(r"[^\W\d_].*[^\W\d_].*[^\W\d_]", re.S)
# A place's name: one to three capitalised words, no digits ("Талдыкорган", "Нижний Новгород").
_PLACE_NAME = re.compile(r"^[A-ZА-ЯЁ][^\W\d_]+(?:[ -][A-ZА-ЯЁа-яёa-z][^\W\d_]*){0,2}(?: \([^()\d]{2,40}\))?$")
_TITLE_SPLIT = re.compile(r"\s+[|\-–—:»·]\s+")
# Words a site names its own pages with ("Vendor", "Shop", "Search"): never a user's name.
_HREF_WORDS = HREF_VENDOR | HREF_ITEM | HREF_OTHER
_SITE_WORDS = re.compile("|".join(p.pattern for p in (PROFILE_TITLE, LIST_TITLE, ACTION)), re.I)
# How sure the model must be before a field is filled (a wrong value costs more than none).
THRESHOLD = 0.35
PAGE_MODEL_SURE = 0.9
# So many buy buttons on a page without item records means many items on offer, not one.
MANY_OFFERS = 8


class _Likeness:
    """Texts' likeness to one fixed text (the page's title). The matcher indexes that text once;
    each candidate only replaces the other side (difflib keeps its index of the second sequence)."""

    def __init__(self, target: str):
        self.target = target.casefold()
        self.matcher = SequenceMatcher(None, autojunk=False)
        self.matcher.set_seq2(self.target)

    def __call__(self, text: str, above: float = -1.0) -> float:
        """The likeness; 0 when it cannot beat ``above`` (an upper bound says so).

        difflib's matching blocks are a common subsequence, so the longest one's share (rapidfuzz's
        Indel similarity, computed in C) bounds the ratio from above; the margin covers rounding."""
        folded = text.casefold()
        if above >= 0 and Indel.normalized_similarity(folded, self.target) <= above - 1e-9:
            return 0.0
        matcher = self.matcher
        matcher.set_seq1(folded)
        if matcher.real_quick_ratio() <= above or matcher.quick_ratio() <= above:
            return 0.0
        return matcher.ratio()


def _places_only(segment: Segment) -> bool:
    """A country, or a route between places ("DEU WW", "US -> EU"): where an item ships, not its name."""
    if "country" in segment.features:
        return True
    route = _ROUTE.match(segment.text) if "route" in segment.features else None
    return bool(route and country_code(re.split(r"[,;/|]", route.group("b"))[0]))


@lru_cache(maxsize=20_000)
def _may_name(text: str) -> bool:
    """A segment's text can name an item: three letters, not a bare price, not only places.
    The features read are those of ``text_features``, which every segment's features hold."""
    words = text_features(text)
    if "price_only" in words or not _LETTERS3.search(text):
        return False
    return not _places_only(Segment(text, "", "", features=list(words)))


def _city_slot(decoded: list) -> None:
    """Cards of one shop show the city in one slot. Where most records' city came from a slot of
    one build (tag and classes), a record whose city is unknown reads it from that slot: a town
    the lexicon does not know is still a town when its neighbours' slots hold cities."""
    slots = Counter()
    for segments, listing in decoded:
        if listing.city:
            slot = next(((s.tag, s.marks) for s in segments if s.text == listing.city), None)
            if slot:
                slots[slot] += 1
    if not slots:
        return
    slot, found = slots.most_common(1)[0]
    if found < 2 or found * 2 < len(decoded):
        return
    for segments, listing in decoded:
        if listing.city is None:
            listing.city = next((s.text for s in segments if (s.tag, s.marks) == slot and _PLACE_NAME.match(s.text)), None)


def _holds(block: HtmlElement, tops: list) -> bool:
    ancestors = set(tops[0].iterancestors()) if tops else set()
    return block in ancestors


class GenericPage(MarketPage):
    """Reads any market page with layout-independent structure and a model trained on many markets."""

    title_score_bucket = "none"

    def __init__(self, doc, url=None):
        super().__init__(doc, url)
        self._content = list(content_elements(self.root))
        self._texts: dict = {}  # node -> its folded text, shared by the record search and the item block
        self._search: dict = {}  # the record search's memo and candidate sets, read again for a twin set
        self.records: list[Record] = find_records(self.root, self._content, self._texts, self._search)
        self.profile = self._looks_like_profile()
        self.page_type = self._classify()

    @cached_property
    def features(self) -> list[str]:
        return page_features(self)

    # -- what kind of page -------------------------------------------------

    @cached_property
    def _in_records(self) -> set:
        return {node for record in self.records for top in record for node in top.iter()}

    def _looks_like_profile(self) -> bool:
        """A user's page: named so in the title or a heading, with member statistics outside
        the item records (records carry their vendor's statistics too)."""
        named = bool(PROFILE_TITLE.search(self.doc.title) or any(PROFILE_TITLE.search(h) for h in self._headings))
        if self._has_purchase_control() and (not self.records or not named):
            return False
        return len(PROFILE_WORDS.findall(self._outside)) >= (2 if named else 3)

    @cached_property
    def _headings(self) -> list[str]:
        """The texts of the h1-h3 headings outside the item records."""
        in_records = self._in_records
        return [visible_text(h) for h in self.root.iter("h1", "h2", "h3") if h not in in_records]

    @cached_property
    def _outside(self) -> str:
        """The own texts of the content elements outside the item records (member statistics live there)."""
        return self._outside_scan[0]

    @cached_property
    def _outside_scan(self) -> tuple[str, list[str], int]:
        """One pass over the content: the outside text, the short own texts outside the records
        (where a page's lone labels stand) and the number of links."""
        in_records = self._in_records
        pieces, loose, links = [], [], 0
        for node in self._content:
            if node.tag == "a":
                links += 1
            text = node.text
            if text and node not in in_records:
                pieces.append(" ".join(text.split()))
                if len(text) < 30:
                    loose.append(text)
        return " ".join(pieces), loose, links

    @cached_property
    def has_next(self) -> bool:
        """A link to a next page (rel="next"): a list that goes on."""
        return self.root.find(".//*[@rel='next']") is not None

    @cached_property
    def _purchase(self) -> bool:
        """A control to buy: a button, submit input or button-styled link named so (a cart form included)."""
        for node in self.root.iter("button", "input", "a"):
            if node.tag == "a" and not ("btn" in (node.get("class") or "") or "button" in (node.get("class") or "")):
                continue
            label = visible_text(node) if node.tag != "input" else (node.get("value") or "")
            if PURCHASE.search(label) and not any(a.tag in ("nav", "header", "footer") for a in node.iterancestors()):
                return True
        return False

    def _has_purchase_control(self) -> bool:
        return self._purchase

    def _classify(self) -> str:
        """The page model where it is sure, else the shape rules (which are also among its features).
        Leave-one-market-out, the model alone was right on 84 % of pages, the rules on 86 %,
        the two together on 89 % (bench/lomo.py)."""
        model = active_model()
        kind = None
        if model is not None and model.page is not None:
            probs = model.page.probabilities([self.features])[0]
            if probs.max() >= PAGE_MODEL_SURE:
                kind = model.page.labels[int(probs.argmax())]
        return self._list_evidence(kind or self._classify_by_rules())

    def _list_evidence(self, kind: str) -> str:
        """Evidence the model cannot weigh from few pages. An item page names its related items;
        a list whose records were not found still shows itself: one buy button per item, or the
        page saying the list came out empty."""
        if kind == "category" and self._lone_item_beside_records() and RELATED_ITEMS.search(self.doc.text):
            return "listing"  # one item, and the items it names as related
        if kind == "category" or self.records or self.profile:
            return kind
        if purchase_controls(self) >= MANY_OFFERS:
            return "category"
        if empty_list(self) and not self._has_purchase_control():
            return "category"
        return kind

    def _classify_by_rules(self) -> str:
        """Without a model: the shapes alone."""
        if self.records and self._lone_item_beside_records():
            return "listing"  # an item page with related items, options or reviews beside it
        if self.records and self.profile:
            return "vendor"
        if self.records:
            return "category"
        if self.profile:
            return "other" if BUYER.search(self.doc.text) or self._own_account() else "vendor"
        if self.single_title and self.detail_block is not None:
            return "listing"
        if LIST_TITLE.search(self.doc.title) or self.has_next:
            return "category"
        return "other"

    def _own_account(self) -> bool:
        """A content heading names the visitor's own pages ("Account dashboard", "Личный кабинет"):
        member statistics there are the visitor's, not a vendor's."""
        return any(OWN_ACCOUNT.search(visible_text(h)) for h in self.root.iter("h1", "h2", "h3", "h4")
                   if h in self._content_set and h not in self._in_records)

    # -- one item page -----------------------------------------------------

    def _lone_item_beside_records(self) -> bool:
        """The page's title names an item whose own priced block stands apart from the records."""
        node, block = self._title_node, self.detail_block
        if node is None or block is None or self.title_score_bucket == "none" or node in self._in_records:
            return False
        if block in self._in_records:
            return False
        tops = [top for record in self.records for top in record]
        return not _holds(block, tops) and self._has_purchase_control()

    @cached_property
    def single_title(self) -> str | None:
        """The item's name: the content text that best matches the page's <title>, else the
        first heading in the content."""
        page_title = self.doc.title
        title_cf = page_title.casefold()
        best, best_score = None, 0.0
        headings = []
        likeness = _Likeness(page_title)
        # A text met again cannot beat the best so far: its score was the best then, or lost to it.
        seen = set()
        for node in self._content:
            tag = node.tag
            if tag in _TITLE_TAGS:
                if tag in _HEADINGS:
                    own = visible_text(node)
                    if own and not node.findall(".//a[@href='/']"):
                        headings.append(own)
                else:
                    own = node.text
                    if not own:
                        continue
                    own = " ".join(own.split())
                if len(own) < 4 or len(own) > 250 or own in seen:
                    continue
                seen.add(own)
                if page_title and own.casefold() in title_cf:
                    score = len(own) / max(len(page_title), 1) + 0.5
                elif page_title:
                    # Only a score above the best so far counts: hopeless ones are not worked out.
                    score = likeness(own, best_score) if len(own) > 0.5 * len(page_title) else 0
                else:
                    score = 0
                if score > best_score:
                    best, best_score = own, score
        self.title_score_bucket = "contained" if best_score >= 1 else "close" if best_score >= 0.6 else "none"
        if best and best_score >= 0.6:
            return best
        return headings[0] if headings else None

    @cached_property
    def _title_node(self) -> HtmlElement | None:
        title = self.single_title
        if not title:
            return None
        for node in self._content:
            if node.tag in _HEADINGS and visible_text(node) == title:
                return node
        for node in self._content:
            if clean_text(node.text) == title:
                return node
        return None

    @cached_property
    def detail_block(self) -> HtmlElement | None:
        """The lone product block: the smallest box round the item's title that also shows a price.
        A page with a purchase control or a price label may hold it wider (title and price apart)."""
        node = self._title_node
        if node is None:
            return None
        title = self.single_title or ""
        offered = previous = None
        while node is not None:
            text = record_text((node,), self._texts)
            if len(text) > 12 * MAX_RECORD_TEXT:
                break
            # A wrapper showing just the text of the box inside it holds no price that box lacked.
            if text != previous and has_price(text.replace(title, " ", 1)):
                if len(clean_text(text)) <= 4 * MAX_RECORD_TEXT:
                    return node
                if offered is None:
                    offered = self._has_purchase_control() or bool(re.search(r"price|цена|стоимость", text, re.I))
                return node if offered else None
            previous = text
            node = node.getparent()
        return None

    # -- fields ------------------------------------------------------------

    def segment_groups(self, detail: bool | None = None) -> tuple[list[list[Segment]], bool]:
        """The segments of every record (or of the lone product block), with their features."""
        if detail is None:
            detail = not self.records
        if detail:
            block = self.detail_block
            groups = [record_segments((block,), limit=600)] if block is not None else []
        else:
            groups = [record_segments(record) for record in self.records]
        record_features(groups, self.doc.title, detail)
        return groups, detail

    def _decode(self, segments: list[Segment], probs, model, record: Record | None) -> RawListing | None:
        col = model.column
        by_label = probs.T.tolist()  # plain floats per label: no numpy scalar per comparison
        title_p = by_label[col("title")]
        usable = [i for i, s in enumerate(segments) if not s.is_label and s.column != "other"]
        titled = [i for i in usable if _may_name(segments[i].text)]
        titled = [i for i in titled if segments[i].column == "title"] or titled  # the column headed so
        # A button word or a text every record repeats names no item.
        named = [i for i in titled if "action" not in (f := segments[i].features) and "rep=all" not in f
                 and "L|action" not in f]
        titled = named or titled
        titled = [i for i in titled if segments[i].kind != "hover"] or titled  # hover texts are captions
        if record is not None:  # an item's name links to the item's own page, not to its shop's
            titled = [i for i in titled if segments[i].kind == "link" and title_p[i] >= 0.5
                      and href_shape(segments[i].href) in ("item", "vendor_item")] or titled
        if record is None and self.single_title:
            title = self.single_title
            titled_best = max(titled, key=title_p.__getitem__, default=None)
            if titled_best is not None and title_p[titled_best] > 0.9:
                title = segments[titled_best].text
        else:
            if not titled:
                return None
            title = segments[max(titled, key=title_p.__getitem__)].text

        labelled = [i for i in usable if segments[i].label is not None]  # the pieces a label stands before

        def best(label: str, pool=usable):
            """The likeliest segment for ``label``; failing that, one the page labels so in words."""
            if not pool:
                return None
            p = by_label[col(label)]
            i = max(pool, key=p.__getitem__)
            if p[i] >= THRESHOLD:
                return i
            return next((j for j in (labelled if pool is usable else pool)
                         if segments[j].label == label and title_p[j] < 0.5), None)

        # An amount in the item's name ("card with $500 balance") is not what it costs.
        priced = [i for i in usable if "price" in text_features(segments[i].text) and segments[i].text != title]
        prices = []
        price_p = by_label[col("price")]
        top = max(priced, key=price_p.__getitem__, default=None)
        for i in priced:  # in reading order: the price shown first leads
            if price_p[i] >= 0.1 or i == top:
                for money in segment_prices(segments[i].text):
                    if money not in prices:
                        prices.append(money)
        if not prices:
            text = " ".join([s.text for s in segments if s.text != title])
            prices = parse_prices(text) or list(segment_prices(title))
        vendor_i = best("vendor")
        if vendor_i is None:
            vendor_i = self._user_link(segments, usable, title)
        vendor = vendor_name(segments[vendor_i].text) if vendor_i is not None else None
        if vendor is None and (self.profile or self.page_type == "vendor"):
            vendor = self._page_user_name
        ships_from = ships_to = None
        from_i = best("ships_from")
        if from_i is not None:
            ships_from = segments[from_i].text
            route = _ROUTE.match(ships_from)
            if route:
                ships_from, ships_to = route.group("a"), route.group("b")
        to_p = by_label[col("ships_to")]
        to_i = [i for i in usable if to_p[i] >= THRESHOLD and i != from_i]
        to = [segments[i].text for i in to_i]
        if to:
            ships_to = [part for text in to for part in re.split(r"[,;/|]", _ROUTE.match(text).group("b")
                                                                   if _ROUTE.match(text) else text)]
            if ships_from is None:  # where it ships to is named; the one other country is where from
                others = {segments[i].text for i in usable if i not in to_i and segments[i].text not in to
                          and "country_iso" in segments[i].features and segments[i].kind != "hover"
                          and segments[i].label in (None, "ships_from")}
                if len(others) == 1:
                    ships_from = others.pop()
        fields = {name: segments[i].text if (i := best(name)) is not None else None
                  for name in ("city", "district", "drop", "quantity")}
        city = fields["city"]
        if city is None:
            text = " ".join([s.text for s in segments if s.text != title])
            if _CYRILLIC.search(text):
                city = places_in(text[:MAX_RECORD_TEXT])[1]
        return RawListing(
            title=title,
            url=self._record_url(segments, title, record),
            vendor=vendor,
            prices=prices,
            ships_from=ships_from,
            ships_to=ships_to,
            city=city,
            district=fields["district"],
            dead_drop=fields["drop"],
            quantity_text=fields["quantity"],
        )

    @cached_property
    def _page_user_name(self) -> str | None:
        """``_profile_name``, worked out once: every record without a vendor of a user's page asks for it."""
        return self._profile_name()

    @staticmethod
    def _user_link(segments: list[Segment], usable: list[int], title: str) -> int | None:
        """Failing the model, a link to a user's own page: its target carries its text as a path
        part or parameter value ("/u/name", "?seller=name", "/@name/")."""
        for i in usable:
            segment = segments[i]
            if (segment.href and segment.kind in ("link", "linked") and segment.text != title
                    and href_shape(segment.href) not in ("other", "item")
                    and href_names_text(segment.href, segment.text)):
                return i
        return None

    def _record_url(self, segments, title, record) -> str | None:
        if record is None:
            return self.url
        links = [s for s in segments if s.kind == "link" and s.href]
        for segment in links:
            if segment.text == title:
                return self.link_href(segment.href)
        for segment in links:
            if href_shape(segment.href) in ("item", "vendor_item", "plain"):
                return self.link_href(segment.href)
        return None

    def link_href(self, href: str) -> str | None:
        from urllib.parse import urljoin

        return urljoin(self.url, href) if self.url else href

    def listings(self) -> list[RawListing]:
        if self.page_type not in ("listing", "category", "vendor"):
            return []
        model = active_model()
        groups, detail = self.segment_groups(detail=self.page_type == "listing")
        if model is None or not groups:
            return []
        out, decoded = [], []
        records = [None] if detail else self.records
        for segments, listing in zip(groups, self._decode_all(groups, records, model)):
            if listing is not None:
                out.append(listing)
                decoded.append((segments, listing))
        _city_slot(decoded)
        if not detail and len(out) == len(self.records):
            self._fill_from_twin(out, model)
        return out

    # Fields a second showing of the same items may hold where the first is silent.
    _TWIN_FIELDS = ("vendor", "ships_from", "ships_to", "city", "district", "dead_drop", "quantity_text")

    def _fill_from_twin(self, out: list[RawListing], model) -> None:
        """The same items shown twice (a table of rows and hidden quick-view boxes): fields the
        records read leave empty are taken from the other showing, when one holds every item's
        title in the same order."""
        twin = twin_set(self.root, self.records, [listing.title for listing in out], self._content, self._texts,
                        self._in_records, self._search)
        if twin is None:
            return
        groups = [record_segments(record) for record in twin]
        record_features(groups, self.doc.title, False)
        for listing, other in zip(out, self._decode_all(groups, twin, model)):
            if other is not None:
                for name in self._TWIN_FIELDS:
                    if not getattr(listing, name) and getattr(other, name):
                        setattr(listing, name, getattr(other, name))

    def _decode_all(self, groups: list[list[Segment]], records: list, model) -> list[RawListing | None]:
        """Each record's listing (None where it names no item), from one scoring of all their segments."""
        probs = model.probabilities([s.features for segments in groups for s in segments])
        decoded, start = [], 0
        for segments, record in zip(groups, records):
            decoded.append(self._decode(segments, probs[start:start + len(segments)], model, record))
            start += len(segments)
        return decoded

    # -- profiles ----------------------------------------------------------

    def _profile_name(self) -> str | None:
        in_records = self._in_records
        for node in self.root.iter("h1", "h2", "h3"):
            if node in in_records or node not in self._content_set:
                continue
            heading = re.sub(r"(?i)'s\s+profile|\bprofile\s+of\b", " ", visible_text(node))
            heading = PROFILE_TITLE.sub(" ", heading) if len(heading.split()) > 1 else heading
            name = vendor_name(heading)
            if name and len(name.split()) <= 3:
                return name
        for piece in _TITLE_SPLIT.split(self.doc.title):
            cleaned = vendor_name(PROFILE_TITLE.sub(" ", re.sub(r"(?i)'s\s+profile", " ", piece)))
            if cleaned and len(cleaned.split()) == 1:
                return cleaned
        return self._linked_title_word()

    def _linked_title_word(self) -> str | None:
        """A word of the page's title that the page's own links carry as a path part or parameter
        ("Contact name" with "?member=name"): the user the page is about."""
        words = [w for w in re.split(r"[\s|:·•,]+", self.doc.title)
                 if len(w) >= 3 and not _SITE_WORDS.search(w) and w.casefold() not in _HREF_WORDS]
        if not words:
            return None
        hrefs = [node.get("href") for node in self._content if node.tag == "a" and node.get("href")]
        for word in words:
            if any(href_names_text(href, word) for href in hrefs):
                return vendor_name(word)
        return None

    @cached_property
    def _content_set(self) -> set:
        return set(self._content)

    def vendor(self) -> dict | None:
        if self.page_type != "vendor":
            return None
        return {"name": self._profile_name()}

"""Page type by shape: features of the whole page that a second small model weighs.

The hand rules of old (records found, a profile's member statistics, a lone
product block round the title, list words in the title) are features here, not
the decision; gates (captcha, login, error) are decided before, in extract.gates.
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice

from extract.document import clean_text, visible_text
from extract.generic.cues import BUYER, EMPTY_LIST, LABEL_ALONE, LIST_TITLE, PROFILE_TITLE, PROFILE_WORDS, PURCHASE
from extract.generic.records import record_text
from extract.measures import scan_prices

PAGE_TYPES = ("listing", "category", "vendor", "other")


def _b(value: float, edges: tuple) -> int:
    for i, edge in enumerate(edges):
        if value <= edge:
            return i
    return len(edges)


def page_features(page) -> list[str]:
    """``page`` is a GenericPage; its records and title are already found."""
    records = page.records
    in_records = page._in_records
    f = []
    n = len(records)
    rec = _b(n, (0, 4, 10, 30))
    f.append(f"rec={rec}")
    texts = [" ".join(record_text(r, page._texts).split()) for r in records]
    if records:
        words = sum(len(t.split()) for t in texts) / n
        f.append(f"rec_words={_b(words, (4, 8, 16, 40))}")
        linked = sum(any(node.tag == "a" and node.get("href") for top in r for node in top.iter()) for r in records) / n
        f.append(f"rec_links={_b(linked, (0.0, 0.5, 0.99))}")
        headed = sum(any(node.tag in ("h2", "h3", "h4", "h5") for top in r for node in top.iter()) for r in records) / n
        f.append(f"rec_headed={_b(headed, (0.0, 0.5))}")
    title = page.single_title
    f.append(f"title={'yes' if title else 'no'}")
    node = page._title_node
    if node is not None:
        f.append("title_in_records" if node in in_records else "title_outside")
        f.append(f"title_tag={node.tag if node.tag in ('h1', 'h2', 'h3', 'h4') else 'other'}")
    f.append(f"title_match={page.title_score_bucket}")
    block = page.detail_block
    if block is None:
        f.append("block=none")
    else:
        size = len(clean_text(block.text_content()))
        f.append(f"block={_b(size, (300, 1500, 5000))}")
        if block in in_records:
            f.append("block_in_record")
        elif records and block in set(records[0][0].iterancestors()):
            f.append("block_holds_records")
    purchase = page._has_purchase_control()
    f.append(f"purchase={int(purchase)}")
    outside = page._outside
    f.append(f"profile_words={_b(len(PROFILE_WORDS.findall(outside)), (0, 1, 3, 6))}")
    headings = page._headings
    f.append(f"profile_title={int(bool(PROFILE_TITLE.search(page.doc.title)))}")
    f.append(f"profile_heading={int(any(PROFILE_TITLE.search(h) for h in headings[:6]))}")
    f.append(f"buyer={int(bool(BUYER.search(outside)))}")
    f.append(f"list_title={int(bool(LIST_TITLE.search(page.doc.title)))}")
    f.append(f"next={int(page.has_next)}")
    _, loose, links = page._outside_scan
    kinds = [_loose_label(text) for text in loose]
    f.append(f"price_label={_b(sum(price for price, _ in kinds), (0, 1, 3))}")
    f.append(f"ship_label={_b(sum(ship for _, ship in kinds), (0, 1, 3))}")
    # The count is bucketed up to "more than 10": the prices after the eleventh are not read.
    prices = sum(1 for _ in islice(scan_prices(" ".join(outside.split()[:3000])), 11))
    f.append(f"prices_outside={_b(prices, (0, 1, 3, 10))}")
    f.append(f"links={_b(links, (10, 40, 100, 300))}")
    f.append(f"selects={_b(sum(1 for _ in page.root.iter('select')), (0, 1, 3))}")
    f.append(f"textareas={int(next(page.root.iter('textarea'), None) is not None)}")
    f.append(f"text={_b(len(page.doc.text), (500, 2000, 8000, 30000))}")
    f.append(f"profile={int(page.profile)}")
    f.append(f"rule={page._classify_by_rules()}")
    f.append(f"rec={rec}&profile={int(page.profile)}")
    f.append(f"rec={rec}&block={'none' if block is None else 'yes'}")
    f.append(f"rec={rec}&purchase={int(purchase)}")
    f.append(f"empty_list={int(empty_list(page))}")
    return f


@lru_cache(maxsize=20_000)
def _loose_label(text: str) -> tuple[bool, bool]:
    """Whether a short text alone is a price label, and whether it is a shipping label (pages repeat them)."""
    return (bool(LABEL_ALONE["price"].match(text)),
            bool(LABEL_ALONE["ships_from"].match(text) or LABEL_ALONE["ships_to"].match(text)))


def empty_list(page) -> bool:
    """The page says its list came out empty ("No products found in this category", "ничего не найдено")."""
    text = page.doc.text  # whitespace already folded: single spaces, so its words are its spaces + 1
    if text.count(" ") >= 5000:
        text = " ".join(text.split()[:5000])
    # "No products in the cart" is a visitor's empty cart, not an empty list.
    return any(not _CART.match(text, m.end()) for m in EMPTY_LIST.finditer(text))


_CART = re.compile(r"[^.!?]{0,20}(?:cart|basket|корзин)", re.I)


def purchase_controls(page) -> int:
    """Buttons, submit inputs and links whose short label asks to buy."""
    n = 0
    for node in page.root.iter("button", "input", "a"):
        label = visible_text(node) if node.tag != "input" else (node.get("value") or "")
        if len(label) < 30 and PURCHASE.search(label):
            n += 1
    return n

"""Page objects: one class per market and kind of page holds all field extraction for it.

A market module defines a ``Market`` subclass that recognises its pages from
the page itself (saved pages often come without a URL) and picks the page
object for each one; the page objects read fields. Spiders never do.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import ClassVar
from urllib.parse import urljoin

from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from extract.document import Document, clean_text, visible_text
from extract.model import RawListing
from extract.rates import page_rates


@lru_cache(maxsize=1024)
def css(selector: str) -> CSSSelector:
    """Compiled CSS selectors, cached: translating CSS to XPath costs more than running it."""
    return CSSSelector(selector, translator="html")


def select(node: HtmlElement, selector: str) -> list[HtmlElement]:
    return css(selector)(node)


def select_one(node: HtmlElement, selector: str) -> HtmlElement | None:
    found = css(selector)(node)
    return found[0] if found else None


def text(node: HtmlElement | None, selector: str | None = None) -> str | None:
    """Collapsed text of ``node`` (or of its first match for ``selector``); None when absent or blank."""
    if node is not None and selector is not None:
        node = select_one(node, selector)
    if node is None:
        return None
    return visible_text(node) or None


def _is_label(node: HtmlElement) -> bool:
    return node.tag in ("label", "th", "dt") or visible_text(node).endswith(":")


def labelled_value(root: HtmlElement, label: str) -> str | None:
    """The text shown right after a label ("Ships from:", "<th>Price</th>"), wherever the market put it.

    The label is an element whose own text is the label (colon optional). The
    value is what follows it: inside that element when it holds more, else,
    climbing out of wrappers that hold nothing but the label, in a table the
    next cell, elsewhere its tail text and the following siblings, up to a line
    break or the next label.
    """
    pattern = re.compile(rf"\s*{re.escape(label)}\s*:?\s*", re.IGNORECASE)
    for node in root.iter():
        if isinstance(node.tag, str) and node.text and pattern.fullmatch(node.text):
            value = _value_after(node)
            if value:
                return value
    return None


def _value_after(node: HtmlElement) -> str | None:
    own = visible_text(node)
    if clean_text(own) != clean_text(node.text):
        # "<p>Sold by <b><a>name</a></b> <span>...</span></p>": the value is inside the label's element.
        return clean_text(own[len(clean_text(node.text)):]).lstrip(":").strip() or None
    while node.getparent() is not None and visible_text(node.getparent()) == own:
        node = node.getparent()
    if node.tag in ("td", "th"):
        cell = node.getnext()
        return (visible_text(cell) or None) if cell is not None else None
    parts = [node.tail or ""]
    for sibling in node.itersiblings():
        if sibling.tag == "br" or _is_label(sibling):
            break
        parts.append(visible_text(sibling) + " " + (sibling.tail or ""))
    return clean_text(" ".join(parts)).lstrip(":").strip() or None


class MarketPage:
    """Base page object: subclasses set ``page_type`` and override what their page shows."""

    page_type: ClassVar[str] = "other"

    def __init__(self, doc: Document, url: str | None = None):
        self.doc = doc
        self.root = doc.tree
        self.url = url
        self._rates: dict[str, float] | None = None

    def link(self, node: HtmlElement | None) -> str | None:
        """The node's href, absolute when the page's own URL is known."""
        if node is None or not node.get("href"):
            return None
        href = node.get("href").strip()
        return urljoin(self.url, href) if self.url else href

    def listings(self) -> list[RawListing]:
        return []

    def vendor(self) -> dict | None:
        return None

    def rates(self) -> dict[str, float]:
        """USD per unit of the currencies whose rate the page prints (header tickers)."""
        return page_rates(self.doc.text)

    def page_rates(self) -> dict[str, float]:
        """``rates()``, read once and only when a price needs converting."""
        if self._rates is None:
            self._rates = self.rates()
        return self._rates


class Market:
    """A market known by its markup; ``page_for`` picks the page object for one of its pages."""

    name: ClassVar[str]

    @classmethod
    def recognises(cls, doc: Document) -> bool:
        raise NotImplementedError

    @classmethod
    def page_for(cls, doc: Document, url: str | None) -> MarketPage:
        raise NotImplementedError

"""Bytes of a saved page to a parsed lxml tree, with an honest account of what was wrong.

lxml parses on the hot path; BeautifulSoup's UnicodeDammit guesses the charset
of pages saved without one (or with a wrong one), and its parser rebuilds a
tree when lxml gives up on badly broken markup.
"""
from __future__ import annotations

import codecs
import re
import threading
from dataclasses import dataclass, field

import lxml.html
from bs4 import UnicodeDammit
from lxml import etree

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


# libxml2 stops at 255 levels of nesting unless told the tree may be huge; a market page nested
# deeper (page builders, or on purpose) would lose everything below that level without a word.
# Pages are capped at 10 MB before parsing, so the lifted limit costs no more than that.
_PARSERS = threading.local()


def _html_parser() -> lxml.html.HTMLParser:
    if not hasattr(_PARSERS, "parser"):
        parser = lxml.html.HTMLParser(huge_tree=True)
        # lxml.html picks each element's class in Python (form controls get their own classes,
        # which nothing here uses); the C-level default lookup gives every element HtmlElement
        # without a Python call per element touched.
        parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
            element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
            pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity))
        _PARSERS.parser = parser
    return _PARSERS.parser


class UnreadablePage(ValueError):
    """The bytes are not a page we can read (empty, binary, undecodable)."""


@dataclass
class Document:
    tree: lxml.html.HtmlElement
    encoding: str
    warnings: list[str] = field(default_factory=list)
    _text: str | None = None
    _title: str | None = None

    @property
    def text(self) -> str:
        """Visible text, whitespace collapsed; computed once."""
        if self._text is None:
            self._text = visible_text(self.tree)
        return self._text

    @property
    def title(self) -> str:
        """The page's <title>, whitespace collapsed; found once (the tree is not changed after parsing)."""
        if self._title is None:
            node = self.tree.find(".//title")
            self._title = clean_text(node.text_content()) if node is not None else ""
        return self._title


def clean_text(text: str | None) -> str:
    """Whitespace folded to single spaces, ends trimmed (``str.split`` knows the same whitespace
    as the regular expression ``\\s``, and is several times faster on a whole page)."""
    return " ".join(text.split()) if text else ""


def visible_text(node) -> str:
    """The node's text as a reader sees it: pieces from separate elements stay separate words.

    (Scripts, styles and comments are stripped from the tree at parse time.) An element without
    children is read from its own text, which is all ``itertext`` would give."""
    if not len(node) and isinstance(node.tag, str):
        text = node.text
        return " ".join(text.split()) if text else ""
    return clean_text(" ".join(node.itertext()))


def charset_of(content_type: str | None) -> str | None:
    """``text/html; charset=windows-1251`` -> ``windows-1251``."""
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def _declared_encoding(raw: bytes, header_encoding: str | None) -> str | None:
    candidate = header_encoding
    if not candidate:
        match = _META_CHARSET.search(raw[:4096])
        candidate = match.group(1).decode("ascii", "ignore") if match else None
    if not candidate:
        return None
    try:
        return codecs.lookup(candidate).name
    except LookupError:
        return None


def decode(raw: bytes, header_encoding: str | None = None) -> tuple[str, str, list[str]]:
    """Decode page bytes; returns text, the encoding used, and warnings about the charset."""
    warnings: list[str] = []
    if not raw or raw.isspace():  # what raw.strip() would empty, without copying the page
        raise UnreadablePage("empty page")
    head = raw[:8192]
    if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
        if b"\x00" in head or controls > len(head) * 0.05:
            raise UnreadablePage(f"binary content ({controls} control bytes in the first {len(head)}), not HTML")
    declared = _declared_encoding(raw, header_encoding)
    # Valid multi-byte UTF-8 is almost never an accident, and pages that declare
    # latin-1 while holding UTF-8 are common, so strict UTF-8 wins whenever it fits.
    try:
        text = raw.decode("utf-8")
        if declared and declared not in ("utf-8", "ascii") and not raw.isascii():
            warnings.append(f"page declares {declared} but its bytes are UTF-8; read as UTF-8")
        return text, "utf-8", warnings
    except UnicodeDecodeError:
        pass
    if declared and declared != "utf-8":
        try:
            return raw.decode(declared), declared, warnings
        except UnicodeDecodeError:
            pass
    dammit = UnicodeDammit(raw, is_html=True, exclude_encodings=["utf-8"])
    if dammit.unicode_markup is None:
        raise UnreadablePage("cannot decode the page in any known charset")
    guessed = codecs.lookup(dammit.original_encoding or "windows-1252").name
    if declared:
        warnings.append(f"page declares {declared} but its bytes are not; decoded as {guessed}")
    return dammit.unicode_markup, guessed, warnings


def parse(raw: bytes, header_encoding: str | None = None) -> Document:
    """Decode and parse ``raw``; raises UnreadablePage with a reason when it cannot."""
    text, encoding, warnings = decode(raw, header_encoding)
    if "</html" not in text[-4096:].lower():
        warnings.append("truncated: the page ends before </html>")
    text = text.replace("\x00", "")
    try:
        parser = _html_parser()
        tree = lxml.html.document_fromstring(text, parser=parser)
        if any("Excessive depth" in entry.message for entry in parser.error_log):
            warnings.append("markup nested deeper than the parser's limit (2048 levels): what lies deeper is lost")
    except (etree.ParserError, ValueError):
        tree = None
    if tree is None or tree.find("body") is None and not tree.text_content().strip():
        from lxml.html import soupparser

        try:
            tree = soupparser.fromstring(text)
        except Exception as exc:  # BeautifulSoup raises assorted errors on junk
            raise UnreadablePage(f"cannot parse the markup: {exc}") from None
        warnings.append("markup too broken for lxml; parsed with BeautifulSoup")
    # Nothing a reader sees lives in scripts, styles or comments; drop them once, here.
    etree.strip_elements(tree, "script", "style", "noscript", etree.Comment, with_tail=False)
    return Document(tree=tree, encoding=encoding, warnings=warnings)

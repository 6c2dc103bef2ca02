"""The pieces of text in a record, the features a model reads from them, and their labels from gold.

A segment is what a reader takes as one value: a link's or heading's whole text,
else an element's own text or its tail, plus hover texts (``title``
attributes). "Label: value" in one piece is split in two. Features carry
across sites: text shape, currency, label words before the value, link-target
shape, position in the record, tag, repetition over the page's records.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from extract.document import clean_text
from extract.generic.cues import (
    ACTION, DROP_WORDS, class_cues, column_kind, HREF_ITEM, HREF_OTHER, HREF_VENDOR, LABEL_ALONE, LABEL_INLINE,
)
from extract.generic.records import Record
from extract.measures import CRYPTO_CODES, parse_prices, parse_quantity
from extract.places import country_code

LABELS = ("none", "title", "price", "vendor", "ships_from", "ships_to", "quantity", "city", "district", "drop")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BOLD = frozenset({"b", "strong", "em"})
_INLINE = frozenset({"b", "strong", "em", "i", "u", "small", "font", "img", "br", "sup", "sub", "wbr", "abbr", "mark"})
# "Germany → Worldwide", "US -> EU", or two codes side by side whose arrow is an icon ("DEU WW").
_ROUTE = re.compile(r"^(?P<a>[^\W\d][\w .()'-]{1,40}?)\s*(?:→|->|=>|⇒|»|➜|➔|➝|⟶|⟹|►|▶|\bto\b"
                    r"|(?<=\b[A-Z]{2})\s(?=[A-Z]{2,3}$)|(?<=\b[A-Z]{3})\s(?=[A-Z]{2,3}$))\s*(?P<b>[^\W\d][\w ,.()'-]{1,80})$")
_DECORATION = re.compile(r"\(\s*[\d.,]+\s*%?\s*\)|\[\s*[\d.,]+\s*%?\s*\]|[★☆✪⭐]|\(\s*\d+\s*\)|\b\d+(?:\.\d+)?\s*%")
_CYRILLIC = re.compile(r"[а-яё]", re.I)
_SPLIT = re.compile(r"[\s/,;|]+")
_HREF_TOKENS = re.compile(r"[a-z]+")
_LETTERS = re.compile(r"[^\W\d_]")


@dataclass
class Segment:
    text: str
    tag: str
    parent_tag: str
    href: str | None = None
    kind: str = "text"  # text, link, heading, hover, button
    label: str | None = None  # label class shown right before (or in front of) the value
    is_label: str | None = None  # this piece is itself a label
    features: list[str] = field(default_factory=list)
    marks: str = ""  # class and id of the element and its parent
    column: str | None = None  # what the table's header calls this cell's column: a label class, "title" or "other"


_SKIPPED = frozenset(("script", "style", "select", "option", "textarea", "nav"))


def record_segments(record: Record, limit: int = 400) -> list[Segment]:
    """The record's text pieces in reading order."""
    out: list[Segment] = []
    columns = table_columns(record)
    last = record[-1]

    def add(text, node, kind, href=None):
        text = " ".join(text.split()) if text else ""  # clean_text, without the regular expression
        if text and len(out) < limit:
            parent = node.getparent()
            marks = f"{node.get('class') or ''} {node.get('id') or ''}"
            if parent is not None:
                marks = f"{marks} | {parent.get('class') or ''} {parent.get('id') or ''}"
            out.append(Segment(text, node.tag, parent.tag if parent is not None else "", href, kind,
                               marks=marks, column=_column_of(node, columns) if columns else None))

    def emit(text, host, kind, href):
        """``add`` for an element whose build is known: ``host`` is (tag, parent's tag, marks, column,
        own class and id), worked out once per element as the walk passes it."""
        text = " ".join(text.split())
        if text and len(out) < limit:
            out.append(Segment(text, host[0], host[1], href, kind, None, None, [], host[2], host[3]))

    def walk(node, host, href):
        # ``host``: the build of the node's parent (where its tail belongs), None without a parent.
        tag = node.tag
        if not isinstance(tag, str) or len(out) >= limit:  # past the limit nothing more is kept
            return
        if tag in _SKIPPED:
            if node is not last and host is not None:
                tail = node.tail
                if tail and not tail.isspace():
                    emit(tail, host, "text", href)
            return
        cls = node.get("class")
        own_marks = f"{cls or ''} {node.get('id') or ''}"
        if host is not None:
            mine = (tag, host[0], f"{own_marks} | {host[4]}", _column_of(node, columns) if columns else None, own_marks)
        else:
            mine = (tag, "", own_marks, _column_of(node, columns) if columns else None, own_marks)
        hover = node.get("title")
        if tag == "a":
            href = node.get("href")
        button = tag in ("button", "input") or (cls is not None and ("btn" in cls or "button" in cls))
        whole = tag == "a" or tag in _HEADINGS or button
        if whole and len(node) and any(isinstance(c.tag, str) and c.tag not in _INLINE for c in node.iterdescendants()):
            whole = False  # a link or button round a whole card: read its parts
        if (not whole and len(node) and node[0].tag == "img" and node not in record
                and all(c.tag == "img" for c in node.iterdescendants())):
            # text broken only by icons ("<img>NEW<img> 1g ..."): one value
            whole = len(node.text_content()) <= 120
        if whole:
            leaf = not len(node)
            # A leaf's text is all itertext() would give (not its tail), and it holds no hover texts.
            own = clean_text(node.text if leaf else " ".join(node.itertext()))
            kind = ("link" if tag == "a" else "heading" if tag in _HEADINGS
                    else "button" if button else "linked" if href else "text")
            if tag == "input":
                own = clean_text(node.get("value"))
            if own:
                emit(own, mine, kind, href)
            for inner in () if leaf else node.iterfind(".//*[@title]"):
                add(inner.get("title"), inner, "hover", href)
            if hover and clean_text(hover) != own:
                emit(hover, mine, "hover", href)
        else:
            if hover:
                emit(hover, mine, "hover", href)
            text = node.text
            if text and not text.isspace():
                emit(text, mine, "linked" if href else "text", href)
            for child in node:
                walk(child, mine, href)
        if node is not last and host is not None:
            tail = node.tail
            if tail and not tail.isspace():
                emit(tail, host, "text", None if tag == "a" else href)

    for node in record:
        parent = node.getparent()
        host = None
        if parent is not None:
            grand = parent.getparent()
            parent_marks = f"{parent.get('class') or ''} {parent.get('id') or ''}"
            host = (parent.tag, grand.tag if grand is not None else "",
                    f"{parent_marks} | {grand.get('class') or ''} {grand.get('id') or ''}" if grand is not None
                    else parent_marks, _column_of(parent, columns) if columns else None, parent_marks)
        walk(node, host, None)
    # Labels: "Ships from:" alone labels the next piece; "Ships from: Germany" is split.
    labelled: list[Segment] = []
    pending = None
    for segment in out:
        if segment.column in LABEL_ALONE and segment.label is None:
            segment.label = segment.column  # a table's header labels its column's cells
        alone = _label_alone(segment.text) if len(segment.text) <= 30 else None
        if alone:
            segment.is_label = alone
            labelled.append(segment)
            pending = alone
            continue
        inline = None
        if ":" in segment.text[:32] or "：" in segment.text[:32]:
            inline = _label_inline(segment.text)
        if inline:
            name, start, value = inline
            labelled.append(Segment(segment.text[:start], segment.tag, segment.parent_tag, None,
                                    segment.kind, is_label=name))
            segment.text = value
            segment.label = name
        elif pending:
            segment.label = pending
        pending = None
        labelled.append(segment)
    return labelled


@lru_cache(maxsize=20_000)
def _label_alone(text: str) -> str | None:
    """The label class a short piece of text is by itself ("Ships from:"), remembered: records repeat their labels."""
    return next((name for name, p in LABEL_ALONE.items() if p.match(text)), None)


@lru_cache(maxsize=20_000)
def _label_inline(text: str) -> tuple[str, int, str] | None:
    """"Ships from: Germany": the label class, where the value starts and the value, remembered."""
    for name, pattern in LABEL_INLINE.items():
        match = pattern.match(text)
        if match:
            return name, match.start("value"), clean_text(match.group("value"))
    return None


def table_columns(record: Record) -> dict:
    """For a table row: each cell and what its column's header calls it (a label class, "title"
    for the item's name, "other" for a category); {} for other records or tables without a header."""
    row = record[0]
    if len(record) != 1 or row.tag != "tr":
        return {}
    table = next((a for a in row.iterancestors() if a.tag == "table"), None)
    if table is None:
        return {}
    header = next((tr for tr in table.iter("tr") if tr.find("th") is not None), None)
    if header is None or header is row:
        return {}
    names = []
    for cell in header:
        if cell.tag in ("th", "td"):
            text = " ".join(" ".join(cell.itertext()).split()).rstrip(":")
            kind = _label_alone(text)
            span = cell.get("colspan") or "1"
            names.extend([kind or column_kind(text)] * (min(int(span), 20) if span.isdigit() and span != "0" else 1))
    cells = [c for c in row if c.tag in ("td", "th")]
    return {cell: name for cell, name in zip(cells, names) if name}


def _column_of(node: HtmlElement, columns: dict) -> str | None:
    for _ in range(8):
        if node is None:
            return None
        if node in columns:
            return columns[node]
        node = node.getparent()
    return None


# A host urlsplit takes as it is: ASCII without brackets, up to the first "/", "?" or "#".
_PLAIN_HOST = re.compile(r"[\x00-\x22\x24-\x2e\x30-\x3e\x40-\x5a\x5c\x5e-\x7f]*(?=[/?#]|$)")


@lru_cache(maxsize=20_000)
def href_shape(href: str | None) -> str:
    """What a link's target looks like (an item's, a vendor's, another page's), remembered: records repeat their links."""
    if href is None:
        return "none"
    if href.startswith(("javascript:", "#")) or not href.strip():
        return "void"
    plain = "\t" not in href and "\r" not in href and "\n" not in href
    if plain and ":" not in href and href[:2] != "//" and href[0] > " ":
        # No scheme, host or stripped characters: the path and query are what stands before "#",
        # and "?" parts words as the space between path and query does.
        tokens = set(_HREF_TOKENS.findall(href.partition("#")[0].lower()))
    elif plain and href.startswith(("http://", "https://")) and (host := _PLAIN_HOST.match(href, href.index("/") + 2)):
        # An ASCII host without brackets (urlsplit would check those): what follows it, as above.
        tokens = set(_HREF_TOKENS.findall(href[host.end():].partition("#")[0].lower()))
    else:
        parts = urlsplit(href)
        tokens = set(_HREF_TOKENS.findall((parts.path + " " + parts.query).lower()))
    if tokens & HREF_OTHER:
        return "other"
    if tokens & HREF_VENDOR and not tokens & HREF_ITEM:
        return "vendor"
    if tokens & HREF_ITEM and tokens & HREF_VENDOR:
        return "vendor_item"
    if tokens & HREF_ITEM:
        return "item"
    return "plain"


_HREF_PARTS = re.compile(r"[/?&=#]+")


def href_names_text(href: str, text: str) -> bool:
    """The link's target carries its text as a whole path part or parameter value ("/u/name",
    "?user=name", "/@name/"): a user's own page, as profile links are built on most sites."""
    name = vendor_name(text)
    if not name or " " in name or len(name) < 3:
        return False
    parts = urlsplit(href)
    wanted = name.casefold()
    return any(part.lstrip("@~").casefold() == wanted for part in _HREF_PARTS.split(f"{parts.path}?{parts.query}"))


def _bucket(value: int, edges: tuple) -> int:
    for i, edge in enumerate(edges):
        if value <= edge:
            return i
    return len(edges)


_LEN_EDGES = (2, 5, 15, 40, 100, 250)
_WORD_EDGES = (1, 2, 4, 8, 16)
_DIGIT_EDGES = (0, 1, 3, 6)


@lru_cache(maxsize=50_000)
def _text_shape(text: str) -> tuple[str, str, str]:
    """The length, word and digit buckets of a segment's text (records repeat their texts)."""
    digits = sum(map(str.isdigit, text))
    return (f"len={_bucket(len(text), _LEN_EDGES)}", f"words={_bucket(len(text.split()), _WORD_EDGES)}",
            f"digits={_bucket(int(10 * digits / len(text)), _DIGIT_EDGES)}")


@lru_cache(maxsize=20_000)
def _class_features(marks: str, prefix: str) -> tuple[str, ...]:
    """``prefix`` + each cue class the class and id name (records repeat their builds)."""
    return tuple(f"{prefix}{name}" for name in class_cues(marks))


@lru_cache(maxsize=50_000)
def _shape_features(text, tag, kind, parent_tag, href, label, marks, is_label) -> tuple[str, ...]:
    """The features of a segment with these attributes (cached: records of a page repeat their build)."""
    return (_build_head(tag, kind, parent_tag) + _text_shape(text) + _href_feature(href)
            + _build_features(tag, parent_tag, label, marks, is_label) + text_features(text))


@lru_cache(maxsize=20_000)
def _href_feature(href) -> tuple[str, ...]:
    return () if href is None else (f"href={href_shape(href)}",)


@lru_cache(maxsize=20_000)
def _build_head(tag, kind, parent_tag) -> tuple[str, str, str]:
    return f"tag={tag}", f"kind={kind}", f"ptag={parent_tag}"


@lru_cache(maxsize=20_000)
def _build_features(tag, parent_tag, label, marks, is_label) -> tuple[str, ...]:
    """The features of a segment's element and label (records of a page repeat their build)."""
    f = []
    if tag in _HEADINGS:
        f.append("heading")
    if tag in _BOLD or parent_tag in _BOLD:
        f.append("bold")
    if label:
        f.append(f"lab={label}")
    if marks.strip(" |"):
        own, _, parent = marks.partition("|")
        f.extend(_class_features(own, "cls="))
        f.extend(_class_features(parent, "pcls="))
    if is_label:
        f.append(f"islabel={is_label}")
    return tuple(f)


@lru_cache(maxsize=50_000)
def segment_prices(text: str) -> tuple:
    """``parse_prices`` of a segment's text, remembered (features and decoding both read it)."""
    return tuple(parse_prices(text))


@lru_cache(maxsize=50_000)
def text_features(text: str) -> tuple[str, ...]:
    """Features of the words alone (cached: labels, vendors and places repeat across records)."""
    f = []
    if ACTION.match(text):
        f.append("action")
    letters = _LETTERS.findall(text)
    if not letters:
        f.append("noletters")
    elif len(letters) > 3 and sum(map(str.isupper, letters)) > 0.7 * len(letters):
        f.append("upper")
    if _CYRILLIC.search(text):
        f.append("cyr")
    if text.startswith("@"):
        f.append("at")
    if _DECORATION.search(text):
        f.append("deco")
    if len(text) <= 120:
        prices = segment_prices(text)
        if prices:
            f.append("price")
            f.append("crypto" if prices[0].currency in CRYPTO_CODES else "fiat")
            rest = re.sub(r"[\d\s.,]+", "", text)
            if len(rest) <= 6:
                f.append("price_only")
        if len(text) <= 60:
            code = country_code(text)
            if code:
                f.append("country")
                f.append("country_ww" if code in ("WW", "EU") else "country_iso")
            elif (route := _ROUTE.match(text)) and country_code(route.group("a")):
                f.append("route")
            elif any(country_code(part) for part in _SPLIT.split(text)[:6] if len(part) > 1):
                f.append("country_part")
            if len(text) <= 16 and parse_quantity(text) is not None:  # a Quantity is never false
                f.append("qty_only")
        if DROP_WORDS.search(text):
            f.append("dropword")
    return tuple(f)


_POS = tuple(f"pos={i}" for i in range(7))
_REL = tuple(f"rel={i}" for i in range(5))


def record_features(records_segments: list[list[Segment]], page_title: str = "", detail: bool = False) -> None:
    """Fill every segment's features: its own shape plus its place among the record and the page's records."""
    counts: Counter = Counter()
    many = len(records_segments)
    folded = [[s.text.casefold() for s in segments] for segments in records_segments]
    if many >= 3:
        for texts in folded:
            counts.update(set(texts))
    title_cf = page_title.casefold()
    shape = _shape_features
    letters = _LETTERS.findall
    for segments, texts in zip(records_segments, folded):
        n = len(segments)
        first_heading = next((i for i, s in enumerate(segments) if s.kind == "heading"), None)
        first_link = next((i for i, s in enumerate(segments) if s.kind == "link" and _LETTERS.search(s.text)), None)
        first_text = next((i for i, s in enumerate(segments) if len(letters(s.text)) >= 3 and not s.is_label), None)
        after_colon = False
        for i, segment in enumerate(segments):
            f = list(shape(segment.text, segment.tag, segment.kind, segment.parent_tag, segment.href,
                           segment.label, segment.marks, segment.is_label))
            f.append(_POS[min(i, 6)])
            if i == n - 1:
                f.append("pos=last")
            f.append(_REL[int(5 * i / n)])
            if i == first_heading:
                f.append("first_heading")
            if i == first_link:
                f.append("first_link")
            if i == first_text:
                f.append("first_text")
            if counts:
                share = counts[texts[i]] / many
                f.append("rep=all" if share >= 0.9 else "rep=many" if share >= 0.5 else "rep=some" if share > 0.2 else "rep=one")
            if after_colon:
                f.append("after_colon")
            after_colon = segment.is_label is None and segment.text.endswith(":")
            if detail:
                cf = texts[i]
                if title_cf and len(cf) >= 4:
                    if cf == title_cf:
                        f.append("ptitle=eq")
                    elif cf in title_cf:
                        f.append("ptitle=in" if len(cf) > 0.3 * len(title_cf) else "ptitle=part")
                f = ["D"] + [f"D|{x}" for x in f] + f
            else:
                f.insert(0, "L")
            segment.features = f


# -- labels from gold (training only) ---------------------------------------------------

def _same_title(a: str, b: str) -> bool:
    from difflib import SequenceMatcher

    a, b = a.casefold(), b.casefold()
    if a == b:
        return True
    if abs(len(a) - len(b)) > 0.2 * max(len(a), len(b)):
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.9


@lru_cache(maxsize=20_000)
def vendor_name(text: str | None) -> str | None:
    """A vendor as named, without rating decorations: "name (98%)", "@name", stars, "[4.9]", sales counts."""
    if not text:
        return None
    name = re.sub(r"[\(\[][^)\]]*[\)\]]", " ", text)
    name = re.sub(r"[★☆✪⭐]+|\b\d+(?:[.,]\d+)?\s*%|\b\d+(?:[.,]\d+)?\s*(?:sales|orders|продаж\w*)\b", " ", name, flags=re.I)
    name = clean_text(name).strip(" -|:•·,@")
    name = re.split(r"\s{2,}| \| ", name)[0]
    return name or None


def gold_label(segment: Segment, gold: dict) -> str:
    text = segment.text
    if segment.is_label:
        return "none"
    title = gold.get("title") or ""
    if title and _same_title(text, title):
        return "title"
    if gold.get("vendor") and (vendor_name(text) or "").casefold() == gold["vendor"].casefold():
        return "vendor"
    if len(text) <= 120 and gold.get("prices"):
        for money in parse_prices(text):
            for option in gold["prices"]:
                if option["currency"].upper() == money.currency and abs(option["amount"] - money.amount) <= max(
                        0.01, 0.005 * abs(option["amount"])):
                    return "price"
    if len(text) <= 60:
        code = country_code(text)
        route = _ROUTE.match(text)
        if route and not code:
            code = country_code(route.group("a"))
        if code and gold.get("ships_from") == code:
            return "ships_from"
        if code and code in (gold.get("ships_to") or []):
            return "ships_to"
        if gold.get("ships_to") and not code and any(country_code(p) in gold["ships_to"]
                                                     for p in _SPLIT.split(text)[:6] if len(p) > 1):
            return "ships_to"
        for key, name in (("city", "city"), ("district", "district")):
            if gold.get(key) and text.casefold().strip(" .,") == gold[key].casefold():
                return name
        if gold.get("dead_drop") and DROP_WORDS.search(text) and len(text) <= 40:
            return "drop"
        if gold.get("quantity") and len(text) <= 16:
            quantity = parse_quantity(text)
            if quantity and abs(quantity.amount - gold["quantity"]) < 1e-6:
                return "quantity"
    return "none"


def match_gold(segments: list[Segment], golds: list[dict]) -> dict | None:
    """The gold listing whose title this record shows."""
    for segment in segments:
        if len(segment.text) >= 3:
            for gold in golds:
                if gold.get("title") and _same_title(segment.text, gold["title"]):
                    return gold
    return None

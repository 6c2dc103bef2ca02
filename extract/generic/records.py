"""Item records found by structure (in the spirit of MDR/DEPTA): look-alike sibling subtrees.

A list of items is a run of siblings under one parent built alike (a grid of
cards, a table's rows, list items, runs that each start with a heading, a
definition list's term and its details), or look-alike boxes spread over
several parents (a grid split into rows). A record need not hold a link; it must
show a price and some words. The winning set is the one with the most priced
records; among sets of the same size the outermost holds the whole item.
"""
from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement

from extract.generic.cues import (
    CHROME_MARKS, CHROME_TAGS, CUES, CURRENCY_HINT, CURRENCY_NAMES, FEEDBACK, class_cues, words,
)
from extract.measures import has_price

MAX_RECORD_TEXT = 2500
_SKIP = frozenset({"br", "hr", "img", "input", "script", "style", "option", "select", "wbr"})
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_RUN_STARTS = frozenset(_HEADINGS + ("b", "strong"))  # the tags a run of siblings may start with (besides dt)
_LETTERS = re.compile(r"[^\W\d_]{3,}")

_NEVER_CHROME = frozenset({"html", "body", "main"})
_CODE_WORDS = ("usd", "eur", "gbp", "btc", "xmr", "ltc", "eth", "usdt", "rub", "kzt", "uah", "руб", "тенге", "грн")
_CODES = re.compile(rf"(?<![^\W\d_])(?:{'|'.join(_CODE_WORDS)})(?![^\W\d_])", re.I)

# Label, button and price-tier words ("Bulk: from qty 250 to 499"): no item is named by them alone.
_NAMING_NOTHING = [w for values in CUES["labels"].values() for w in values] + CUES["action_words"] + CUES["tier_words"]
_LABEL_WORDS = words(_NAMING_NOTHING)
# Every word the two patterns above can remove, lower-cased: a plain word outside this set survives both.
_REMOVABLE = frozenset(_CODE_WORDS) | frozenset(
    part.lower() for w in _NAMING_NOTHING for part in w.split())
_PLAIN_WORD = re.compile(r"(?<!\w)[a-zA-Zа-яА-ЯёЁ]{3,}(?!\w)")  # no re.I: it lets "ſ" and "K" in

Record = tuple  # a record: one element, or a few consecutive siblings (heading runs, dt + dd)


@lru_cache(maxsize=20_000)
def _chrome_marks(cls: str | None, ident: str | None) -> bool:
    marks = f"{cls or ''} {ident or ''}".replace("_", " ").replace("-", " ")
    return bool(marks.strip()) and bool(CHROME_MARKS.search(marks))


def content_elements(root: HtmlElement):
    """Every element outside site chrome, in document order: not a chrome tag or navigation role,
    no chrome mark in its class or id (``html``, ``body`` and ``main`` never count as chrome:
    page-wide layout classes such as "right-sidebar" on <body> say nothing about content).

    One walk of the tree in C; a chrome element's subtree is passed over up to the first node
    after it."""
    after = None  # the node that ends the chrome subtree being passed over
    for node in root.iter():
        if after is not None:
            if node is not after:
                continue
            after = None
        tag = node.tag
        if not isinstance(tag, str):
            continue
        if tag not in _NEVER_CHROME:
            get = node.get
            if tag in CHROME_TAGS or get("role") == "navigation" or _chrome_marks(get("class"), get("id")):
                while node is not root:
                    after = node.getnext()
                    if after is not None:
                        break
                    node = node.getparent()
                if after is None:
                    return
                continue
        yield node


def node_text(node: HtmlElement, cache: dict | None = None) -> str:
    """The node's text, whitespace folded (remembered in ``cache`` when one is given).

    With a cache, a node whose children's texts are remembered is read through them (walking up
    nested wrappers reads each piece of text once, not once per wrapper)."""
    if cache is None:
        return " ".join(" ".join(node.itertext()).split())
    text = cache.get(node)
    if text is None:
        text = cache[node] = _fold_through(node, cache)
    return text


def _fold_through(node: HtmlElement, cache: dict) -> str:
    """``" ".join(" ".join(node.itertext()).split())``, taking remembered children's texts from ``cache``.

    Folding whitespace keeps the same words in the same order, so a child's folded text stands
    for the pieces it folds. ``itertext`` reads an element's text, then each child's pieces and
    its tail (a comment or processing instruction gives its tail only)."""
    if not len(node) or not any(child in cache for child in node):
        return " ".join(" ".join(node.itertext()).split())
    parts = [node.text]
    for child in node:
        tag = child.tag
        if isinstance(tag, str):
            known = cache.get(child)
            parts.append(known if known is not None else " ".join(child.itertext()))
        elif tag is not etree.Comment and tag is not etree.ProcessingInstruction:
            return " ".join(" ".join(node.itertext()).split())  # an entity: read as itertext reads it
        parts.append(child.tail)
    return " ".join(" ".join(filter(None, parts)).split())


# A page's cache (``texts``) may hold, under this key, the hover texts below each node (see _Search).
_HOVER_INDEX = object()


def record_text(record: Record, cache: dict | None = None) -> str:
    """The record's text, with hover texts (``title`` attributes) that may carry the price."""
    parts = []
    index = cache.get(_HOVER_INDEX) if cache is not None else None
    for node in record:
        parts.append(node_text(node, cache))
        if index is not None:
            parts.extend(index.get(node, ()))
        else:
            for titled in node.iterfind(".//*[@title]"):
                parts.append(titled.get("title"))
        if node.get("title"):
            parts.append(node.get("title"))
    return " ".join(parts)


def _shape(node: HtmlElement, limit: int = 60) -> frozenset:
    """Tag paths below the node (to depth 4): the record's build, whatever its classes."""
    paths = set()
    add = paths.add
    stack = [(node, "", 0)]
    while stack and len(paths) < limit:
        element, path, depth = stack.pop()
        for child in element:
            tag = child.tag
            if isinstance(tag, str) and tag not in _SKIP:
                child_path = f"{path}/{tag}"
                add(child_path)
                if depth < 3 and len(child):  # a childless element would add nothing
                    stack.append((child, child_path, depth + 1))
    return frozenset(paths)


def _alike(members: list[Record], shape=_shape) -> list[Record]:
    """The members built like most of the others (tag-path Jaccard at least 0.5); two members
    only when built alike (an item page's title box and details box are not two items).
    ``shape`` gives a node's ``_shape`` (a page's search remembers them)."""
    if len(members) < 2:
        return members
    shapes = [shape(m[0]) if len(m) == 1 else frozenset().union(*map(shape, m)) for m in members]
    if len(members) == 2:
        a, b = shapes
        return members if (not a and not b) or len(a & b) / max(1, len(a | b)) >= 0.5 else []
    sample = shapes if len(shapes) <= 40 else shapes[:: max(1, len(shapes) // 40)]
    alike = []
    verdicts: dict[frozenset, bool] = {}  # records of one build share their verdict
    for record, shape in zip(members, shapes):
        verdict = verdicts.get(shape)
        if verdict is None:
            matches = sum(
                (not shape and not other) or (len(shape & other) / max(1, len(shape | other)) >= 0.5)
                for other in sample
            )
            verdict = verdicts[shape] = matches * 2 > len(sample)
        if verdict:
            alike.append(record)
    return alike


@lru_cache(maxsize=20_000)
def _stable(classes: str) -> str:
    return " ".join(sorted(t for t in classes.split() if not any(c.isdigit() for c in t)))


def _runs(parent: HtmlElement, children: list[HtmlElement]) -> list[Record]:
    """Consecutive-sibling records: dt + its dd's, or a heading (or bold lead) and what follows it."""
    tags = [c.tag for c in children]
    starts = None
    if parent.tag == "dl" and tags.count("dt") >= 2:
        starts = "dt"
    else:
        for tag in _HEADINGS + ("b", "strong"):
            if tags.count(tag) >= 2 and tags[0] == tag:
                starts = tag
                break
    if starts is None:
        return []
    runs, current = [], []
    for child in children:
        if child.tag == starts and current:
            runs.append(tuple(current))
            current = []
        current.append(child)
    if current:
        runs.append(tuple(current))
    return [r for r in runs if r[0].tag == starts]


def _priced_text(text: str) -> bool:
    if len(text) > 2 * MAX_RECORD_TEXT or not any(map(str.isdigit, text)) or not CURRENCY_HINT.search(text):
        return False
    text = " ".join(text.split())
    return _has_words(text) and has_price(text)


def _has_words(text: str) -> bool:
    """Words besides currency codes, labels and buttons ("Price: 5 USD Buy" has none).

    A whole word of plain Latin or Cyrillic letters that neither pattern can remove settles it
    at once; otherwise both are stripped and what is left is read."""
    for word in _PLAIN_WORD.finditer(text):
        if word.group().lower() not in _REMOVABLE:
            return True
    return bool(_LETTERS.search(_LABEL_WORDS.sub(" ", _CODES.sub(" ", text))))


def candidate_groups(root: HtmlElement, content: list | None = None) -> list[list[Record]]:
    groups: list[list[Record]] = []
    spread: dict[tuple, list[Record]] = {}
    spread_parent: dict[tuple, HtmlElement | None] = {}  # the members' one parent, None once there are several
    if content is None:
        content = list(content_elements(root))
    # A child of a content element is chrome exactly when it is not itself a content element;
    # every content element but the root is the child of one.
    kids: dict[HtmlElement, list[HtmlElement]] = {}
    for node in content:
        if node.tag not in _SKIP:
            parent = node.getparent()
            siblings = kids.get(parent)
            if siblings is None:
                kids[parent] = [node]
            else:
                siblings.append(node)
    for parent in content:
        children = kids.get(parent)
        if children is None or len(children) < 2:
            continue
        by_tag: dict[str, list[Record]] = {}
        parent_key = (parent.tag, _stable(parent.get("class") or ""))
        for child in children:
            tag = child.tag
            record = (child,)
            members = by_tag.get(tag)
            if members is None:
                by_tag[tag] = [record]
            else:
                members.append(record)
            key = (tag, _stable(child.get("class") or "")) + parent_key
            members = spread.get(key)
            if members is None:
                spread[key] = [record]
                spread_parent[key] = parent
            else:
                members.append(record)
                if spread_parent[key] is not parent:
                    spread_parent[key] = None
        groups.extend(members for members in by_tag.values() if len(members) >= 2)
        if parent.tag == "dl" or children[0].tag in _RUN_STARTS:
            runs = _runs(parent, children)
            if len(runs) >= 2:
                groups.append(runs)
    # Boxes of one build spread over several parents (a grid in rows): only where the parents differ.
    groups.extend(members for key, members in spread.items() if spread_parent[key] is None)
    return groups


def _key(record: Record) -> str:
    """Records repeated in hidden pop-ups show the same text; one of each is kept. Look-alike
    items that link to different places (a vendor's clones of one offer) stay apart."""
    text = " ".join(" ".join(node.text_content().split()) for node in record)[:300]
    targets = sorted({href for top in record for node in top.iter("a")
                      if (href := node.get("href")) and not href.startswith(("#", "javascript:"))})
    return text + " " + " ".join(targets)


def _in_feedback_box(node: HtmlElement) -> bool:
    """Inside a box its page calls ratings, reviews or feedback: past purchases, not offers."""
    for ancestor in list(node.iterancestors())[:3]:
        if "rating" in class_cues(f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}"):
            return True
    return False


def _rate_box(record: Record) -> bool:
    """A box headed by a currency's name ("Bitcoin (BTC)", "Курс USDT") shows exchange rates, not an item."""
    for top in record:
        for text in top.itertext():
            if _LETTERS.search(text):
                rest = _CODES.sub(" ", CURRENCY_NAMES.sub(" ", text))
                return not _LETTERS.search(rest) and not any(map(str.isdigit, rest.replace("1", "")))
    return False


def _linked(record: Record) -> bool:
    for top in record:
        for node in top.iter("a"):
            href = node.get("href") or ""
            if href and not href.startswith(("#", "javascript:")):
                return True
    return False


class _Search:
    """What one page's record search remembers: node texts and lengths, verdicts per record and
    per text, shapes, keys, and the hover texts below each node.

    Every answer is the one the plain computations give (``record_text``, ``_shape``, ``_key``,
    ``_rate_box``, ``_linked``, and the priced test kept in tests/test_record_search.py); the page
    is read once for the cheap facts and each node's text is built once."""

    def __init__(self, root: HtmlElement, texts: dict):
        self.texts = texts  # node -> folded text (shared with the page object)
        self.reads: dict = {}  # node -> (folded text, len(node.text_content()))
        self.read_parents: set = set()  # the parents of the nodes read
        self.verdicts: dict = {}  # record -> priced?, and text -> priced?
        self.shapes: dict = {}
        self.keys: dict = {}
        self.rates: dict = {}
        self.links: dict = {}
        # An entity reference node reads differently in itertext() and text_content(); the
        # shortcuts below hold for trees without them (lxml's HTML parser never makes one).
        self.plain = (isinstance(root.getroottree().parser, etree.HTMLParser)
                      or next(root.iter(etree.Entity), None) is None)
        self.titles: dict = {}  # node -> hover texts of the elements below it, in document order
        texts[_HOVER_INDEX] = self.titles  # record_text reads the page's cache with it
        for title in _TITLES(root):
            for ancestor in title.getparent().iterancestors():
                below = self.titles.get(ancestor)
                if below is None:
                    self.titles[ancestor] = [title]
                else:
                    below.append(title)

    def read(self, node: HtmlElement) -> tuple[str, int]:
        """``node_text(node)`` and ``len(node.text_content())``, from one reading of the node's
        pieces of text (on plain trees the pieces make up ``text_content()``)."""
        known = self.reads.get(node)
        if known is not None:
            return known
        if len(node):
            if self.plain and node in self.read_parents:
                return self._read_through(node)
            pieces = list(node.itertext())
            text = " ".join(" ".join(pieces).split())
            size = sum(map(len, pieces))
        else:
            own = node.text
            text, size = (" ".join(own.split()), len(own)) if own is not None else ("", 0)
        if not self.plain:
            size = len(node.text_content())
        self.texts[node] = text
        self.read_parents.add(node.getparent())
        known = self.reads[node] = (text, size)
        return known

    def _read_through(self, node: HtmlElement) -> tuple[str, int]:
        """``read`` taking the children already read from the memo (as ``_fold_through`` does)."""
        reads = self.reads
        own = node.text
        parts, size = [own], len(own) if own is not None else 0
        for child in node:
            tag = child.tag
            if isinstance(tag, str):
                known = reads.get(child)
                if known is None:
                    pieces = list(child.itertext())
                    parts.append(" ".join(pieces))
                    size += sum(map(len, pieces))
                else:
                    parts.append(known[0])
                    size += known[1]
            elif tag is not etree.Comment and tag is not etree.ProcessingInstruction:
                pieces = list(node.itertext())  # an entity: read as itertext reads it
                parts, size = pieces, sum(map(len, pieces))
                break
            tail = child.tail
            if tail is not None:
                parts.append(tail)
                size += len(tail)
        text = self.texts[node] = " ".join(" ".join(filter(None, parts)).split())
        self.read_parents.add(node.getparent())
        known = self.reads[node] = (text, size)
        return known

    def record_text(self, record: Record) -> str:
        """``record_text(record)``"""
        parts = []
        titles = self.titles
        for node in record:
            parts.append(self.read(node)[0])
            below = titles.get(node)
            if below:
                parts.extend(below)
            if node.get("title"):
                parts.append(node.get("title"))
        return " ".join(parts)

    def priced(self, record: Record) -> bool:
        """``_priced(record)``"""
        verdicts = self.verdicts
        verdict = verdicts.get(record)
        if verdict is not None:
            return verdict
        if len(record) == 1:
            node = record[0]
            text, size = self.read(node)
            if size <= 4 * MAX_RECORD_TEXT and (node in self.titles or node.get("title")):
                text = self.record_text(record)  # with its hover texts
        else:
            size = sum(self.read(node)[1] for node in record)
            text = self.record_text(record) if size <= 4 * MAX_RECORD_TEXT else ""
        if size > 4 * MAX_RECORD_TEXT:
            verdict = False  # a whole column or page, not an item
        else:
            verdict = verdicts.get(text)
            if verdict is None:
                verdict = verdicts[text] = _priced_memo(text) if len(text) <= 1000 else _priced_text(text)
        verdicts[record] = verdict
        return verdict

    def shape(self, node: HtmlElement) -> frozenset:
        shape = self.shapes.get(node)
        if shape is None:
            shape = self.shapes[node] = _shape(node)
        return shape

    def key(self, record: Record) -> str:
        key = self.keys.get(record)
        if key is None:
            key = self.keys[record] = _key(record)
        return key

    def rate_box(self, record: Record) -> bool:
        verdict = self.rates.get(record)
        if verdict is None:
            verdict = self.rates[record] = _rate_box(record)
        return verdict

    def linked(self, record: Record) -> bool:
        verdict = self.links.get(record)
        if verdict is None:
            verdict = self.links[record] = _linked(record)
        return verdict

    def weights(self, members: list[Record]) -> list[float]:
        """What each record weighs in a set's score: 1 when it links somewhere, else 1/2."""
        linked = self.linked
        return [1.0 if linked(record) else 0.5 for record in members]


_TITLES = etree.XPath("descendant::*/@title")  # as iterfind(".//*[@title]") finds them, in document order


@lru_cache(maxsize=8192)
def _priced_memo(text: str) -> bool:
    """``_priced_text``, remembered across pages (markets repeat their items on many pages; the
    search asks only for texts up to 1,000 characters, so the memo stays within a few MB)."""
    return _priced_text(text)


def _half_or_more(verdicts, count: int) -> bool:
    """``sum(map(bool, verdicts)) * 2 >= count`` for ``count`` verdicts, read only until it is settled."""
    yes, left = 0, count
    for verdict in verdicts:
        left -= 1
        if verdict:
            yes += 1
            if yes * 2 >= count:
                return True
        elif (yes + left) * 2 < count:
            return False
    return yes * 2 >= count


def _out_of_reach(reach: float, members: list[Record], best: list, best_score: float, best_depth: int) -> bool:
    """Whether records weighing at most ``reach`` in all cannot replace the best set: a score
    below it, or the same score without being nearer the root (at best as deep as the
    shallowest member)."""
    if reach != best_score:
        return reach < best_score
    return not (best and min(sum(1 for _ in m[0].iterancestors()) for m in members) < best_depth)


def twin_set(root: HtmlElement, best: list[Record], titles: list[str], content: list | None = None,
             texts: dict | None = None, inside: set | None = None, kept: dict | None = None) -> list[Record] | None:
    """Another set of priced records, apart from ``best`` (none inside or round one of its
    records), that shows the same items in the same order: its n-th record's text holds the n-th
    title. A page may show its items twice (table rows beside hidden quick-view boxes), each
    showing fields the other lacks. None when there is no such set."""
    if len(best) < 2 or len(titles) != len(best):
        return None
    # ``inside``: every node of the best records, when the caller has it already.
    taken = set(inside) if inside is not None else {node for record in best for top in record for node in top.iter()}
    for record in best:
        for top in record:
            taken.update(top.iterancestors())
    search, groups = (kept["search"], kept["groups"]) if kept else (None, None)  # what find_records kept
    if search is None:
        search, groups = _Search(root, {} if texts is None else texts), candidate_groups(root, content)
    wanted = [title.casefold() for title in titles]
    for members in groups:
        if len(members) < len(best) or any(top in taken for member in members for top in member):
            continue
        twin, at = [], 0
        for member in members:
            if wanted[at] in search.record_text(member).casefold():
                if not search.priced(member):
                    break
                twin.append(member)
                at += 1
                if at == len(wanted):
                    return twin
            elif len(members) - len(twin) - 1 < len(wanted) - at:
                break  # too few members left for the titles still wanted
    return None


def find_records(root: HtmlElement, content: list | None = None, texts: dict | None = None,
                 keep: dict | None = None) -> list[Record]:
    """The best set of look-alike priced records on the page ([] when there is none).

    Sets are weighed by their size, with records that link somewhere counting in full and
    others half (price tiers and option rows nested in items rarely link; item cards mostly
    do, but shops whose cards only hold a buy button are still found)."""
    best: list[Record] = []
    best_score, best_depth = 1.0, 0
    search = _Search(root, {} if texts is None else texts)
    groups = candidate_groups(root, content)
    if keep is not None:  # for twin_set: the memo and the candidate sets (kept apart from ``texts``: no cycle)
        keep["search"], keep["groups"] = search, groups
    for members in sorted(groups, key=len, reverse=True):
        if len(members) < max(2, best_score):
            break
        # The set's score is at most the weight of its priced members: the priced ones read so
        # far and all those unread. Once that cannot beat the best set (or too few members are
        # left to reach the bar), the rest need not be read.
        weights = search.weights(members)
        reach = sum(weights)
        bar = max(2, best_score)
        priced, unpriced, spare = [], 0, len(members) - bar
        if not _out_of_reach(reach, members, best, best_score, best_depth):
            for member, weight in zip(members, weights):
                if search.priced(member):
                    priced.append(member)
                else:
                    unpriced += 1
                    reach -= weight
                    if unpriced > spare or _out_of_reach(reach, members, best, best_score, best_depth):
                        break
        if len(priced) < bar or _out_of_reach(reach, members, best, best_score, best_depth):
            continue
        records, seen = [], set()
        for record in _alike(priced, search.shape):
            key = search.key(record)
            if key not in seen:
                seen.add(key)
                records.append(record)
        if len(records) < 2:
            continue
        score = sum(search.weights(records))
        depth = sum(1 for _ in records[0][0].iterancestors())
        if not (score > best_score or (best and score == best_score and depth < best_depth)):
            continue
        if _half_or_more((FEEDBACK.search(" ".join(search.record_text(r).split())) for r in records), len(records)):
            continue
        if _in_feedback_box(records[0][0]):
            continue
        if _half_or_more(map(search.rate_box, records), len(records)):
            continue
        best, best_score, best_depth = records, score, depth
    return best

"""Wrapper induction: learn where a market puts its records and fields from labelled example pages.

In the spirit of Scrapely and AutoScraper. Each labelled value is located in the
page's DOM (text normalised; prices and numbers matched by value, countries by
code), the labelled items' nodes give the record element (the highest ancestor
of an item's title that holds no other item's title), and each field becomes a
path relative to its record: steps of tag, classes (without per-item numbers)
and position among siblings of that same shape. Paths are voted over the
labelled items, so an item with a missing field, a "sold out" badge or an ad
row in between does not decide the rule. What is learned is plain JSON data.

Nothing here knows a market: every rule comes from the examples.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from lxml.html import HtmlElement

from extract.document import Document, clean_text, visible_text
from extract.measures import Money, _NUMBER_RE, parse_number, parse_prices, parse_quantity
from extract.nlp import places_in
from extract.places import country_code, country_codes

FORMAT_VERSION = 1
TEXT_FIELDS = ("title", "vendor", "city", "district", "category")
LIST_TYPES = ("category", "vendor")  # page types whose items sit in repeated records
_ELLIPSIS = re.compile(r"\s*(?:\.{2,}|\u2026)$")
_SKIP_TAGS = frozenset({"head", "title", "select", "option", "textarea", "meta", "link"})


class LabelError(ValueError):
    """A label that cannot be used: its value is not on the page, or the labels are malformed."""


class AmbiguousLabel(LabelError):
    """A labelled value occurs more than once where one place was expected."""

    def __init__(self, field: str, value: str, places: list[str]):
        self.field, self.value, self.places = field, value, places
        super().__init__(f"{field} {value!r} occurs {len(places)} times on the page: " + "; ".join(places[:5]))


def norm(text: str | None) -> str:
    return clean_text(text).casefold()


def class_key(node: HtmlElement) -> str:
    """Classes without tokens that carry numbers (per-item ids) and without state words."""
    classes = node.get("class") or ""
    return " ".join(sorted(t for t in classes.split() if not any(c.isdigit() for c in t)))


def _elements(node: HtmlElement):
    stack = [node]
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str) or el.tag in _SKIP_TAGS:
            continue
        yield el
        stack.extend(reversed(el))


# Saved pages differ in whether the markup spelled out the tbody a browser adds: it is skipped in paths.
_TRANSPARENT = frozenset({"tbody", "thead", "tfoot"})


def children(node: HtmlElement) -> list[HtmlElement]:
    out = []
    for c in node:
        if not isinstance(c.tag, str):
            continue
        if c.tag in _TRANSPARENT:
            out.extend(g for g in c if isinstance(g.tag, str))
        else:
            out.append(c)
    return out


def parent_of(node: HtmlElement) -> HtmlElement | None:
    parent = node.getparent()
    if parent is not None and parent.tag in _TRANSPARENT:
        parent = parent.getparent()
    return parent


def _kids(node: HtmlElement, tag: str, cls: str) -> list[HtmlElement]:
    return [c for c in children(node) if c.tag == tag and class_key(c) == cls]


def rel_path(record: HtmlElement, node: HtmlElement) -> tuple:
    steps = []
    while node is not record and node is not None:
        if node.tag in _TRANSPARENT:
            node = node.getparent()
            continue
        parent = parent_of(node)
        if parent is None:
            break
        tag, cls = node.tag, class_key(node)
        idx = next(i for i, c in enumerate(_kids(parent, tag, cls)) if c is node)
        steps.append((tag, cls, idx))
        node = parent
    return tuple(reversed(steps))


def _near_kids(node: HtmlElement, tag: str, cls: str) -> list[HtmlElement]:
    """Children of the tag whose classes share a token with ``cls`` (rows styled odd/even,
    "gridrow"/"gridalt"), or all of the tag when it had no class."""
    tokens = set(cls.split())
    return [c for c in children(node) if c.tag == tag and (not tokens or tokens & set(class_key(c).split()))]


def resolve(record: HtmlElement, path) -> HtmlElement | None:
    node = record
    for tag, cls, idx in path:
        kids = _kids(node, tag, cls)
        if idx >= len(kids):
            kids = _near_kids(node, tag, cls)
            if idx >= len(kids):
                return None
        node = kids[idx]
    return node


def describe(root: HtmlElement, node: HtmlElement) -> str:
    """A short human-readable place of a node: its tag path and the text around it."""
    names = []
    for el in [node, *node.iterancestors()][:4]:
        cls = class_key(el)
        names.append(el.tag + (f".{cls.replace(' ', '.')}" if cls else ""))
    return " < ".join(names) + f' "{visible_text(node)[:60]}"'


# ---------------------------------------------------------------- value matchers


def _title_match(node_text: str, value: str, normed: str | None = None) -> tuple[str, str] | None:
    """(prefix, suffix) of the value within the node text, or None."""
    t, v = (normed if normed is not None else norm(node_text)), norm(value)
    if not t or not v:
        return None
    if t == v:
        return "", ""
    stem = _ELLIPSIS.sub("", v)
    if _ELLIPSIS.search(v) and len(stem) >= 8 and t.startswith(stem):
        return "", ""
    stem_t = _ELLIPSIS.sub("", t)
    if _ELLIPSIS.search(t) and len(stem_t) >= 8 and v.startswith(stem_t):
        return "", ""
    pos = t.find(v)
    if pos >= 0 and len(v) * 2 >= len(t) or (pos >= 0 and len(v) >= 3 and len(t) <= len(v) + 40):
        return t[:pos], t[pos + len(v):]
    return None


def _same_amount(a: float, b: float) -> bool:
    return abs(a - b) <= max(1e-9, 0.005 * abs(b))


def _numbers(text: str) -> list[float]:
    found = []
    for m in _NUMBER_RE.finditer(text):
        value = parse_number(m.group())
        if value is not None:
            found.append(value)
    return found


def _price_match(node_text: str, golds: list[dict]) -> dict | None:
    """How the node shows one of the gold prices: as money (with its index) or a bare number."""
    money = parse_prices(node_text)
    for gi, gold in enumerate(golds):
        for i, m in enumerate(money):
            if m.currency == str(gold["currency"]).upper() and _same_amount(m.amount, float(gold["amount"])):
                return {"mode": "money", "pick": i, "gold": gi}
    for gi, gold in enumerate(golds):
        for i, n in enumerate(_numbers(node_text)):
            if _same_amount(n, float(gold["amount"])):
                return {"mode": "number", "pick": i, "gold": gi, "currency": str(gold["currency"]).upper()}
    return None


_ROUTE = re.compile(r"\s*(?:→|->|⇒|»|➜|➔|=>|\bto\b|\|)\s*")


def _parts(text: str) -> list[tuple[dict, str]]:
    """Ways to read a place out of a node's text: whole, after a label, or one side of a route."""
    out = [({}, text)]
    if ":" in text:
        head, tail = text.split(":", 1)
        out.append(({"prefix": norm(head) + ":"}, tail))
    for base_info, base in list(out):
        if len(base) > 60:
            continue
        pieces = _ROUTE.split(base)
        if len(pieces) >= 2:
            for i, piece in enumerate(pieces):
                out.append(({**base_info, "split": True, "part": i}, piece))
    return out


def _country_in(text: str) -> tuple[str | None, dict]:
    """A country code the text names, alone, after a label ("Ships from: Germany") or in a route."""
    for info, part in _parts(text):
        code = country_code(part)
        if code:
            return code, info
    return None, {}


def _countries_in(text: str, wanted: set[str]) -> tuple[list[str], dict]:
    for info, part in _parts(text):
        codes = country_codes(part)
        if codes and set(codes) == wanted:
            return codes, info
    return [], {}


# ---------------------------------------------------------------- locating


@dataclass
class Hit:
    node: HtmlElement
    info: dict
    exact: bool
    length: int


def _deepest(hits: list[Hit]) -> list[Hit]:
    """Keep hits with no hit below them (the value's own node, not every wrapper round it)."""
    nodes = {id(h.node) for h in hits}
    out = []
    for h in hits:
        if any(id(d) in nodes for d in h.node.iterdescendants() if d is not h.node):
            continue
        out.append(h)
    return out


def locate(scope: HtmlElement, field: str, value, texts: dict) -> list[Hit]:
    """Every deepest node inside ``scope`` that shows ``value`` for ``field``."""
    hits = []
    normed_texts = texts.setdefault("normed", {})
    value_stem = _ELLIPSIS.sub("", norm(value))[:40] if field in TEXT_FIELDS else ""
    for el in _elements(scope):
        text = texts.get(el)
        if text is None:
            text = texts[el] = visible_text(el)
        if not text or len(text) > 4000:
            continue
        if field in TEXT_FIELDS:
            if len(text) > 2 * len(value) + 60:
                continue
            normed = normed_texts.get(el)
            if normed is None:
                normed = normed_texts[el] = norm(text)
            if value_stem not in normed and not (normed.endswith(("...", "…")) and len(normed) >= 8):
                continue
            found = _title_match(text, value, normed)
            if found is not None:
                hits.append(Hit(el, {"prefix": found[0], "suffix": found[1]}, found == ("", ""), len(text)))
        elif field == "price":
            if len(text) > 300 or not any(c.isdigit() for c in text):
                continue
            found = _price_match(text, value)
            if found and found["mode"] == "number":
                # "<span>€</span><b>29.00</b>": the currency sits beside the number; read both
                for up in list(el.iterancestors())[:2]:
                    up_text = texts.get(up)
                    if up_text is None:
                        up_text = texts[up] = visible_text(up)
                    if len(up_text) > 200:
                        break
                    wider = _price_match(up_text, value)
                    if wider and wider["mode"] == "money":
                        hits.append(Hit(up, wider, True, len(up_text)))
                        found = None
                        break
            if found:
                hits.append(Hit(el, found, found["mode"] == "money", len(text)))
        elif field == "ships_from":
            if len(text) > 80:
                continue
            code, info = _country_in(text)
            if code == str(value).upper():
                hits.append(Hit(el, info, not info, len(text)))
        elif field == "ships_to":
            if len(text) > 300:
                continue
            codes, info = _countries_in(text, {str(v).upper() for v in value})
            if codes:
                hits.append(Hit(el, info, not info, len(text)))
        elif field == "dead_drop":
            if len(text) > 80:
                continue
            kind, _ = places_in(text)
            if kind == value:
                hits.append(Hit(el, {}, True, len(text)))
        elif field == "quantity":
            if len(text) > 80 or not any(c.isdigit() for c in text):
                continue
            q = parse_quantity(text)
            if q is not None and _same_amount(q.amount, float(value)):
                hits.append(Hit(el, {}, True, len(text)))
    return _deepest(hits)


# ---------------------------------------------------------------- rules


def _common_affix(values: list[str], prefix: bool) -> str:
    if not values:
        return ""
    first = values[0]
    if all(v == first for v in values):
        return first
    return ""


def _rule_from(field: str, path: tuple, infos: list[dict]) -> dict:
    rule: dict = {"path": [list(s) for s in path]}
    if path and path[-1][1]:
        # where the path no longer leads (a banner added above it), the value's own tag and classes
        rule["tail"] = [[step[0], step[1]] for step in path[-2:]]
    if field in ("ships_from", "ships_to"):
        splits = Counter((i.get("prefix", ""), i.get("part")) for i in infos)
        (prefix, part), _ = splits.most_common(1)[0]
        rule["prefix"] = prefix
        if part is not None:
            rule["part"] = part
    elif field in TEXT_FIELDS:
        prefixes = [i.get("prefix", "") for i in infos]
        rule["prefix"] = _common_affix(prefixes, True)
        suffixes = [i.get("suffix", "") for i in infos if "suffix" in i]
        common = _common_affix(suffixes, False)
        if common:
            rule["suffix"] = common
        if common and common.strip()[:1] in "([{|-–—,/•·":
            rule["cut"] = common.strip()[:1]  # "name (100%)" on the example, "name (98%)" elsewhere
        elif not common and any(suffixes):
            # varying tails ("name (123)"): cut at the delimiter they all start with
            starts = {s.strip()[:1] for s in suffixes if s.strip()}
            if len(starts) == 1:
                rule["cut"] = starts.pop()
    if field == "price":
        modes = Counter((i["mode"], i["pick"], i.get("currency")) for i in infos)
        mode, pick, currency = modes.most_common(1)[0][0]
        rule.update(mode=mode, pick=pick)
        if currency:
            rule["currency"] = currency
    return rule


def _vote(field: str, per_item: list[list[tuple[tuple, Hit]]]) -> list[dict]:
    """Rules for a field from each item's candidate (path, hit) pairs: the path most items
    share first, then paths covering the items it missed."""
    rules = []
    uncovered = [i for i, c in enumerate(per_item) if c]
    while uncovered and len(rules) < 3:
        support: dict[tuple, list] = {}
        for i in uncovered:
            seen = set()
            for path, hit in per_item[i]:
                if path in seen or (rules and not path):
                    continue
                seen.add(path)
                support.setdefault(path, []).append((i, hit))
        if not support:
            break

        def rank(item):
            path, hits = item
            return (len({i for i, _ in hits}), sum(_label_fits(field, h.node) for _, h in hits),
                    sum(h.exact for _, h in hits),
                    -sum(h.length for _, h in hits) / len(hits), -len(path))

        path, hits = max(support.items(), key=rank)
        count = len({i for i, _ in hits})
        labels = {_label_of(h.node) for _, h in hits}
        labelled = sum(1 for c in per_item if c)
        # a place a value merely happens to occur on one item of many is a coincidence, not a rule
        if labelled >= 3 and (count * 3 < labelled if not rules else count < 2):
            break
        rule = _rule_from(field, path, [h.info for _, h in hits])
        if len(labels) == 1 and next(iter(labels)):
            rule["label"] = labels.pop()  # "<dt>Seller</dt><dd>..." : found by its label where rows are missing
        rules.append(rule)
        covered = {i for i, _ in hits}
        uncovered = [i for i in uncovered if i not in covered]
    return rules


_FIELD_LABELS = {
    "ships_from": re.compile(r"from|origin|отправ|откуда", re.I),
    "ships_to": re.compile(r"\bto\b|destination|куда|доставка", re.I),
    "vendor": re.compile(r"vendor|seller|sold by|shop|store|продав|магазин", re.I),
    "city": re.compile(r"city|город", re.I),
    "district": re.compile(r"district|район", re.I),
    "price": re.compile(r"price|цена|стоимость", re.I),
}


def _label_fits(field: str, node: HtmlElement) -> int:
    """The words just before the value name the field ("Ships from:", "<td>Город</td>"): a prior
    that decides between places showing the same value (ships from WW and ships to WW). 2 when
    the label is the value's own or its previous sibling, 1 when it is further out, else 0."""
    label = _FIELD_LABELS.get(field)
    if label is None:
        return 0
    for level, el in enumerate([node, *list(node.iterancestors())[:2]]):
        before = []
        sibling = el.getprevious()
        if sibling is not None and isinstance(sibling.tag, str):
            before.append(visible_text(sibling)[-40:] + " " + (sibling.tail or ""))
        if el.text:
            before.append(el.text[:40])
        if el is node:
            before.append(visible_text(node)[:40])
            before.append(f"{node.get('class') or ''} {node.get('id') or ''}".replace("-", " ").replace("_", " "))
        parent = el.getparent()
        if parent is not None and parent.text:
            before.append(parent.text)
        if any(label.search(b) for b in before):
            return 2 if level == 0 and not (parent is not None and parent.text and label.search(parent.text)
                                             and not any(label.search(b) for b in before[:-1])) else 1
    return 0


def _text_value(node: HtmlElement, rule: dict) -> str | None:
    text = visible_text(node)
    prefix = rule.get("prefix") or ""
    if prefix and text.casefold().startswith(prefix):
        text = text[len(prefix):]
    elif prefix.endswith(":") and ":" in text:
        text = text.split(":", 1)[1]
    if rule.get("part") is not None:
        pieces = _ROUTE.split(text)
        text = pieces[rule["part"]] if len(pieces) > rule["part"] else ""
    suffix = rule.get("suffix")
    if suffix and text.casefold().endswith(suffix):
        text = text[: len(text) - len(suffix)]
    cut = rule.get("cut")
    if cut and cut in text:
        text = text[: text.index(cut)]
    return clean_text(text).strip(" :|-") or None


def _label_of(node: HtmlElement) -> str | None:
    """The short label element right before a value ("<dt>Seller</dt>", "<td>Город</td>"), if any."""
    previous = node.getprevious()
    while previous is not None and not isinstance(previous.tag, str):
        previous = previous.getprevious()
    if previous is None:
        return None
    raw = norm(visible_text(previous))
    text = raw.rstrip(":").strip()
    if not text or len(text) > 30 or any(c.isdigit() for c in text) or ":" in text:
        return None
    # a label says so (a colon, or a label element): a neighbour showing a value the example items
    # happen to share ("United Kingdom → United Kingdom") is none
    if not raw.endswith(":") and previous.tag not in ("dt", "th", "label"):
        return None
    return text


def _by_label(record: HtmlElement, rule: dict) -> HtmlElement | None:
    node = resolve(record, rule["path"])
    if node is not None and _label_of(node) == rule["label"]:
        return node
    parent = resolve(record, rule["path"][:-1]) if rule["path"] else None
    if parent is None:
        return None
    tag = rule["path"][-1][0]
    for child in children(parent):
        if child.tag == tag and _label_of(child) == rule["label"]:
            return child
    return None


def _by_tail(record: HtmlElement, tail: list) -> HtmlElement | None:
    tag, cls = tail[-1]
    for el in record.iter(tag):
        if class_key(el) != cls:
            continue
        if len(tail) == 2:
            parent = parent_of(el)
            if parent is None or parent.tag != tail[0][0] or class_key(parent) != tail[0][1]:
                continue
        return el
    return None


def apply_rule(record: HtmlElement, field: str, rule: dict):
    node = _by_label(record, rule) if rule.get("label") else resolve(record, rule["path"])
    if node is None and rule.get("tail"):
        node = _by_tail(record, rule["tail"])
    if node is None:
        return None
    if field == "price":
        text = visible_text(node)
        if rule["mode"] == "money":
            money = parse_prices(text)
            if not money:
                return None
            pick = min(rule.get("pick", 0), len(money) - 1)
            return [money[pick]] + [m for i, m in enumerate(money) if i != pick]
        numbers = [n for n in _numbers(text) if n > 0]
        if not numbers:
            return None
        pick = min(rule.get("pick", 0), len(numbers) - 1)
        return [Money(round(numbers[pick], 8), rule["currency"])]
    if field == "url":
        link = node if node.tag == "a" else next(iter(node.iterfind(".//a[@href]")), None)
        if link is None:
            link = next((a for a in node.iterancestors("a")), None)
        return link.get("href") if link is not None and link.get("href") else None
    if field == "quantity" or field == "dead_drop":
        return visible_text(node) or None
    value = _text_value(node, rule)
    if value is None:
        return None
    if field == "ships_from":
        return value if country_code(value) else None
    if field == "ships_to":
        return value if country_codes(value) else None
    return value


def is_item(record: HtmlElement, group: dict) -> bool:
    """The record yields a title and at least half of the fields every labelled item showed."""
    rules = group["fields"]
    if not apply_field(record, "title", rules["title"]):
        return False
    required = group.get("required") or []
    shown = sum(1 for f in required if apply_field(record, f, rules[f]))
    return shown * 2 >= len(required)


def apply_field(record: HtmlElement, field: str, rules: list[dict]):
    for rule in rules:
        value = apply_rule(record, field, rule)
        if value:
            return value
    return None


# ---------------------------------------------------------------- records


def _ancestors_to(node: HtmlElement, stop: HtmlElement | None = None) -> list[HtmlElement]:
    chain = [node]
    for a in node.iterancestors():
        chain.append(a)
        if a is stop:
            break
    return chain


def _record_of(title_node: HtmlElement, others: list[HtmlElement]) -> HtmlElement:
    """The highest ancestor of an item's title that holds no other item's title."""
    other_ids = set()
    for o in others:
        other_ids.update(id(a) for a in _ancestors_to(o))
    record = title_node
    for a in title_node.iterancestors():
        if id(a) in other_ids or a.tag in ("body", "html"):
            break
        record = a
    return record


def _tokens(node: HtmlElement) -> set[str]:
    return set(class_key(node).split())


def alike(a: HtmlElement, b: HtmlElement) -> bool:
    """Same tag and mostly the same classes (items carry per-item tokens: "outofstock", "cat-gifts")."""
    if a.tag != b.tag:
        return False
    ta, tb = _tokens(a), _tokens(b)
    return ta == tb or len(ta & tb) * 2 >= len(ta | tb)


def _alike_siblings(node: HtmlElement) -> list[HtmlElement]:
    parent = parent_of(node)
    if parent is None:
        return []
    return [c for c in children(parent) if c is not node and alike(c, node)]


def _single_record(title_node: HtmlElement, item: dict, texts: dict) -> HtmlElement:
    """With one item labelled: the lowest ancestor of its title that shows its other labelled
    values, then up to the first element with look-alike siblings (the next item's box)."""
    values = {f: v for f, v in _field_values(item).items() if f in ("price", "vendor")}
    cover = title_node
    for a in [title_node, *title_node.iterancestors()]:
        if a.tag in ("body", "html") or parent_of(a) is None:
            break
        cover = a
        if all(locate(a, f, v, texts) for f, v in values.items()):
            break
    for a in [cover, *cover.iterancestors()]:
        if a.tag in ("body", "html") or parent_of(a) is None:
            break
        if a.tag not in _TRANSPARENT and _alike_siblings(a):
            return a
    return cover


def sig_path(node: HtmlElement) -> list[list[str]]:
    chain = [el for el in [node, *node.iterancestors()] if el.tag not in _TRANSPARENT]
    return [[el.tag, class_key(el)] for el in reversed(chain)]


def select_records(root: HtmlElement, selector: dict) -> list[HtmlElement]:
    """Elements whose last ``depth`` ancestors (and themselves) carry the learned tags and classes."""
    suffix = [tuple(s) for s in selector["suffix"]]
    tag, cls = suffix[-1]
    core = set(selector["core"].split()) if "core" in selector else None
    out = []
    for el in root.iter(tag):
        if (class_key(el) != cls) if core is None else not core <= _tokens(el):
            continue
        node, ok = el, True
        for stag, scls in reversed(suffix[:-1]):
            node = parent_of(node)
            if node is None or node.tag != stag or class_key(node) != scls:
                ok = False
                break
        if ok:
            out.append(el)
    # nested matches (a record inside a record) keep the outer one
    ids = {id(e) for e in out}
    return [e for e in out if not any(id(a) in ids for a in e.iterancestors())]


def fingerprint(root: HtmlElement) -> set[str]:
    prints = set()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag not in _SKIP_TAGS and el.tag not in _TRANSPARENT:
            parent = parent_of(el)
            prints.add(f"{parent.tag if parent is not None else ''}>{el.tag}.{class_key(el)}")
    return prints


def similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


# ---------------------------------------------------------------- learning


def _body(doc: Document) -> HtmlElement:
    body = doc.tree.find("body")
    return body if body is not None else doc.tree


def _field_values(item: dict) -> dict:
    values = {}
    for field in ("title", "vendor", "city", "district", "category"):
        if item.get(field):
            values[field] = str(item[field])
    if item.get("prices"):
        values["price"] = list(item["prices"])
    elif item.get("price") is not None and item.get("currency"):
        values["price"] = [{"amount": item["price"], "currency": item["currency"]}]
    if item.get("ships_from"):
        values["ships_from"] = item["ships_from"]
    if item.get("ships_to"):
        values["ships_to"] = list(item["ships_to"]) if isinstance(item["ships_to"], list) else [item["ships_to"]]
    if item.get("dead_drop"):
        values["dead_drop"] = item["dead_drop"]
    if item.get("quantity") is not None:
        try:
            values["quantity"] = float(item["quantity"])
        except (TypeError, ValueError):
            pass
    return values


def _exact_index(scope: HtmlElement, texts: dict) -> dict:
    """Normalised text -> elements showing exactly it, built once per page (titles of a long list
    are then found without scanning the page once per item)."""
    key = ("exact", id(scope))
    index = texts.get(key)
    if index is None:
        index = texts[key] = {}
        for el in _elements(scope):
            text = texts.get(el)
            if text is None:
                text = texts[el] = visible_text(el)
            if text and len(text) <= 1000:
                index.setdefault(norm(text), []).append(el)
    return index


def _title_hits(scope: HtmlElement, title: str, texts: dict) -> list[Hit]:
    exact = _exact_index(scope, texts).get(norm(title))
    if exact:
        hits = _deepest([Hit(el, {"prefix": "", "suffix": ""}, True, len(texts[el])) for el in exact])
        if hits:
            return hits
    hits = locate(scope, "title", title, texts)
    exact = [h for h in hits if h.exact]
    return exact or hits


def _prefer_title(hits: list[Hit]) -> Hit:
    def rank(h: Hit):
        heading = h.node.tag in ("h1", "h2", "h3", "h4", "h5", "h6") or any(
            a.tag in ("h1", "h2", "h3", "h4") for a in h.node.iterancestors())
        named = bool(re.search(r"title|name|product|item", (h.node.get("class") or "") + (h.node.get("id") or ""), re.I))
        return (h.exact, heading, named, -h.length)
    return max(hits, key=rank)


def learn_page(doc: Document, labels: dict, source: str = "", strict: bool = True,
               warnings: list[str] | None = None) -> dict:
    """One layout (a page type's record and field rules) from one labelled page.

    Raises LabelError naming the value when a labelled value is not on the page; with
    ``strict`` off, such items are left out (and said in ``warnings``) instead.
    """
    warnings = warnings if warnings is not None else []
    page_type = labels.get("page_type")
    items = [i for i in labels.get("listings") or [] if isinstance(i, dict) and i.get("title")]
    body = _body(doc)
    texts: dict = {}
    layout: dict = {"page_type": page_type, "fingerprint": sorted(fingerprint(body)), "source": source}
    vendor = labels.get("vendor") or {}
    if isinstance(vendor, dict) and vendor.get("name"):
        hits = locate(body, "vendor", str(vendor["name"]), texts)
        if not hits and strict:
            raise LabelError(f"vendor name {vendor['name']!r} is not on the page {source}".strip())
        if hits:
            best = _prefer_title(hits)
            layout["profile"] = {"name": [_rule_from("vendor", rel_path(body, best.node), [best.info])]}
        else:
            warnings.append(f"vendor name {vendor['name']!r} is not on the page {source}; not learned")
    if not items:
        if page_type in LIST_TYPES or page_type == "listing":
            layout["empty"] = True
        return layout

    title_hits = []
    found_items = []
    for item in items:
        hits = _title_hits(body, item["title"], texts)
        if not hits:
            if strict:
                raise LabelError(f"title {item['title']!r} is not on the page {source}".strip())
            warnings.append(f"title {item['title']!r} is not on the page {source}; item left out")
            continue
        found_items.append(item)
        if item.get("occurrence"):  # the analyst said which of the places it shows the item
            order = {id(el): i for i, el in enumerate(body.iter())}
            hits = sorted(hits, key=lambda h: order.get(id(h.node), 0))
            hits = [hits[min(int(item["occurrence"]), len(hits)) - 1]]
        title_hits.append(hits)
    items = found_items
    if not items:
        raise LabelError(f"no labelled item is on the page {source}".strip())

    if page_type == "listing" and len(items) == 1:
        groups = [([0], [body], [_prefer_title(title_hits[0])], None)]
    else:
        # one title node per item: the candidate whose shape most items share
        shapes = Counter()
        for hits in title_hits:
            shapes.update({_shape_key(h.node) for h in hits})
        chosen, taken = [], set()
        for hits in title_hits:
            # items with the same title (a vendor listing one offer twice) take different nodes
            free = [h for h in hits if id(h.node) not in taken] or hits
            best = max(free, key=lambda h: (shapes[_shape_key(h.node)], h.exact, -h.length))
            taken.add(id(best.node))
            chosen.append(best)
        # items whose titles are built alike form a group (a list; a carousel of offers inside a card)
        by_shape: dict[tuple, list[int]] = {}
        for i, hit in enumerate(chosen):
            by_shape.setdefault(_shape_key(hit.node), []).append(i)
        groups = []
        for members in by_shape.values():
            nodes = [chosen[i].node for i in members]
            if len(nodes) >= 2:
                records = [_record_of(n, nodes[:k] + nodes[k + 1:]) for k, n in enumerate(nodes)]
            else:
                records = [_single_record(nodes[0], items[members[0]], texts)]
            groups.append((members, records, [chosen[i] for i in members],
                           _record_selector(body, records, labels.get("complete", False))))
    layout["groups"] = []
    for members, records, chosen_titles, selector in groups:
        group_items = [items[i] for i in members]
        rules, page_fields = _learn_fields(group_items, records, chosen_titles, body, texts, source,
                                           selector is not None)
        # fields every labelled record shows: a selected box showing too few of them is no item
        # (a header row, a view switch), while a sold-out item missing its price still is one
        required = [f for f in rules if f not in ("title", "quantity", "category") and all(apply_field(r, f, rules[f]) for r in records)]
        layout["groups"].append({"record": selector, "fields": rules, "page_fields": page_fields,
                                 "required": required if selector is not None else [], "items": len(members)})
    layout["counts"] = {"items": len(items)}
    return layout


def _shape_key(node: HtmlElement) -> tuple:
    return tuple(map(tuple, sig_path(node)[-3:]))


FIELDS = ("title", "vendor", "price", "ships_from", "ships_to", "city", "district", "dead_drop", "quantity", "category")


def _learn_fields(items, records, chosen_titles, body, texts, source, in_records: bool) -> tuple[dict, dict]:
    rules: dict[str, list[dict]] = {}
    page_fields: dict[str, list[dict]] = {}
    for field in FIELDS:
        per_item = []
        any_value = False
        for item, record, title_hit in zip(items, records, chosen_titles):
            values = _field_values(item)
            if field not in values:
                per_item.append([])
                continue
            any_value = True
            if field == "title":
                hits = [title_hit] if record is body else _title_hits(record, item["title"], texts)
            else:
                hits = locate(record, field, values[field], texts)
            per_item.append([(rel_path(record, h.node), h) for h in hits])
        if not any_value:
            continue
        found = _vote(field, per_item)
        if found:
            rules[field] = found
        elif field == "title":
            raise LabelError(f"titles are not on the page {source}".strip())
        elif in_records:
            shared = _shared_value(items, field)
            hits = locate(body, field, shared, texts) if shared is not None else []
            if hits:
                best = _prefer_title(hits)
                page_fields[field] = [_rule_from(field, rel_path(body, best.node), [best.info])]
    # the item's own link: from the title node
    if "title" in rules:
        rules["url"] = [{"path": rules["title"][0]["path"]}]
    return rules, page_fields


def _shared_value(items: list[dict], field: str):
    """The value every labelled item that shows the field has in common (the shop's name on a
    vendor page, the city of a city page), or None."""
    values = [_field_values(item).get(field) for item in items]
    values = [v for v in values if v is not None]
    if not values or any(v != values[0] for v in values):
        return None
    return values[0]


def _record_selector(body: HtmlElement, records: list[HtmlElement], complete: bool) -> dict:
    """The shortest tag/class suffix that selects every labelled record and, on a complete page,
    as few others as it can."""
    paths = Counter(tuple(map(tuple, sig_path(r)[:-1])) for r in records)
    best_path = list(paths.most_common(1)[0][0])
    core = set.intersection(*[_tokens(r) for r in records])
    for r in records:
        for sibling in _alike_siblings(r):
            core &= _tokens(sibling)
    tag = Counter(r.tag for r in records).most_common(1)[0][0]
    best_path.append((tag, " ".join(sorted(core))))
    wanted = {id(r) for r in records}
    best = None
    for depth in range(1, len(best_path) + 1):
        selector = {"suffix": [list(s) for s in best_path[-depth:]], "core": " ".join(sorted(core))}
        chosen = select_records(body, selector)
        ids = {id(c) for c in chosen}
        hit = len(wanted & ids)
        extra = len(ids - wanted)
        score = (hit, -extra, -depth)
        if best is None or score > best[0]:
            best = (score, selector)
        if hit == len(wanted) and extra == 0:
            break
    return best[1]


def learn(examples: list[tuple[Document, dict, str]], strict: bool = True) -> dict:
    """A market's layouts from its labelled example pages: one per page type and example.
    Not ``strict``: an example whose labels cannot be placed is left out, said in ``warnings``."""
    layouts, warnings = [], []
    for doc, labels, source in examples:
        try:
            layouts.append(learn_page(doc, labels, source, strict, warnings))
        except LabelError as exc:
            if strict:
                raise
            warnings.append(f"{exc}; example left out")
    return {"format": FORMAT_VERSION, "layouts": layouts, "warnings": warnings}

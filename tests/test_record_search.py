"""The record search's per-page memo (``records._Search``) answers as the plain functions do.

The memo builds each node's text once, keeps ``len(text_content())`` from the same pieces,
reads hover texts from one index of the page and remembers verdicts; these tests hold it to
``record_text``, ``node_text``, ``text_content`` and ``_priced`` on every element of tricky
trees (comments, processing instructions, tails, entities, odd whitespace, hover texts on
the node and below it) and of the bundled sample pages.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from extract.document import parse
from extract.generic import records
from extract.generic.cues import CHROME_TAGS
from extract.generic.records import (
    _NEVER_CHROME, MAX_RECORD_TEXT, Record, _chrome_marks, _priced_text, _Search, _runs, _SKIP, _stable,
    candidate_groups, content_elements,
)
from extract.generic.records import node_text, record_text


# -- the plain computations the memo and the one-walk content search stand in for ------------

def is_chrome(node) -> bool:
    if node.tag in _NEVER_CHROME:
        return False  # page-wide layout classes ("right-sidebar" on <body>) say nothing about content
    if node.tag in CHROME_TAGS or node.get("role") == "navigation":
        return True
    return _chrome_marks(node.get("class"), node.get("id"))


def _priced(record: Record, cache: dict | None = None, texts: dict | None = None) -> bool:
    """A price, and words besides it (a bare amount is a cell of a record, not a record).

    ``cache`` keeps the verdict per record and per text (nested wrappers often show the very
    same text); ``texts`` keeps each node's text."""
    if cache is not None and record in cache:
        return cache[record]
    if sum(len(node.text_content()) for node in record) > 4 * MAX_RECORD_TEXT:
        verdict = False  # a whole column or page, not an item
    else:
        text = record_text(record, texts)
        verdict = cache.get(text) if cache is not None else None
        if verdict is None:
            verdict = _priced_text(text)
            if cache is not None:
                cache[text] = verdict
    if cache is not None:
        cache[record] = verdict
    return verdict

ROOT = Path(__file__).resolve().parents[1]

TRICKY = [
    # comments and processing instructions between texts, with tails; entities; nested hover texts
    "<html><body><div class='card'>Blue <!-- hidden 9 USD --><b>pill</b> tail <?php echo 1; ?>after pi"
    "<span title='5 USD'>5</span><i title=''>x</i> and more &amp; more&nbsp;here</div>"
    "<div class='card' title='Own 7 EUR'>Red<span title='outer'><em title='inner 3 $'>pill</em></span> 8 $</div>"
    "<ul><li>  </li><li>\u2003\u00a0wide\u2028line\x1csep\u3000 12 EUR  Amphetamine</li><li>&#x2003;&unknown; 4 BTC</li></ul>"
    "<dl><dt>Term</dt><dd>Price: 10 USD for good stuff</dd><dt>Other</dt><dd>20 USD a bag</dd></dl>"
    "<h3>One</h3><p>Speed 10 g 30 USD</p><h3>Two</h3><p>Speed 20 g 55 USD</p>"
    "</body></html>",
    # deep wrappers with the same text, empty elements, a text that is only whitespace
    "<html><body><div><div><div><section><article><a href='/i/1'>Item one</a> 15 USD</article></section></div>"
    "</div></div><div><div><p></p><p>\n\t </p><br/>tail text 3 €</div></div></body></html>",
]


def _trees():
    for html in TRICKY:
        yield lxml.html.document_fromstring(html)
    for path in sorted((ROOT / "samples").rglob("*.html")):
        yield parse(path.read_bytes()).tree


def _entity_tree():
    """A tree holding an entity reference node (lxml's HTML parser never makes one)."""
    parser = etree.XMLParser(resolve_entities=False)
    parser.set_element_class_lookup(lxml.html.HtmlElementClassLookup())
    return etree.XML(
        '<!DOCTYPE r [<!ENTITY price "9 USD">]>'
        "<r><div>Green pill &price; <b title='2 EUR'>bold</b> tail</div><div>Plain 5 USD pill</div></r>",
        parser,
    )


def _check_tree(root, backwards: bool = False) -> int:
    """Every element and pair of siblings, read parents first (or children first, through the
    children's remembered texts)."""
    search = _Search(root, {})
    checked = 0
    elements = list(root.iter(etree.Element))
    for element in reversed(elements) if backwards else elements:
        record = (element,)
        assert search.read(element) == (node_text(element), len(element.text_content()))
        assert search.record_text(record) == record_text(record), element
        assert search.texts[element] == node_text(element)
        if search.plain:
            assert "".join(element.itertext()) == element.text_content()
        assert search.priced(record) == _priced(record)
        following = element.getnext()
        if following is not None and isinstance(following.tag, str):
            pair = (element, following)
            assert search.record_text(pair) == record_text(pair)
            assert search.priced(pair) == _priced(pair)
        checked += 1
    return checked


def test_memo_reads_each_node_and_record_as_the_plain_functions():
    assert sum(_check_tree(root) for root in _trees()) > 200
    assert sum(_check_tree(root, backwards=True) for root in _trees()) > 200


def test_memo_on_a_tree_with_an_entity_node_falls_back_to_text_content():
    root = _entity_tree()
    assert next(root.iter(etree.Entity), None) is not None
    search = _Search(root, {})
    assert not search.plain  # itertext() shows "&price;", text_content() the entity's value
    assert _check_tree(root) == 4
    assert _check_tree(root, backwards=True) == 4
    assert "".join(root[0].itertext()) != root[0].text_content()


def test_priced_memo_gives_the_verdict_of_the_text():
    records._priced_memo.cache_clear()
    for text in ("Blue pill 5 USD", "5 USD", "Price: 5 USD Buy", "Blue pill", "Speed 20 g 55 USD"):
        assert records._priced_memo(text) == records._priced_text(text)
        assert records._priced_memo(text) == records._priced_text(text)  # remembered, same verdict


def _stable_classes(node) -> str:
    return _stable(node.get("class") or "")


def _groups_as_before(root, content):
    """candidate_groups as it was written before its speed-up: the reference."""
    groups = []
    spread = defaultdict(list)
    inside = set(content)
    for parent in content:
        children = [c for c in parent if c in inside and c.tag not in _SKIP]
        if len(children) < 2:
            continue
        by_tag = defaultdict(list)
        parent_key = (parent.tag, _stable_classes(parent))
        for child in children:
            by_tag[child.tag].append((child,))
            spread[(child.tag, _stable_classes(child)) + parent_key].append((child,))
        groups.extend(members for members in by_tag.values() if len(members) >= 2)
        runs = _runs(parent, children)
        if len(runs) >= 2:
            groups.append(runs)
    for members in spread.values():
        if len({m[0].getparent() for m in members}) > 1:
            groups.append(members)
    return groups


@pytest.mark.parametrize("index", range(len(TRICKY) + 1))
def test_candidate_groups_are_the_same_groups_in_the_same_order(index):
    grid = "<div class='row'>" + "<div class='col c1'><b>x</b> 1 USD</div>" * 3 + "</div>"
    html = TRICKY[index] if index < len(TRICKY) else f"<html><body>{grid}{grid}<nav><a>1</a><a>2</a></nav></body></html>"
    root = lxml.html.document_fromstring(html)
    content = list(content_elements(root))
    assert candidate_groups(root, content) == _groups_as_before(root, content)
    for path in sorted((ROOT / "samples").rglob("*.html")):
        root = parse(path.read_bytes()).tree
        content = list(content_elements(root))
        assert candidate_groups(root, content) == _groups_as_before(root, content)


def test_content_elements_skip_chrome_subtrees_and_keep_document_order():
    root = lxml.html.document_fromstring(
        "<html><body><div id='main'><p>a</p><div class='sidebar'><p>b</p></div><nav><p>c</p></nav>"
        "<div role='navigation'><p>d</p></div><!-- c --><p>e</p></div></body></html>")
    content = list(content_elements(root))
    expected = [e for e in root.iter(etree.Element)
                if not any(is_chrome(a) for a in [e, *e.iterancestors()])]
    assert content == expected
    assert [e.text for e in content if e.tag == "p"] == ["a", "e"]


def test_currency_hint_finds_a_hint_exactly_where_the_pattern_per_code_did():
    """The pattern tests the word start once for all codes; the one it replaced tested it per
    code, after the code's first letter. Both must find a hint in the same texts."""
    import random
    import re

    from extract.generic.cues import CUES, CURRENCY_HINT

    per_code = re.compile(
        "|".join(re.escape(w) if not w.isalpha()
                 else rf"{re.escape(w[0])}(?<![a-zа-я]{re.escape(w[0])}){re.escape(w[1:])}(?![a-zа-я])"
                 for w in CUES["currency_hint"]),
        re.I,
    )
    # Codes, their letters in both cases, letters that fold onto them (long s, Kelvin sign,
    # Cyrillic variants), digits, separators and signs.
    pieces = CUES["currency_hint"] + [w.upper() for w in CUES["currency_hint"]] + list(
        "usdtebcxmrlkzahUSDTEBCXMRLKZAH рубтенгРУБТЕНГ ſKᲄᲅİı5 .,-_/$€(") + ["\u00a0", "\n"]
    rng = random.Random(10)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(40_000)]
    texts += [path.read_text(encoding="utf-8", errors="replace") for path in sorted((ROOT / "samples").rglob("*.html"))]
    found = 0
    for text in texts:
        assert bool(CURRENCY_HINT.search(text)) == bool(per_code.search(text)), text
        found += bool(per_code.search(text))
    assert 0 < found < len(texts)


def _shape_as_before(node, limit=60):
    """_shape as it was written before its speed-up (it pushed childless elements too)."""
    paths = set()
    stack = [(node, "", 0)]
    while stack and len(paths) < limit:
        element, path, depth = stack.pop()
        for child in element:
            if isinstance(child.tag, str) and child.tag not in _SKIP:
                child_path = f"{path}/{child.tag}"
                paths.add(child_path)
                if depth < 3:
                    stack.append((child, child_path, depth + 1))
    return frozenset(paths)


def test_shape_is_the_same_with_its_cut_at_the_same_place():
    wide = "<div>" + "".join(f"<p><b><i>{i}</i></b><span>x</span><br/></p><h{i % 6 + 1}>t</h{i % 6 + 1}>" for i in range(40)) + "</div>"
    roots = [*_trees(), lxml.html.document_fromstring(f"<html><body>{wide}{wide}</body></html>")]
    shapes = 0
    for root in roots:
        for element in root.iter(etree.Element):
            for limit in (3, 60):
                assert records._shape(element, limit) == _shape_as_before(element, limit)
            shapes += 1
    assert shapes > 200


def _find_records_as_before(root, content):
    """find_records as it was written before its speed-up (plain functions, every set read
    until too few members are left to reach the bar): the reference."""
    from extract.generic.cues import FEEDBACK
    from extract.generic.records import _alike, _in_feedback_box, _key, _linked, _rate_box

    best, best_score, best_depth = [], 1.0, 0
    cache = {}
    for members in sorted(_groups_as_before(root, content), key=len, reverse=True):
        if len(members) < max(2, best_score):
            break
        priced, unpriced, spare = [], 0, len(members) - max(2, best_score)
        for member in members:
            if _priced(member, cache, {}):
                priced.append(member)
            else:
                unpriced += 1
                if unpriced > spare:
                    break
        if len(priced) < max(2, best_score):
            continue
        records, seen = [], set()
        for record in _alike(priced):
            key = _key(record)
            if key not in seen:
                seen.add(key)
                records.append(record)
        if len(records) < 2:
            continue
        score = sum(1.0 if _linked(r) else 0.5 for r in records)
        depth = sum(1 for _ in records[0][0].iterancestors())
        if not (score > best_score or (best and score == best_score and depth < best_depth)):
            continue
        if sum(bool(FEEDBACK.search(" ".join(record_text(r).split()))) for r in records) * 2 >= len(records):
            continue
        if _in_feedback_box(records[0][0]):
            continue
        if sum(map(_rate_box, records)) * 2 >= len(records):
            continue
        best, best_score, best_depth = records, score, depth
    return best


def _layouts():
    """Pages where sets tie, where unlinked sets lose to fewer linked ones, and nested ones."""
    card = "<div class='card'><a href='/i/{i}'>Speed {i} g</a> <span>{p} USD</span></div>"
    bare = "<div class='tier'><b>Tier {i}</b> {p} USD a gram of speed</div>"
    rows = "<tr><td>Hash {i} g</td><td>{p} EUR</td></tr>"
    yield "".join(card.format(i=i, p=10 + i) for i in range(6)) + "<div class='box'>" + "".join(
        bare.format(i=i, p=5 + i) for i in range(12)) + "</div>"
    yield "<div class='box'>" + "".join(bare.format(i=i, p=5 + i) for i in range(6)) + "</div>" + "".join(
        card.format(i=i, p=10 + i) for i in range(3))
    yield "".join(f"<section>{card.format(i=i, p=i + 3)}{card.format(i=i + 50, p=i + 4)}</section>" for i in range(4))
    yield "<table>" + "".join(rows.format(i=i, p=7 + i) for i in range(8)) + "</table>" + "".join(
        card.format(i=i, p=9) for i in range(4))
    yield "".join(f"<div class='row'>{card.format(i=i, p=i)}{card.format(i=i + 1, p=i + 2)}</div>" for i in range(5))


def test_find_records_finds_what_the_plain_search_found():
    roots = [lxml.html.document_fromstring(f"<html><body>{body}</body></html>") for body in _layouts()]
    roots += list(_trees())
    found = 0
    for root in roots:
        content = list(content_elements(root))
        got = records.find_records(root, content, {})
        assert got == _find_records_as_before(root, content)
        found += bool(got)
    assert found >= 6


def test_half_or_more_settles_as_the_full_count_does():
    from itertools import product

    from extract.generic.records import _half_or_more

    for size in range(9):
        for flags in product((False, True, None, "x"), repeat=min(size, 5)):
            flags = list(flags) + [True] * (size - len(flags))
            read = []
            verdict = _half_or_more((read.append(f) or f for f in flags), len(flags))
            assert verdict == (sum(map(bool, flags)) * 2 >= len(flags)), flags
            assert len(read) <= len(flags)


def test_node_text_read_through_remembered_children_is_the_plain_fold():
    """Nodes asked in any order (children before parents, parents before children, wrappers
    walked upwards) with one cache give what a fresh itertext fold gives."""
    import random

    rng = random.Random(7)
    trees = [*_trees(), _entity_tree(), lxml.html.fragment_fromstring(
        "<div> lead <!-- note -->after comment<?pi x?>after pi<b> b<i>i</i> </b>\u00a0tail&amp;<br/>"
        "<span></span><span> </span>end</div>")]
    composed = 0
    for root in trees:
        elements = list(root.iter(etree.Element))
        for order in (elements, elements[::-1], rng.sample(elements, len(elements))):
            cache = {}
            for element in order:
                if len(element) and any(child in cache for child in element):
                    composed += 1
                assert node_text(element, cache) == " ".join(" ".join(element.itertext()).split())
        cache = {}
        for leaf in [e for e in elements if not len(e)][:20]:
            node = leaf
            while node is not None:  # a detail block's walk up the wrappers
                assert record_text((node,), cache) == record_text((node,))
                node = node.getparent()
    assert composed > 100


def _content_as_before(root):
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node.tag, str) or is_chrome(node):
            continue
        yield node
        stack.extend(reversed(node))


def test_content_elements_walk_as_the_stack_walk_did():
    bodies = [
        "<div><nav><p>a</p></nav><!-- c --><p>b</p></div><footer><p>last</p></footer>",  # chrome closes the page
        "<div class='menu'><div class='menu'><p>x</p></div></div><?pi y?><p>after</p>",
        "<main><div><div><div class='sidebar'><p>deep</p></div></div></div><p>out</p></main>",
    ]
    roots = [lxml.html.document_fromstring(f"<html><body>{b}</body></html>") for b in bodies]
    roots += [*_trees(), lxml.html.fromstring("<nav><p>all chrome</p></nav>")]
    for root in roots:
        assert list(content_elements(root)) == list(_content_as_before(root))
    assert list(content_elements(roots[-1])) == []

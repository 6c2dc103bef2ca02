"""record_segments reads a record in one pass that knows each element's parent and build;
it must give exactly the segments of the plain walk it replaced (kept below as the reference),
on awkward trees (comments, processing instructions, tails, icons, nested links, tables,
the segment limit) and on every record of the sample sites."""
from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from lxml.html import HtmlElement

from extract.document import clean_text, parse
from extract.generic.cues import LABEL_ALONE, LABEL_INLINE
from extract.generic.fields import (
    _HEADINGS, _INLINE, Record, Segment, _column_of, _label_alone, record_segments, table_columns,
)
from extract.generic.page import GenericPage

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


# -- the walk as it was (reference) ---------------------------------------------------------

def _button_like(node: HtmlElement) -> bool:
    return node.tag in ("button", "input") or "btn" in (node.get("class") or "") or "button" in (node.get("class") or "")


def plain_record_segments(record: Record, limit: int = 400) -> list[Segment]:
    """The record's text pieces in reading order."""
    out: list[Segment] = []
    columns = table_columns(record)

    def add(text, node, kind, href=None, parent_tag=None):
        text = " ".join(text.split()) if text else ""  # clean_text, without the regular expression
        if text and len(out) < limit:
            parent = node.getparent()
            marks = f"{node.get('class') or ''} {node.get('id') or ''}"
            if parent is not None:
                marks = f"{marks} | {parent.get('class') or ''} {parent.get('id') or ''}"
            out.append(Segment(text, node.tag, parent_tag or (parent.tag if parent is not None else ""), href, kind,
                               marks=marks, column=_column_of(node, columns) if columns else None))

    def walk(node, href=None):
        if not isinstance(node.tag, str):
            return
        parent = node.getparent()
        if node.tag in ("script", "style", "select", "option", "textarea", "nav"):
            if node is not record[-1] and parent is not None:
                add(node.tail, parent, "text", href)
            return
        hover = node.get("title")
        if node.tag == "a":
            href = node.get("href")
        whole = node.tag == "a" or node.tag in _HEADINGS or _button_like(node)
        if whole and any(isinstance(c.tag, str) and c.tag not in _INLINE for c in node.iterdescendants()):
            whole = False  # a link or button round a whole card: read its parts
        if not whole and len(node) and node not in record and all(c.tag == "img" for c in node.iterdescendants()):
            # text broken only by icons ("<img>NEW<img> 1g ..."): one value
            whole = len(node.text_content()) <= 120
        if whole:
            own = clean_text(" ".join(node.itertext()))
            kind = ("link" if node.tag == "a" else "heading" if node.tag in _HEADINGS
                    else "button" if _button_like(node) else "linked" if href else "text")
            if node.tag == "input":
                own = clean_text(node.get("value"))
            add(own, node, kind, href)
            for inner in node.iterfind(".//*[@title]"):
                add(inner.get("title"), inner, "hover", href)
            if hover and clean_text(hover) != own:
                add(hover, node, "hover", href)
        else:
            if hover:
                add(hover, node, "hover", href)
            add(node.text, node, "linked" if href else "text", href)
            for child in node:
                walk(child, href)
        if node is not record[-1] and parent is not None:
            add(node.tail, parent, "text", None if node.tag == "a" else href)

    for node in record:
        walk(node)
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
            inline = next(((name, m) for name, p in LABEL_INLINE.items() if (m := p.match(segment.text))), None)
        if inline:
            name, match = inline
            labelled.append(Segment(segment.text[: match.start("value")], segment.tag, segment.parent_tag, None,
                                    segment.kind, is_label=name))
            segment.text = clean_text(match.group("value"))
            segment.label = name
        elif pending:
            segment.label = pending
        pending = None
        labelled.append(segment)
    return labelled


# -- the comparisons --------------------------------------------------------------------------

def as_rows(segments):
    return [(s.text, s.tag, s.parent_tag, s.href, s.kind, s.label, s.is_label, s.features, s.marks, s.column)
            for s in segments]


TRICKY = """<html><body><div id="top" class="wrap">
<div class="card item-box" id="c1"><!-- a comment --><?pi data?>
  <h3 class="title">Name <b>bold</b> <span>and more</span></h3> tail of heading
  <a href="/item/1" class="btn buy" title="Buy it">Buy <img src="x"> now</a>
  <a href="/vendor/bob"><div class="inner">card <span title="hover inner">part</span></div>after div</a>
  <span class="ico"><img src="a"><img src="b">NEW<img src="c"> 1g</span>
  <span class="ico2"><img src="a">x<b>y</b></span>
  <script>var x = 1;</script>script tail
  <style>p {}</style>
  <nav>menu</nav>nav tail
  <select><option>o</option></select>select tail
  <button class="x">Add to cart</button>
  <input type="submit" value="  Order   now ">
  <input type="text">
  <p title="Ships from">Ships from:</p><p>Germany</p>
  <p>Price: $12.50</p><p>Ships to：World Wide</p>
  <span title="  ">   </span>
  <a>no href <i>inline</i></a><a href="/empty"></a><a href="/c"><!-- only a comment --></a>
  <h4 title="Head hover">Head</h4><h5 title="Same">Same</h5><a href="javascript:void(0)" title="t"> x </a>
  <p>&amp; entity &nbsp; text<br>after br<!-- c -->after comment</p>
</div>tail of card
<div class="card" id="c2"><p>Second</p></div>
</div>
<table><tr><th>Product</th><th colspan="2">Price</th><th>Ships from</th></tr>
<tr class="row"><td><a href="/item/9">Thing</a></td><td>$5</td><td>0.1 BTC</td><td><span>NL</span></td></tr>
<tr class="row"><td>Other</td><td>$6</td></tr></table>
</body></html>"""


def records_of(root):
    """Small subtrees as one-top records, and runs of siblings as many-top records."""
    out = []
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        size = sum(1 for _ in node.iter())
        if size <= 60:
            out.append((node,))
        children = [c for c in node if isinstance(c.tag, str)]
        if 2 <= len(children) <= 6 and size <= 120:
            out.append(tuple(children))
            out.append(tuple(children[:2]))
    return out


@pytest.mark.parametrize("limit", [400, 5, 1])
def test_tricky_tree_as_before(limit):
    root = lxml.html.document_fromstring(TRICKY)
    records = records_of(root) + [(root,), (root.find("body"),)]
    assert len(records) > 40
    for record in records:
        assert as_rows(record_segments(record, limit=limit)) == as_rows(plain_record_segments(record, limit=limit))


def test_table_rows_and_labels_as_before():
    root = lxml.html.document_fromstring(TRICKY)
    rows = [(tr,) for tr in root.iter("tr")][1:]
    segments = record_segments(rows[0])
    assert {s.column for s in segments} >= {"title"}  # the header names the columns
    assert any(s.is_label for s in record_segments((root.get_element_by_id("c1"),)))
    for record in rows:
        assert as_rows(record_segments(record)) == as_rows(plain_record_segments(record))


def test_detached_records_as_before():
    """Tops without a parent or grandparent (a fragment's root)."""
    fragment = lxml.html.fragment_fromstring('<div class="a" id="b"><p class="c">text <b>x</b> tail</p>end</div>')
    for record in [(fragment,), (fragment[0],), tuple(fragment)]:
        assert as_rows(record_segments(record)) == as_rows(plain_record_segments(record))


def test_sample_sites_read_as_before():
    pages = sorted(SAMPLES.rglob("*.html"))
    assert len(pages) > 20
    compared = 0
    for path in pages:
        page = GenericPage(parse(path.read_bytes()))
        records = list(page.records) + records_of(page.root)[:300]
        if page.detail_block is not None:
            records.append((page.detail_block,))
        for record in records:
            assert as_rows(record_segments(record)) == as_rows(plain_record_segments(record)), (path.name, record)
            compared += 1
    assert compared > 1000

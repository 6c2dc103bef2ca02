"""The generic page's shortcuts decide exactly as the plain computations they stand in for."""
from __future__ import annotations

from difflib import SequenceMatcher

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract.generic.page import _Likeness

_TEXT = st.text(alphabet="abcAB é-Ж ж1", max_size=40)


@settings(max_examples=400, deadline=None)
@given(target=_TEXT, text=_TEXT, above=st.floats(min_value=-1.0, max_value=1.0))
def test_likeness_beats_a_bar_exactly_when_difflib_says_so(target, text, above):
    """The title search keeps a text only when its likeness beats the best so far: the upper
    bounds that skip the full comparison never drop a text whose difflib ratio beats the bar."""
    ratio = SequenceMatcher(None, text.casefold(), target.casefold(), autojunk=False).ratio()
    got = _Likeness(target)(text, above)
    assert (got > above) == (ratio > above)
    if ratio > above:
        assert got == ratio


def test_likeness_without_a_bar_is_the_ratio():
    likeness = _Likeness("Fresh Widget 5g | Shop")
    assert likeness("fresh widget 5g") == SequenceMatcher(
        None, "fresh widget 5g", "fresh widget 5g | shop", autojunk=False).ratio()
    assert likeness("nothing alike", 0.9) == 0.0


def test_prepare_reads_its_warm_up_page_in_both_languages_and_freezes_what_it_loaded():
    """``prepare`` loads resources by reading a made-up page: both of its items must come out,
    or the English or Russian resources would still load on the first real page."""
    import gc

    from extract.page import _WARM_UP_PAGE, extract_page, prepare

    result = extract_page(_WARM_UP_PAGE, "warm-up", generic=True)
    got = {(item.title, item.currency, item.city) for item in result.listings}
    assert got == {("Widget powder 1g", "EUR", None), ("Порошок 1 г", "RUB", "Москва")}
    prepare()
    assert gc.get_freeze_count() > 0


def test_visible_text_of_every_node_is_the_folded_itertext():
    """A childless element is read from its own text; every node still reads as the fold of
    its ``itertext`` (comments and processing instructions included, which keep the slow path)."""
    import lxml.html
    from lxml import etree

    from extract.document import clean_text, visible_text

    tree = lxml.html.fromstring(
        "<div> a <b>\n</b><i></i><span>x&amp;y  z</span><br/>tail <p>one<!-- c --> two</p>"
        "<?pi data?><em> \t </em><u>Ж ж</u></div>")
    tree.append(etree.Comment(" note "))
    tree.append(etree.ProcessingInstruction("target", "value"))
    nodes = list(tree.iter())
    assert len(nodes) > 10
    for node in nodes:
        if isinstance(node.tag, str):
            assert visible_text(node) == clean_text(" ".join(node.itertext()))
        else:  # lxml refuses to read a comment's or instruction's text this way: so does visible_text
            with pytest.raises(ValueError):
                visible_text(node)


def test_prepare_never_stops_a_run_when_extraction_is_broken(monkeypatch):
    """A broken resource (a damaged model file, say) must be reported page by page as before,
    not end ``onionwatch extract`` with a traceback before its first page."""
    import extract.page as page

    def broken(*args, **kwargs):
        raise ValueError("field model version 'x', expected 2")

    monkeypatch.setattr(page, "_PREPARED", False)
    monkeypatch.setattr(page, "extract_page", broken)
    page.prepare()
    assert page._PREPARED

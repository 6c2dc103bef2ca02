"""The generic page's shortcuts decide exactly as the plain computations they stand in for."""
from __future__ import annotations

from difflib import SequenceMatcher

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

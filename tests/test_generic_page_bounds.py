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

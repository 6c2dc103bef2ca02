"""The generic extractor's faster field code gives what the plain versions gave.

Link shapes read most targets without ``urlsplit``; the field model scores identical
feature lists once. Both must answer exactly as before, on awkward input too.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import numpy as np
import pytest

from extract.generic.cues import HREF_ITEM, HREF_OTHER, HREF_VENDOR
from extract.generic.fields import _HREF_TOKENS, href_shape
from extract.generic.model import load_model


def plain_href_shape(href):
    """href_shape as written before the fast path: always through urlsplit."""
    if href is None:
        return "none"
    if href.startswith(("javascript:", "#")) or not href.strip():
        return "void"
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


def some_words():
    return sorted(HREF_ITEM)[:3] + sorted(HREF_VENDOR)[:3] + sorted(HREF_OTHER)[:3] + ["page", "x"]


HREFS = [
    None, "", "   ", "#", "#top", "javascript:void(0)",
    "/", "?", "?#", "//host/item/1", "//vendor.example/", "http://vendor.example/item?x=1",
    "HTTP://Item.example/Vendor", "mailto:vendor@example.org", "item:1", "a:b/vendor",
    " /item/3", "\t/item/3", "/ite\tm/3", "/it\nem", "/ite\rm", "\x00/item",
    "/item?vendor=bob#login", "/item#vendor", "?vendor=1&item=2", "item.php?id=3#x",
    "http://", "https://", "http:///item", "http://host", "http://host#vendor", "http://host?item=1",
    "https://Vendor.onion/Item/2?x=shop#listing", "http://ho[st/item", "http://[::1]/item", "http://h]/vendor",
    "http://hö.st/item", "http://host:8080/vendor?x", "http://user:pw@host/item", "http://host\\x/item",
    "HTTP://host/item", "http:/host/item", "http:host/item", "http://host/ite\tm", "https://host/ite\nm#x",
    "../vendor/profile", "./ITEM/Detail", "/ВЕНДОР/item", "/İtem", "/a?b?c#d#e", "/[bad", "//[::1",
]


@pytest.mark.parametrize("href", HREFS + [f"/{a}/{b}?{c}=1#{d}" for a in some_words() for b in some_words()
                                          for c in ("q", some_words()[4]) for d in ("", "item")])
def test_href_shape_matches_urlsplit(href):
    try:
        expected = plain_href_shape(href)
    except ValueError:  # urlsplit refuses a broken host: the fast path must not take such a link
        with pytest.raises(ValueError):
            href_shape.__wrapped__(href)
        return
    assert href_shape.__wrapped__(href) == expected


def test_repeated_feature_lists_score_as_alone():
    model = load_model()
    known = list(model.index)[:200]
    rng = np.random.default_rng(7)
    distinct = [[known[i] for i in rng.choice(len(known), size=k)] + ["unknown feature"] for k in range(1, 30)]
    distinct.append([])
    lists = [distinct[i] for i in rng.integers(0, len(distinct), size=300)]
    together = model.probabilities(lists)
    assert together.shape == (300, len(model.labels))
    assert together.flags.c_contiguous
    for row, features in zip(together, lists):
        alone = model.probabilities([features])[0]
        assert row.tobytes() == alone.tobytes()
    # no repeats: the same figures as the lists scored with the repeats among them
    firsts = {tuple(f): i for i, f in reversed(list(enumerate(lists)))}
    unique = [list(f) for f in firsts]
    assert model.probabilities(unique).tobytes() == together[list(firsts.values())].tobytes()


def test_score_is_bias_then_weights_in_order():
    model = load_model()
    features = list(model.index)[5:25] + ["not a feature"] + list(model.index)[5:8]
    expected = []
    for label in range(len(model.labels)):
        score = 0.0 + model.bias[label]
        for name in features:
            if name in model.index:
                score += model.weights[model.index[name], label]
        expected.append(score)
    expected = np.array(expected)
    expected -= expected.max()
    expected = np.exp(expected)
    expected /= expected.sum()
    got = model.probabilities([features, features, []])
    assert np.allclose(got[0], expected, rtol=1e-12, atol=0)
    assert got[0].tobytes() == got[1].tobytes()

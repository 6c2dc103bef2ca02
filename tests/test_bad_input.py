"""Bad pages give a clear per-page error or null fields, never a crash and never a made-up value."""
from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.page import MAX_PAGE_BYTES, extract_page


def test_binary_junk_is_an_error_page():
    result = extract_page(random.Random(1).randbytes(20000), "junk")
    assert result.page_type == "error" and "binary" in result.error and result.listings == []


def test_empty_page_is_an_error_page():
    assert extract_page(b"   \n", "empty").error == "empty page"


def test_oversized_page_is_refused_without_parsing():
    huge = b"<html><body>" + b"<p>$5 weed</p>" * (MAX_PAGE_BYTES // 14 + 10) + b"</body></html>"
    result = extract_page(huge, "huge")
    assert result.page_type == "error" and "too large" in result.error


def test_cp1251_page_without_charset_is_read_correctly():
    page = ("<html><head><title>Мефедрон — купить</title></head><body><h1>Мефедрон кристаллы 1 г</h1>"
            "<table><tr><td>Цена</td><td>2 500 руб</td></tr></table><button>Купить</button></body></html>")
    result = extract_page(page.encode("cp1251"), "cp1251")
    (listing,) = result.listings
    assert listing.title == "Мефедрон кристаллы 1 г" and listing.drug == "mephedrone"
    assert (listing.price, listing.currency) == (2500, "RUB")


def test_mojibake_title_stays_as_shown_and_nothing_is_invented():
    page = "<html><head><title>x</title></head><body><h1>ÐœÐµÑ„ÐµÐ´Ñ€Ð¾Ð½</h1><p>no price here</p></body></html>"
    result = extract_page(page.encode("utf-8"), "mojibake")
    assert result.page_type == "other" and result.listings == []


def test_nonsense_prices_give_null_not_a_number():
    for shown in ("0 $", "-5 $", "1e309 $", "$ NaN"):
        page = f"<html><head><title>Weed 1g</title></head><body><h1>Weed 1g</h1><p>Price: {shown}</p>" \
               "<button>Buy</button></body></html>"
        result = extract_page(page.encode(), shown)
        assert all(listing.price is None and listing.price_usd is None for listing in result.listings), shown


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_result_never_an_exception(raw):
    result = extract_page(raw, "fuzz")
    assert result.page_type in ("listing", "category", "vendor", "captcha", "login", "error", "other")
    assert (result.page_type == "error") == (result.error is not None)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=2000))
def test_any_markup_text_gives_a_result(text):
    page = f"<html><body><div class='card'>{text}</div><div class='card'>{text}</div></body></html>"
    extract_page(page.encode("utf-8", "surrogatepass"), "fuzz")

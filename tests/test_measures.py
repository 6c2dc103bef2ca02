"""Price and quantity parsers: examples from real listings, and properties that must always hold."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extract.measures import Money, Quantity, find_prices, is_rate_expression, parse_number, parse_prices, parse_quantity


@pytest.mark.parametrize("text, expected", [
    ("$120", [Money(120.0, "USD")]),
    ("0.0021 BTC", [Money(0.0021, "BTC")]),
    ("12 000 тенге", [Money(12000.0, "KZT")]),
    ("1 500 ₽", [Money(1500.0, "RUB")]),
    ("€30", [Money(30.0, "EUR")]),
    ("USD 245.00 / ฿0.00381323", [Money(245.0, "USD"), Money(0.00381323, "BTC")]),
    ("level 3 $60.00", [Money(60.0, "USD")]),
    ("From: 10 $", [Money(10.0, "USD")]),
    ("$1,234.56", [Money(1234.56, "USD")]),
    ("0 $", []), ("-5 $", []), ("1e309 $", []), ("no price here", []),
])
def test_prices(text, expected):
    assert parse_prices(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Cocaine 3.5g", Quantity(3.5, "g")),
    ("1 oz", Quantity(28.35, "g")),
    ("100 x 2mg", Quantity(100, "unit")),
    ("10 tabs", Quantity(10, "unit")),
    ("0,5 г", Quantity(0.5, "g")),
    ("2 kg", Quantity(2, "kg")),
    ("Tramadol 100mg x 30 tabs", Quantity(30, "unit")),
    ("Xanax 2mg", None),       # a dose, not an amount
    ("1g - 5g", None),          # two amounts: ambiguous
    ("0g", None),
])
def test_quantities(text, expected):
    assert parse_quantity(text) == expected


@given(st.floats(min_value=0.01, max_value=999_999, allow_nan=False).map(lambda x: round(x, 2)),
       st.sampled_from(["$", "€", "₽", "₸", "USD", "BTC"]), st.booleans())
def test_formatted_prices_read_back(amount, symbol, symbol_first):
    written = f"{symbol}{amount:,.2f}" if symbol_first else f"{amount:,.2f} {symbol}"
    (money,) = parse_prices(written)
    assert money.amount == pytest.approx(amount)


@given(st.text(max_size=200))
def test_prices_from_any_text_are_positive_and_finite(text):
    for money in parse_prices(text):
        assert math.isfinite(money.amount) and 0 < money.amount <= 1e9
        assert money.currency.isupper()


@given(st.text(max_size=200))
def test_quantities_from_any_text_are_positive_with_a_contract_unit(text):
    quantity = parse_quantity(text)
    if quantity is not None:
        assert quantity.amount > 0 and math.isfinite(quantity.amount)
        assert quantity.unit in ("g", "kg", "ml", "l", "unit")


@given(st.integers(min_value=1, max_value=10**8))
def test_space_grouped_thousands(value):
    assert parse_number(f"{value:,}".replace(",", " ")) == value


@pytest.mark.parametrize("text, expected", [
    ("1 500 ₽", [(1500.0, "RUB")]),
    ("₸ 12 000", [(12000.0, "KZT")]),
    ("12\u00a0000 тенге", [(12000.0, "KZT")]),
    ("12 000 тг", [(12000.0, "KZT")]),
    ("1 200 ₴", [(1200.0, "UAH")]),
    ("1200 грн.", [(1200.0, "UAH")]),
    ("35 Br", [(35.0, "BYN")]),
    ("1.234,56 €", [(1234.56, "EUR")]),
    ("1,234.56 $", [(1234.56, "USD")]),
    ("€ 12,50", [(12.5, "EUR")]),
    ("£9.99", [(9.99, "GBP")]),
    ("฿0.0021", [(0.0021, "BTC")]),
    ("0,0021 BTC", [(0.0021, "BTC")]),
    ("0.012 XMR", [(0.012, "XMR")]),
    ("1500 руб", [(1500.0, "RUB")]), ("1500 р.", [(1500.0, "RUB")]), ("1500р", [(1500.0, "RUB")]),
    ("25 USDT", [(25.0, "USDT")]), ("USDT 25", [(25.0, "USDT")]),
    ("Цена: 1500 ₽ 15 $", [(1500.0, "RUB"), (15.0, "USD")]),       # the ₽ between two numbers is the first's
    ("3 000 ₽ | 1 200 ₴ | 35 Br", [(3000.0, "RUB"), (1200.0, "UAH"), (35.0, "BYN")]),
    ("1 200 ₴ 3 000 ₽", [(1200.0, "UAH"), (3000.0, "RUB")]),
    ("1 500 ₽ / 0.00041 BTC", [(1500.0, "RUB"), (0.00041, "BTC")]),
    ("4 oz @ 131.25 USD/oz", [(131.25, "USD")]),                   # a unit price, not a currency pair
    ("1 BTC = 3 500 000 ₽ Цена: 1500 ₽", [(1500.0, "RUB")]),       # the rate is not a price
    ("$0.0.0…5", []), ("$1.2.3", []), ("1,,2 €", []),             # garbage: no price, never "5"
    ("рубашка 1500", []),
    ("Views : 1459 XMR : No / LTC : No Sale Price : 4.00 USD", [(4.0, "USD")]),   # "XMR :" is a label                                          # "руб" inside a word is no currency
])
def test_amount_currency_pairs(text, expected):
    assert [(m.amount, m.currency) for m in find_prices(text)] == expected


def test_spans_cover_the_number_and_its_sign():
    text = "Мефедрон 1г — 3 500 ₽, доставка 0.0004 BTC"
    spans = [text[m.start:m.end] for m in find_prices(text)]
    assert spans == ["3 500 ₽", "0.0004 BTC"]
    other = "Price: $ 12.50 each"
    assert [other[m.start:m.end] for m in find_prices(other)] == ["$ 12.50"]


@pytest.mark.parametrize("text, is_rate", [
    ("1 BTC = 3 500 000 ₽", True),
    ("Курс: 1 USDT = 92 руб", True),
    ("Курс BTC: 3 500 000 ₽", True),
    ("1 BTC ≈ 9439 USD", True),
    ("BTC/USD 9439.54", True),
    ("1 XMR = 150 $", True),
    ("Цена: 1500 ₽", False),
    ("1 BTC = 3 500 000 ₽ Цена: 1500 ₽", False),                   # a rate and a price: an item
    ("Мефедрон 1г", False),
    ("", False),
])
def test_rate_expressions(text, is_rate):
    assert is_rate_expression(text) is is_rate


_SUFFIX_SIGNS = {"₽": "RUB", "руб": "RUB", "р.": "RUB", "₸": "KZT", "тенге": "KZT", "тг": "KZT", "₴": "UAH",
                 "грн": "UAH", "Br": "BYN", "€": "EUR", "$": "USD", "USDT": "USDT", "BTC": "BTC", "XMR": "XMR"}
_PREFIX_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "฿": "BTC", "₸": "KZT", "USD": "USD", "USDT": "USDT"}


def _written(amount: float, style: str) -> str:
    text = f"{amount:,.2f}"
    if style == "space":
        return text.replace(",", " ")
    if style == "nbsp":
        return text.replace(",", "\u00a0")
    if style == "european":
        return text.replace(",", "#").replace(".", ",").replace("#", ".")
    return text


@given(st.integers(min_value=1, max_value=99_999_999).map(lambda cents: cents / 100),
       st.sampled_from(sorted(_SUFFIX_SIGNS)), st.sampled_from(["plain", "space", "nbsp", "european"]),
       st.sampled_from(["", " ", "\u00a0"]))
def test_any_amount_with_a_sign_after_reads_back(amount, sign, style, gap):
    (match,) = find_prices(f"Цена: {_written(amount, style)}{gap}{sign}")
    assert (match.amount, match.currency) == (pytest.approx(amount), _SUFFIX_SIGNS[sign])


@given(st.integers(min_value=1, max_value=99_999_999).map(lambda cents: cents / 100),
       st.sampled_from(sorted(_PREFIX_SIGNS)), st.sampled_from(["plain", "space", "european"]), st.sampled_from(["", " "]))
def test_any_amount_with_a_sign_before_reads_back(amount, sign, style, gap):
    (match,) = find_prices(f"Price {sign}{gap}{_written(amount, style)}")
    assert (match.amount, match.currency) == (pytest.approx(amount), _PREFIX_SIGNS[sign])


@given(st.integers(min_value=1, max_value=10**7), st.integers(min_value=1, max_value=10**6),
       st.sampled_from(["₽", "₴", "₸", "руб", "грн"]), st.sampled_from(["BTC", "XMR", "USDT", "$"]))
def test_a_card_with_two_currencies_gives_both_in_order(fiat, crypto_units, fiat_sign, other):
    crypto = crypto_units / 10**4
    found = find_prices(f"{fiat:,} {fiat_sign} {crypto} {other}".replace(",", " "))
    assert [m.currency for m in found] == [_SUFFIX_SIGNS[fiat_sign], _SUFFIX_SIGNS[other]]
    assert [m.amount for m in found] == [fiat, pytest.approx(crypto)]


@given(st.lists(st.integers(min_value=0, max_value=99), min_size=3, max_size=6), st.sampled_from(["$", "€", "₽"]),
       st.integers(min_value=1, max_value=9))
def test_dotted_garbage_is_no_price(groups, sign, tail):
    garbage = ".".join(str(g) for g in groups)
    assert find_prices(f"{sign}{garbage}…{tail}") == []


@given(st.text(max_size=120), st.integers(min_value=1, max_value=10**6))
def test_rouble_and_hryvnia_signs_are_never_read_as_another_currency(noise, amount):
    for sign, code in (("₽", "RUB"), ("₴", "UAH")):
        text = f"{noise} {amount} {sign}"
        for match in find_prices(text):
            if sign in text[match.start:match.end]:
                assert match.currency == code


@given(st.text(max_size=200))
def test_spans_are_inside_the_text_and_hold_the_amount(text):
    for match in find_prices(text):
        assert 0 <= match.start < match.end <= len(text)
        assert any(c.isdigit() for c in text[match.start:match.end])

"""Price and quantity parsers: examples from real listings, and properties that must always hold."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extract.measures import Money, Quantity, parse_number, parse_prices, parse_quantity


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

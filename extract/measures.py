"""Prices and quantities as markets print them, parsed into numbers with units.

Both parsers return nothing rather than a guess: a price of 0, a negative or
non-finite amount, or a title that states two different amounts yields None.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Fiat upper bound: anything above is a typo or a placeholder, not a price.
MAX_AMOUNT = 1e9

CRYPTO_CODES = frozenset({"BTC", "XMR", "LTC", "ETH", "USDT", "BCH", "DASH", "ZEC", "TRX"})

_SYMBOLS = {
    "$": "USD", "us$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR", "£": "GBP", "gbp": "GBP",
    "₽": "RUB", "руб": "RUB", "руб.": "RUB", "р.": "RUB", "р": "RUB", "rub": "RUB", "rur": "RUB",
    "₸": "KZT", "тг": "KZT", "тг.": "KZT", "тенге": "KZT", "kzt": "KZT",
    "сом": "KGS", "kgs": "KGS", "сомони": "TJS", "tjs": "TJS", "сум": "UZS", "uzs": "UZS",
    "cad": "CAD", "aud": "AUD", "chf": "CHF",
    "฿": "BTC", "btc": "BTC", "xbt": "BTC", "xmr": "XMR", "ltc": "LTC", "eth": "ETH",
    "usdt": "USDT", "bch": "BCH", "dash": "DASH", "zec": "ZEC", "trx": "TRX",
}
_SYMBOL_ALT = "|".join(sorted((re.escape(s) for s in _SYMBOLS), key=len, reverse=True))
# Digits with optional thousands groups (space, nbsp, thin space, comma, dot) and decimals.
# Exchange rates are not prices: "BTC/USD 9439.54" and "1 BTC = 9439 USD" are skipped.
_NUMBER = r"\d{1,3}(?:[\u00a0\u202f\u2009 ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)*"
_NUMBER_RE = re.compile(_NUMBER)
# A symbol right before a number ("$120", "USD 245"), not the end of a word or of a pair ("BTC/USD").
_SYMBOL_BEFORE = re.compile(rf"(?<![\-−/\w])({_SYMBOL_ALT})\s?$", re.IGNORECASE)
# A symbol right after a number ("120 $", "0.0021 BTC"), not a label ("XMR :") or the start of another number.
_SYMBOL_AFTER = re.compile(rf"\s?({_SYMBOL_ALT})(?![a-zа-я])(?!\s?\d)(?!\s*:)", re.IGNORECASE)
_NOT_BEFORE_AMOUNT = frozenset("-−.,")
_RATE_EXPRESSION = re.compile(
    rf"(?<![\d.,])1\s?(?:{_SYMBOL_ALT})\s*[=≈]\s*(?:{_SYMBOL_ALT})?\s?(?:{_NUMBER})\s?(?:{_SYMBOL_ALT})?(?![a-zа-я])"
    rf"|(?<![\w/])(?:{_SYMBOL_ALT})\s?/\s?(?:{_SYMBOL_ALT})\s*[:=]?\s*(?:{_NUMBER})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Money:
    amount: float
    currency: str

    def as_dict(self) -> dict:
        return {"amount": self.amount, "currency": self.currency}


def _thousands_groups(groups: list[str]) -> bool:
    """``1.500.000`` groups: a leading 1-3 digits (not a lone 0), then groups of exactly three."""
    head = groups[0]
    return 1 <= len(head) <= 3 and not head.startswith("0") and all(len(g) == 3 for g in groups[1:])


def parse_number(text: str) -> float | None:
    """Read a number written with any common thousands/decimal convention.

    ``1,234.56`` ``1 234,56`` ``12 000`` ``0,5`` ``1.500.000`` -> float; None when unreadable.
    """
    cleaned = re.sub(r"[\s\u00a0\u202f\u2009]", "", text).strip(".,")
    if not cleaned or not re.fullmatch(r"[\d.,]+", cleaned):
        return None
    if "," in cleaned and "." in cleaned:
        decimal = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        cleaned = cleaned.replace(thousands, "").replace(decimal, ".")
    elif "," in cleaned:
        groups = cleaned.split(",")
        if len(groups) > 2 and not _thousands_groups(groups):
            return None  # "0,0,0,5" is no number, and certainly not 5
        is_thousands = len(groups) > 2 or (len(groups[1]) == 3 and groups[0] not in ("", "0"))
        cleaned = cleaned.replace(",", "") if is_thousands else cleaned.replace(",", ".")
    elif cleaned.count(".") > 1:
        if not _thousands_groups(cleaned.split(".")):
            return None  # "$0.0.0.5" is no number, and certainly not 5
        cleaned = cleaned.replace(".", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def valid_amount(value: float | None) -> float | None:
    if value is None or not math.isfinite(value) or value <= 0 or value > MAX_AMOUNT:
        return None
    return value


def currency_code(symbol: str) -> str | None:
    return _SYMBOLS.get(symbol.strip().lower())


def parse_prices(text: str) -> list[Money]:
    """Every price in ``text``, in order: ``$120``, ``0.0021 BTC``, ``12 000 тенге``, ``€30``."""
    if not any(c.isdigit() for c in text):
        return []
    if "=" in text or "≈" in text or "/" in text:
        text = _RATE_EXPRESSION.sub(" ", text)
    found = []
    for number in _NUMBER_RE.finditer(text):
        start, end = number.span()
        before = text[start - 1] if start else " "
        if before.isdigit() or before in _NOT_BEFORE_AMOUNT:
            continue
        after = _SYMBOL_AFTER.match(text, end)
        symbol = after.group(1) if after and not before.isalnum() else None
        if symbol is None:
            preceding = _SYMBOL_BEFORE.search(text[max(0, start - 10):start])
            symbol = preceding.group(1) if preceding else None
        code = currency_code(symbol) if symbol else None
        amount = valid_amount(parse_number(number.group()))
        if code and amount is not None:
            found.append(Money(round(amount, 8), code))
    return found


@dataclass(frozen=True)
class Quantity:
    amount: float
    unit: str  # g, kg, ml, l or unit, as the contract names them

    @property
    def base(self) -> tuple[float, str]:
        """The amount in base units (g, ml, unit), for price per gram."""
        if self.unit == "kg":
            return self.amount * 1000, "g"
        if self.unit == "l":
            return self.amount * 1000, "ml"
        return self.amount, self.unit


_UNITS = {
    "g": "g", "gr": "g", "grs": "g", "gram": "g", "grams": "g", "gramm": "g", "gramms": "g",
    "г": "g", "гр": "g", "грамм": "g", "грамма": "g", "граммов": "g",
    "kg": "kg", "kilo": "kg", "kilos": "kg", "кг": "kg",
    "mg": "mg", "мг": "mg", "ug": "ug", "µg": "ug", "μg": "ug", "mcg": "ug", "мкг": "ug",
    "ml": "ml", "мл": "ml", "l": "l", "litre": "l", "liter": "l", "литр": "l",
    "oz": "oz", "ounce": "oz", "ounces": "oz", "lb": "lb", "lbs": "lb", "pound": "lb",
    "tab": "unit", "tabs": "unit", "tablet": "unit", "tablets": "unit", "pill": "unit",
    "pills": "unit", "cap": "unit", "caps": "unit", "capsule": "unit", "capsules": "unit",
    "blotter": "unit", "blotters": "unit", "pcs": "unit", "pc": "unit", "piece": "unit",
    "pieces": "unit", "units": "unit", "bars": "unit", "vials": "unit", "amps": "unit",
    "шт": "unit", "штук": "unit", "таб": "unit", "табл": "unit", "марок": "unit", "марки": "unit",
}
# Looked up case-folded: "µ" (micro sign) folds to "μ" (Greek mu), "G" to "g".
_UNITS = {unit.casefold(): kind for unit, kind in _UNITS.items()}
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_QTY_RE = re.compile(
    rf"(?<![\w.,])(?P<num>\d+(?:[.,]\d+)?)\s?(?P<unit>{_UNIT_ALT})(?![\w])", re.IGNORECASE
)
# "100 x 2mg", "10x", "x10" : a count of pieces
_COUNT_RE = re.compile(r"(?<![\w.,])(?:(?P<a>\d+)\s?[xх×]\s?(?=\d|[a-zа-я])|[xх×]\s?(?P<b>\d+)(?![\w.,]))", re.IGNORECASE)
_OZ_G = 28.3495
_LB_G = 453.592


def parse_quantity(text: str) -> Quantity | None:
    """The single amount a title offers (``3.5g``, ``1 oz``, ``100 x 2mg``, ``10 tabs``, ``0,5 г``).

    A dose strength (``2mg``) is not an amount on its own; a title naming two
    different amounts (``1g - 5g``) is ambiguous and yields None.
    """
    amounts: set[tuple[float, str]] = {
        (float(m.group("a") or m.group("b")), "unit") for m in _COUNT_RE.finditer(text)
    }
    amounts.discard((0.0, "unit"))
    for match in _QTY_RE.finditer(text):
        value = valid_amount(parse_number(match.group("num")))
        if value is None:
            continue
        unit = _UNITS[match.group("unit").casefold()]
        if unit in ("mg", "ug"):
            continue  # dose strength, not the amount sold
        if unit == "oz":
            value, unit = round(value * _OZ_G, 2), "g"
        elif unit == "lb":
            value, unit = round(value * _LB_G, 1), "g"
        amounts.add((value, unit))
    if len(amounts) == 1:
        value, unit = amounts.pop()
        return Quantity(value, unit)
    return None

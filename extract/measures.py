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

# Currency signs, codes and words as shops print them, looked up lower-cased. "฿" and "₿" are
# bitcoin on these markets (never the Thai baht); "₽" is only ever RUB and "₴" only UAH.
_SYMBOLS = {
    "$": "USD", "us$": "USD", "usd": "USD", "dollars": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP",
    "₽": "RUB", "руб": "RUB", "руб.": "RUB", "рублей": "RUB", "р.": "RUB", "р": "RUB", "rub": "RUB", "rur": "RUB",
    "₸": "KZT", "тг": "KZT", "тг.": "KZT", "тенге": "KZT", "kzt": "KZT",
    "₴": "UAH", "грн": "UAH", "грн.": "UAH", "uah": "UAH",
    "br": "BYN", "byn": "BYN",
    "сом": "KGS", "kgs": "KGS", "сомони": "TJS", "tjs": "TJS", "сум": "UZS", "uzs": "UZS",
    "cad": "CAD", "aud": "AUD", "chf": "CHF",
    "฿": "BTC", "₿": "BTC", "btc": "BTC", "xbt": "BTC", "xmr": "XMR", "ltc": "LTC", "eth": "ETH",
    "usdt": "USDT", "bch": "BCH", "dash": "DASH", "zec": "ZEC", "trx": "TRX",
}
_SYMBOL_ALT = "|".join(sorted((re.escape(s) for s in _SYMBOLS), key=len, reverse=True))
_LETTER = r"a-zа-яё"
# Candidate currency tokens: whole words (so "руб" is not read inside "рубашка"), "us$", and signs;
# a word counts when _SYMBOLS knows it, with or without its trailing dot ("руб.", "р.").
_CURRENCY_CANDIDATE = re.compile(rf"[{_LETTER}]+\$?\.?|[$€£₽₸₴฿₿]", re.IGNORECASE)
_RATE_OPERATOR = re.compile(r"[=≈/]")
_RATE_LABEL = re.compile(r"(?<![a-zа-яё])(?:курс|rate)(?![a-zа-яё])", re.IGNORECASE)
# Digits with optional thousands groups (space, nbsp, thin space, comma, dot) and decimals.
_NUMBER = r"\d{1,3}(?:[\u00a0\u202f\u2009 ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)*"
_NUMBER_RE = re.compile(_NUMBER)
_DIGIT = re.compile(r"\d")
# "/USD" right after a currency makes it a pair (BTC/USD); "USD/Ounce" is a unit price.
_PAIR_AFTER = re.compile(rf"\s?/\s?(?:{_SYMBOL_ALT})(?![{_LETTER}])", re.IGNORECASE)
# "Views: 1459 XMR : No": a currency followed by a colon labels what comes next.
_LABEL_AFTER = re.compile(r"\s*:")
# A number right after one of these is a fragment ("-5", "0.0.0…5", "1.5"), not an amount.
_NOT_BEFORE_AMOUNT = frozenset("-−.,…")
# The page's exchange rate: "1 BTC = 3 500 000 ₽", "BTC/USD 9439.54", "Курс BTC: 3 500 000 ₽".
_RATE_EXPRESSION = re.compile(
    rf"(?<![\d.,])(?:1\s?)?(?:{_SYMBOL_ALT})\s*[=≈]\s*(?:{_SYMBOL_ALT})?\s?(?:{_NUMBER})\s?(?:{_SYMBOL_ALT})?(?![{_LETTER}])"
    rf"|(?<![\w/])(?:{_SYMBOL_ALT})\s?/\s?(?:{_SYMBOL_ALT})\s*[:=]?\s*(?:{_NUMBER})"
    rf"|(?:курс|exchange\s+rate|rate)\s*(?:{_SYMBOL_ALT})?\s*[:=]\s*(?:{_SYMBOL_ALT})?\s?(?:{_NUMBER})"
    rf"(?!\s?(?:{_SYMBOL_ALT})\s*[=≈])\s?(?:{_SYMBOL_ALT})?(?![{_LETTER}])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Money:
    amount: float
    currency: str

    def as_dict(self) -> dict:
        return {"amount": self.amount, "currency": self.currency}


@dataclass(frozen=True)
class PriceMatch:
    """An amount and its currency as found in a text, with the span both cover."""
    amount: float
    currency: str
    start: int
    end: int

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


def _groups_ok(groups: list[str]) -> bool:
    """Thousands groups: 1 to 3 digits, then groups of exactly 3 ("1.500.000", not "0.0.0")."""
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


def parse_number(text: str) -> float | None:
    """Read a number written with any common thousands/decimal convention.

    ``1,234.56`` ``1 234,56`` ``12 000`` ``0,5`` ``1.500.000`` -> float; None when unreadable,
    including separators that group nothing (``0.0.0``, ``1.2.3``, ``1,,2``).
    """
    cleaned = re.sub(r"[\s\u00a0\u202f\u2009]", "", text).strip(".,")
    if not cleaned or not re.fullmatch(r"[\d.,]+", cleaned):
        return None
    if "," in cleaned and "." in cleaned:
        decimal = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        whole, _, fraction = cleaned.rpartition(decimal)
        if thousands not in whole or not fraction or not _groups_ok(whole.split(thousands)):
            return None
        cleaned = whole.replace(thousands, "") + "." + fraction
    elif "," in cleaned:
        groups = cleaned.split(",")
        if len(groups) > 2:
            if not _groups_ok(groups):
                return None
            cleaned = cleaned.replace(",", "")
        else:
            is_thousands = len(groups[1]) == 3 and groups[0] not in ("", "0")
            cleaned = cleaned.replace(",", "") if is_thousands else cleaned.replace(",", ".")
    elif cleaned.count(".") > 1:
        groups = cleaned.split(".")
        if not _groups_ok(groups) or groups[0] == "0":
            return None
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


# Where a rate expression can start: its label word, or a few characters (at most "1 " and the
# longest currency word, whitespace aside) before its "=", "≈" or "/".
_RATE_LABEL_START = re.compile(r"курс|exchange|rate", re.IGNORECASE)
_LONGEST_SYMBOL = max(map(len, _SYMBOLS))


def _rate_starts(text: str) -> list[int]:
    """Every position where ``_RATE_EXPRESSION`` may match, in order (a superset, cheap to find).

    Each branch of the expression starts with a label word, or with an optional "1" and a
    currency followed by whitespace and its sign; so a match starts at a label word or within
    ``_LONGEST_SYMBOL + 1`` non-space characters before a sign."""
    starts = {m.start() for m in _RATE_LABEL_START.finditer(text)}
    for sign in _RATE_OPERATOR.finditer(text):
        position, solid = sign.start(), 0
        while position > 0 and solid <= _LONGEST_SYMBOL + 1:
            position -= 1
            if not text[position].isspace():
                solid += 1
            starts.add(position)
    return sorted(starts)


def _mask_rates(text: str) -> tuple[str, int]:
    """``_RATE_EXPRESSION.subn`` with blanks of the same length, trying only where a rate may start.

    The same leftmost, non-overlapping matches as a scan of every position (matches cannot start
    anywhere else), without running the long alternation at every character of a long text."""
    pieces, last, count = [], 0, 0
    for start in _rate_starts(text):
        if start < last:
            continue
        match = _RATE_EXPRESSION.match(text, start)
        if match is None or match.end() == start:
            continue
        pieces.append(text[last:start])
        pieces.append(" " * (match.end() - start))
        last = match.end()
        count += 1
    if not count:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), count


def is_rate_expression(text: str) -> bool:
    """True when the text states an exchange rate and no price besides it.

    ``1 BTC = 3 500 000 ₽``, ``Курс: 1 USDT = 92 руб``, ``BTC/USD 9439.54`` are rates: a page
    prints them in its header, and they are never an item's price.
    """
    masked, count = _mask_rates(text)
    return count > 0 and not find_prices(masked)


def _currency_from(text: str, position: int) -> tuple[int, int, str] | None:
    """The currency sign, code or word starting at ``position`` (a whole word: "руб", not "рубашка")."""
    if position >= len(text) or (position and text[position - 1].isalpha()):
        return None
    match = _CURRENCY_CANDIDATE.match(text, position)
    if match is None:
        return None
    word = match.group()
    if word.lower() in _SYMBOLS:
        return position, match.end(), word
    if word.endswith(".") and word[:-1].lower() in _SYMBOLS:
        return position, match.end() - 1, word[:-1]
    return None


def _currency_until(text: str, position: int) -> tuple[int, int, str] | None:
    """The currency sign, code or word ending at ``position``."""
    if position <= 0 or position > len(text):
        return None
    start = position - 1 if text[position - 1] == "." else position
    if start and text[start - 1] in "$€£₽₸₴฿₿":
        start -= 1
    while start and text[start - 1].isalpha():
        start -= 1
    token = _currency_from(text, start)
    return token if token and token[1] in (position, position - 1) and text[token[1]:position] in ("", ".") else None


def _spaced(text: str, position: int, step: int) -> int:
    """``position`` moved over one space, forwards (step 1) or backwards (step -1), if there is one."""
    probe = position if step > 0 else position - 1
    return position + step if 0 <= probe < len(text) and text[probe].isspace() else position


def _may_hold_a_rate(text: str) -> bool:
    """A cheap test before the rate expression: a currency beside "=" or "≈", a pair of
    currencies either side of "/" (BTC/USD; "4.00 USD / 0.0004 BTC" is two prices), or a rate label."""
    for operator in _RATE_OPERATOR.finditer(text):
        at = operator.start()
        left = _currency_until(text, _spaced(text, at, -1))
        right = _currency_from(text, _spaced(text, at + 1, 1))
        if (left and right) if operator.group() == "/" else (left or right):
            return True
    return _RATE_LABEL.search(text) is not None


def find_prices(text: str) -> list[PriceMatch]:
    """Every (amount, currency) pair in ``text``, in order, with its span.

    A currency sign or word may stand after its number (``1 500 ₽``, ``0.0021 BTC``,
    ``12 000 тенге``) or before it (``$120``, ``€ 12,50``, ``USD 245``). A sign between two
    numbers belongs to the first unless the second has no sign of its own after it
    (``1500 ₽ 15 $`` is two prices; ``USD 245 / ฿0.0038`` too). Exchange rates are skipped,
    and so are fragments and garbage (``0.0.0…5``): no price rather than a wrong one.
    """
    return list(scan_prices(text))


def has_price(text: str) -> bool:
    """``bool(find_prices(text))``, stopping at the first price (the rest of a long text is not read)."""
    return next(scan_prices(text), None) is not None


def scan_prices(text: str):
    """The prices of ``find_prices``, one at a time: each number's neighbours are read when its turn comes."""
    if not _DIGIT.search(text):
        return
    if _may_hold_a_rate(text):
        text = _mask_rates(text)[0]
    # Numbers are read as far as the scan needs (a price check stops at the first price).
    found_numbers = _NUMBER_RE.finditer(text)
    numbers: list[re.Match] = []

    def number_at(index: int) -> re.Match | None:
        while len(numbers) <= index:
            following = next(found_numbers, None)
            if following is None:
                return None
            numbers.append(following)
        return numbers[index]

    def after(index: int):
        """The currency right after a number (one space at most), unless it reads as a pair (BTC/USD)
        or as the label of what follows ("1459 XMR : No")."""
        number = numbers[index]
        if number.start() and text[number.start() - 1].isalpha():
            return None
        token = _currency_from(text, _spaced(text, number.end(), 1))
        if token and not _PAIR_AFTER.match(text, token[1]) and not _LABEL_AFTER.match(text, token[1]):
            return token
        return None

    def before(index: int):
        """The currency right before a number (one space at most), unless it ends a word or a pair."""
        number = numbers[index]
        token = _currency_until(text, _spaced(text, number.start(), -1))
        preceding = text[token[0] - 1] if token and token[0] else " "
        if token and preceding not in "-−/_" and not preceding.isalnum():
            return token
        return None

    afters: dict[int, object] = {}
    befores: dict[int, object] = {}

    def after_of(index: int):
        if index not in afters:
            afters[index] = after(index)
        return afters[index]

    def before_of(index: int):
        if index not in befores:
            befores[index] = before(index)
        return befores[index]

    used: set[int] = set()
    index = -1
    while (number := number_at(index + 1)) is not None:
        index += 1
        start, end = number.span()
        previous = text[start - 1] if start else " "
        if previous.isdigit() or previous in _NOT_BEFORE_AMOUNT:
            continue
        token = after_of(index)
        # "₽ 15 $": the sign after this number opens the next one only if that one has none after it.
        if token and number_at(index + 1) is not None and before_of(index + 1) == token and after_of(index + 1) is None:
            token = None
        if token is None or token[0] in used:
            token = before_of(index)
        if token is None or token[0] in used:
            continue
        code = currency_code(token[2])
        amount = valid_amount(parse_number(number.group()))
        if code and amount is not None:
            used.add(token[0])
            yield PriceMatch(round(amount, 8), code, min(start, token[0]), max(end, token[1]))


def parse_prices(text: str) -> list[Money]:
    """Every price in ``text``, in order: ``$120``, ``0.0021 BTC``, ``12 000 тенге``, ``€30``."""
    return [match.money for match in find_prices(text)]


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

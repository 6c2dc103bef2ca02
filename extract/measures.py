"""Prices and quantities as markets print them, parsed into numbers with units.

Both parsers return nothing rather than a guess: a price of 0, a negative or
non-finite amount, or a title that states two different amounts yields None.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

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
# Either of them, in one test.
_PAIR_OR_LABEL_AFTER = re.compile(rf"{_LABEL_AFTER.pattern}|(?i:{_PAIR_AFTER.pattern})")
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


_NUMBER_SPACE = re.compile(r"[\s\u00a0\u202f\u2009]")
_NUMBER_CHARS = re.compile(r"[\d.,]+")


def parse_number(text: str) -> float | None:
    """Read a number written with any common thousands/decimal convention.

    ``1,234.56`` ``1 234,56`` ``12 000`` ``0,5`` ``1.500.000`` -> float; None when unreadable,
    including separators that group nothing (``0.0.0``, ``1.2.3``, ``1,,2``).
    """
    if text.isdecimal():  # digits only (as ``\d`` reads them): the common case
        value = float(text)
        return value if math.isfinite(value) else None
    cleaned = _NUMBER_SPACE.sub("", text).strip(".,")
    if not cleaned or not _NUMBER_CHARS.fullmatch(cleaned):
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
# The one character that matches a letter of "курс", "exchange" or "rate" ignoring case without
# lower-casing to it (tests check): U+1C83, a form of "с". Without it in a text, those words are
# where the text's lower-case form holds them.
_LABEL_WORD_FOLDS = "\u1c83"
_LONGEST_SYMBOL = max(map(len, _SYMBOLS))


def _occurrences(text: str, word: str):
    """Every position where ``word`` stands in ``text``, overlapping ones too."""
    at = text.find(word)
    while at != -1:
        yield at
        at = text.find(word, at + 1)


def _rate_starts(text: str) -> list[int]:
    """Every position where ``_RATE_EXPRESSION`` may match, in order (a superset, cheap to find).

    Each branch of the expression starts with a label word, or with an optional "1" and a
    currency followed by whitespace and its sign; so a match starts at a label word or within
    ``_LONGEST_SYMBOL + 1`` non-space characters before a sign."""
    lower = text.lower()
    if len(lower) == len(text) and _LABEL_WORD_FOLDS not in text:
        # The label words are where their lower-case forms are (a quicker search than the pattern's),
        # taken as the pattern's search takes them: leftmost first, none overlapping the one before.
        starts, end = set(), 0
        words = ("курс", "exchange", "rate")
        for at, size in sorted((at, len(word)) for word in words for at in _occurrences(lower, word)):
            if at >= end:
                starts.add(at)
                end = at + size
    else:
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


_KEY_HEADS = {key[:size] for key in _SYMBOLS for size in range(1, len(key) + 1)}
_KEY_TAILS = {key.rstrip(".")[-size:] for key in _SYMBOLS for size in range(1, len(key.rstrip(".")) + 1)}


@lru_cache(maxsize=1)
def _lower_cased_into() -> dict[str, str]:
    """For each beginning and end of a currency key, and each of its characters: every character of
    the Basic Multilingual Plane whose ``lower()`` it is. Tokens are looked up lower-cased, so these
    are all the characters a token can start with, end with or hold; no character beyond the BMP
    lower-cases into a key's letters (tests check)."""
    wanted: dict[str, list[str]] = {piece: [] for piece in _KEY_HEADS | _KEY_TAILS | set("".join(_SYMBOLS))}
    for char in map(chr, range(0x10000)):
        lower = char.lower()
        if lower in wanted:
            wanted[lower].append(char)
    return {piece: "".join(chars) for piece, chars in wanted.items()}


def _key_chars(ends_with: bool) -> frozenset[str]:
    """The characters a currency of ``_SYMBOLS`` can start with (or end with, a trailing dot aside), in any case."""
    return frozenset("".join(_lower_cased_into()[piece] for piece in (_KEY_TAILS if ends_with else _KEY_HEADS)))


_TOKEN_FIRST = _key_chars(ends_with=False)
_TOKEN_LAST = _key_chars(ends_with=True)


def _currency_from(text: str, position: int) -> tuple[int, int, str] | None:
    """The currency sign, code or word starting at ``position`` (a whole word: "руб", not "рубашка")."""
    if position >= len(text) or text[position] not in _TOKEN_FIRST or (position and text[position - 1].isalpha()):
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
    # The token ends at ``start`` (less its dot): its last character must end a key.
    if not start or text[start - 1] not in _TOKEN_LAST:
        return None
    if text[start - 1] in "$€£₽₸₴฿₿":
        start -= 1
    while start and text[start - 1].isalpha():
        start -= 1
    token = _currency_from(text, start)
    return token if token and token[1] in (position, position - 1) and text[token[1]:position] in ("", ".") else None


def _spaced(text: str, position: int, step: int) -> int:
    """``position`` moved over one space, forwards (step 1) or backwards (step -1), if there is one."""
    probe = position if step > 0 else position - 1
    return position + step if 0 <= probe < len(text) and text[probe].isspace() else position


def _has_rate_label(text: str) -> bool:
    """``_RATE_LABEL.search(text) is not None``; most texts hold neither word in any case, and
    finding that in their lower-case form is quicker than the search."""
    lower = text.lower()
    if "rate" not in lower and "курс" not in lower and _LABEL_WORD_FOLDS not in text:
        return False
    if len(lower) != len(text) or _LABEL_WORD_FOLDS in text:
        return _RATE_LABEL.search(text) is not None
    # The words stand where their lower-case forms do: only their edges are left to test.
    return any(_RATE_LABEL.match(text, at) for word in ("rate", "курс") for at in _occurrences(lower, word))


def _may_hold_a_rate(text: str) -> bool:
    """A cheap test before the rate expression: a currency beside "=" or "≈", a pair of
    currencies either side of "/" (BTC/USD; "4.00 USD / 0.0004 BTC" is two prices), or a rate label."""
    for operator in _RATE_OPERATOR_BESIDE.finditer(text):
        at = operator.start()
        left = _currency_until(text, _spaced(text, at, -1))
        if operator.group() == "/" and not left:
            continue
        right = _currency_from(text, _spaced(text, at + 1, 1))
        if (left and right) if operator.group() == "/" else (left or right):
            return True
    return _has_rate_label(text)


def find_prices(text: str) -> list[PriceMatch]:
    """Every (amount, currency) pair in ``text``, in order, with its span.

    A currency sign or word may stand after its number (``1 500 ₽``, ``0.0021 BTC``,
    ``12 000 тенге``) or before it (``$120``, ``€ 12,50``, ``USD 245``). A sign between two
    numbers belongs to the first unless the second has no sign of its own after it
    (``1500 ₽ 15 $`` is two prices; ``USD 245 / ฿0.0038`` too). Exchange rates are skipped,
    and so are fragments and garbage (``0.0.0…5``): no price rather than a wrong one.
    """
    return [PriceMatch(round(amount, 8), code, start, end) for amount, code, start, end in _scan(text)]


def has_price(text: str) -> bool:
    """``bool(find_prices(text))``, stopping at the first price (the rest of a long text is not read)."""
    return next(_scan(text), None) is not None


def _after(text: str, number: re.Match):
    """The currency right after a number (one space at most), unless it reads as a pair (BTC/USD)
    or as the label of what follows ("1459 XMR : No")."""
    start, position = number.span()
    if start and text[start - 1].isalpha():
        return None
    if position < len(text) and text[position].isspace():
        position += 1
    token = _currency_from(text, position)
    if token and not _PAIR_OR_LABEL_AFTER.match(text, token[1]):
        return token
    return None


def _before(text: str, number: re.Match):
    """The currency right before a number (one space at most), unless it ends a word or a pair."""
    position = number.start()
    if position and text[position - 1].isspace():
        position -= 1
    token = _currency_until(text, position)
    preceding = text[token[0] - 1] if token and token[0] else " "
    if token and preceding not in "-−/_" and not preceding.isalnum():
        return token
    return None


_UNREAD = object()


def _char_class(chars: frozenset[str]) -> str:
    return "[" + "".join(re.escape(char) for char in sorted(chars)) + "]"


def _key_cases() -> dict[str, str]:
    """Each character of a currency key, and every character of the BMP that lower-cases to it."""
    return {char: _lower_cased_into()[char] for key in _SYMBOLS for char in key}


def _ends_pattern(keys: set[str], first: bool) -> tuple[str, str]:
    """What a currency of ``keys`` begins with (``first``) or ends with, in any case, as two patterns:
    the keys of one character, and the first (last) two characters of the others."""
    cases = _key_cases()
    singles = {key for key in keys if len(key) == 1}
    pairs: dict[str, set[str]] = {}
    for key in keys - singles:
        edge, inner = (key[0], key[1]) if first else (key[-1], key[-2])
        pairs.setdefault(edge, set()).add(inner)
    def case_class(chars):
        return _char_class(frozenset("".join(cases[char] for char in chars)))
    alternatives = [case_class(edge) + case_class(inner) if first else case_class(inner) + case_class(edge)
                    for edge, inner in sorted(pairs.items())]
    return case_class(singles), "(?:" + "|".join(alternatives) + ")"


_HEAD_SINGLE, _HEAD_PAIR = _ends_pattern(set(_SYMBOLS), first=True)
_TAIL_SINGLE, _TAIL_PAIR = _ends_pattern({key.rstrip(".") for key in _SYMBOLS}, first=False)


def _beside_a_currency(center: str) -> str:
    """A character of the class ``center`` with a currency's first two characters (or its one)
    right after it, one space between at most, or its last two (or one) right before it, with a
    dot and a space between at most: where ``_currency_from`` (``_currency_until``) may find one.
    A one-character test comes first on either side: most characters fail it."""
    return (
        rf"{center}(?:(?=\s?{_char_class(_TOKEN_FIRST)})(?=\s?(?:{_HEAD_SINGLE}|{_HEAD_PAIR}))"
        + "".join(rf"|(?<={_char_class(_TOKEN_LAST)}{gap}{center})"
                  rf"(?:(?<={_TAIL_SINGLE}{gap}{center})|(?<={_TAIL_PAIR}{gap}{center}))"
                  for gap in ("", r"\.", r"\s", r"\.\s"))
        + ")"
    )


# A digit that may be the last of a number with a currency after it (one space at most), or the
# first of a number with a currency before it (``_before``). Every number a price is read from
# holds such a digit; the scan reads only those numbers.
_PRICE_DIGIT = re.compile(_beside_a_currency(r"\d"))
# An operator a currency may stand beside (the only ones ``_may_hold_a_rate`` needs to look at).
_RATE_OPERATOR_BESIDE = re.compile(_beside_a_currency(_RATE_OPERATOR.pattern))
# What stands between a currency and the number it is before (``_before``), and the number's first digit.
_STARTS_A_NUMBER = re.compile(r"\.?\s?\d")
# The characters a number of ``_NUMBER`` holds besides its digits.
_NUMBER_GLUE = frozenset("\u00a0\u202f\u2009 .,")


def _number_at(text: str, digit: int, floor: int = 0) -> re.Match:
    """The number of ``_NUMBER_RE.finditer(text)`` that holds the digit at ``digit``, given that one
    of those numbers ends at ``floor`` (or it is 0) and ``digit`` is past it.

    A number never spans a character other than a digit or its glue, so the numbers of a run of
    those are the same read from the run's start (or from the end of a number in it) as from the text's."""
    start = digit
    while start > floor and (text[start - 1].isdecimal() or text[start - 1] in _NUMBER_GLUE):
        start -= 1
    for number in _NUMBER_RE.finditer(text, start):
        if number.end() > digit:
            return number
    raise AssertionError("a digit outside every number")  # pragma: no cover (every digit starts or is in one)


def scan_prices(text: str):
    """The prices of ``find_prices``, one at a time: each number's neighbours are read when its turn comes.

    Only the numbers with the start (end) of a currency sign, code or word right after (before)
    them are read (``_PRICE_DIGIT``): any other has no currency either side and is no price; the
    numbers are read in text order, so the outcome is that of reading every number."""
    for amount, code, start, end in _scan(text):
        yield PriceMatch(round(amount, 8), code, start, end)


def _scan(text: str):
    """``scan_prices``' prices as (amount, currency, start, end), the amount not yet rounded."""
    # Masking a rate only blanks a run of three characters or more, so it makes no digit a price's
    # that was not one before: a text without such a digit has no price, masked or not.
    first = _PRICE_DIGIT.search(text)
    if first is None:
        return
    if _may_hold_a_rate(text):
        text = _mask_rates(text)[0]
        first = _PRICE_DIGIT.search(text)
        if first is None:
            return
    size = len(text)
    used: set[int] = set()
    read_until = 0
    # The number after the last one read, with its currencies after and before it when already read.
    ahead: tuple[re.Match, object, object] | None = None
    for digit in _PRICE_DIGIT.finditer(text, first.start()):
        position = digit.start()
        if position < read_until:
            continue  # the last digit of the number just read
        previous = text[position - 1] if position else " "
        if previous.isdecimal() or previous in _NUMBER_GLUE:
            number = _number_at(text, position, read_until)
            start, end = number.span()
            previous = text[start - 1] if start else " "
        else:
            # The first digit after anything else starts a number (``_number_at``).
            number = _NUMBER_RE.match(text, position)
            start, end = position, number.end()
        read_until = end
        after = before = _UNREAD
        if ahead is not None:
            if ahead[0].start() == start:
                _, after, before = ahead
            ahead = None
        if previous.isdigit() or previous in _NOT_BEFORE_AMOUNT:
            continue
        if after is _UNREAD:
            # ``_after``, with the first test of ``_currency_from`` made here: most numbers have none.
            beside = end + 1 if end < size and text[end].isspace() else end
            after = _after(text, number) if beside < size and text[beside] in _TOKEN_FIRST else None
        token = after
        # "₽ 15 $": the sign after this number opens the next one only if that one has none after it
        # (a number the sign is before starts right after it: ``_before``).
        if token and _STARTS_A_NUMBER.match(text, token[1]):
            following = _NUMBER_RE.search(text, end)
            if following is not None:
                following_after, following_before = _UNREAD, _before(text, following)
                if following_before == token:
                    following_after = _after(text, following)
                    if following_after is None:
                        token = None
                ahead = following, following_after, following_before
        if token is None or token[0] in used:
            token = _before(text, number) if before is _UNREAD else before
            if token is None or token[0] in used:
                continue
        code = currency_code(token[2])
        amount = valid_amount(parse_number(number.group()))
        if code and amount is not None:
            used.add(token[0])
            yield amount, code, min(start, token[0]), max(end, token[1])


def parse_prices(text: str) -> list[Money]:
    """Every price in ``text``, in order: ``$120``, ``0.0021 BTC``, ``12 000 тенге``, ``€30``."""
    return [Money(round(amount, 8), code) for amount, code, _, _ in _scan(text)]  # find_prices' moneys


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
# As ``(?<![\w.,])(?P<num>\d+(?:[.,]\d+)?)\s?(?P<unit>{_UNIT_ALT})(?![\w])``, written to be quick to search:
# it starts with its digit (a search skips to the next digit at once), and the units are tried only
# where one of their first letters stands (tests hold it to that form).
_UNIT_FIRST = "".join(sorted({re.escape(unit[0]) for unit in _UNITS}))
_QTY_RE = re.compile(
    rf"(?P<num>\d(?<![\w.,]\d)\d*(?:[.,]\d+)?)\s?(?=[{_UNIT_FIRST}])(?P<unit>{_UNIT_ALT})(?![\w])", re.IGNORECASE
)
# "100 x 2mg", "10x", "x10" : a count of pieces
_COUNT_RE = re.compile(r"(?<![\w.,])(?:(?P<a>\d+)\s?[xх×]\s?(?=\d|[a-zа-я])|[xх×]\s?(?P<b>\d+)(?![\w.,]))", re.IGNORECASE)
_OZ_G = 28.3495
_LB_G = 453.592


@lru_cache(maxsize=16384)
def parse_quantity(text: str) -> Quantity | None:
    """The single amount a title offers (``3.5g``, ``1 oz``, ``100 x 2mg``, ``10 tabs``, ``0,5 г``).

    A dose strength (``2mg``) is not an amount on its own; a title naming two
    different amounts (``1g - 5g``) is ambiguous and yields None. Remembered per text (a title is
    read by the features, the drug reading and the normalisation).
    """
    if not _DIGIT.search(text):
        return None  # both expressions need a digit
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

"""The quick price scan reads exactly what the straightforward one read.

``extract.measures`` reads only the numbers with a currency's first or last character beside
them, turns most characters away before a regular expression, and tests a text's lower-case form
for a rate label before searching it; below is the scan as it was before (every number, every
neighbour read), and the two must agree on any text: random ones, and texts built from the pieces
prices, rates and their look-alikes are made of (signs, codes in any case, letters that fold into
them, grouped and dotted numbers, operators, labels).
"""
from __future__ import annotations

import math
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from extract import measures
from extract.measures import Money, _CURRENCY_CANDIDATE, _LABEL_AFTER, _NUMBER_RE, _PAIR_AFTER, _SYMBOLS

# ---- the scan as it was: every number read, every neighbour looked up -------------------------------------------

_OLD_RATE_OPERATOR = re.compile(r"[=≈/]")
_OLD_RATE_LABEL = re.compile(r"(?<![a-zа-яё])(?:курс|rate)(?![a-zа-яё])", re.IGNORECASE)


def _old_parse_number(text):
    cleaned = re.sub(r"[\s\u00a0\u202f\u2009]", "", text).strip(".,")
    if not cleaned or not re.fullmatch(r"[\d.,]+", cleaned):
        return None
    if "," in cleaned and "." in cleaned:
        decimal = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        whole, _, fraction = cleaned.rpartition(decimal)
        if thousands not in whole or not fraction or not measures._groups_ok(whole.split(thousands)):
            return None
        cleaned = whole.replace(thousands, "") + "." + fraction
    elif "," in cleaned:
        groups = cleaned.split(",")
        if len(groups) > 2:
            if not measures._groups_ok(groups):
                return None
            cleaned = cleaned.replace(",", "")
        else:
            is_thousands = len(groups[1]) == 3 and groups[0] not in ("", "0")
            cleaned = cleaned.replace(",", "") if is_thousands else cleaned.replace(",", ".")
    elif cleaned.count(".") > 1:
        groups = cleaned.split(".")
        if not measures._groups_ok(groups) or groups[0] == "0":
            return None
        cleaned = cleaned.replace(".", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _old_currency_from(text, position):
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


def _old_currency_until(text, position):
    if position <= 0 or position > len(text):
        return None
    start = position - 1 if text[position - 1] == "." else position
    if start and text[start - 1] in "$€£₽₸₴฿₿":
        start -= 1
    while start and text[start - 1].isalpha():
        start -= 1
    token = _old_currency_from(text, start)
    return token if token and token[1] in (position, position - 1) and text[token[1]:position] in ("", ".") else None


def _old_spaced(text, position, step):
    probe = position if step > 0 else position - 1
    return position + step if 0 <= probe < len(text) and text[probe].isspace() else position


def _old_may_hold_a_rate(text):
    for operator in _OLD_RATE_OPERATOR.finditer(text):
        at = operator.start()
        left = _old_currency_until(text, _old_spaced(text, at, -1))
        right = _old_currency_from(text, _old_spaced(text, at + 1, 1))
        if (left and right) if operator.group() == "/" else (left or right):
            return True
    return _OLD_RATE_LABEL.search(text) is not None


def _old_rate_starts(text):
    starts = {m.start() for m in measures._RATE_LABEL_START.finditer(text)}
    for sign in _OLD_RATE_OPERATOR.finditer(text):
        position, solid = sign.start(), 0
        while position > 0 and solid <= measures._LONGEST_SYMBOL + 1:
            position -= 1
            if not text[position].isspace():
                solid += 1
            starts.add(position)
    return sorted(starts)


def _old_scan_prices(text):
    if not re.search(r"\d", text):
        return
    if _old_may_hold_a_rate(text):
        text = measures._mask_rates(text)[0]
    found_numbers = _NUMBER_RE.finditer(text)
    numbers = []

    def number_at(index):
        while len(numbers) <= index:
            following = next(found_numbers, None)
            if following is None:
                return None
            numbers.append(following)
        return numbers[index]

    def after(index):
        number = numbers[index]
        if number.start() and text[number.start() - 1].isalpha():
            return None
        token = _old_currency_from(text, _old_spaced(text, number.end(), 1))
        if token and not _PAIR_AFTER.match(text, token[1]) and not _LABEL_AFTER.match(text, token[1]):
            return token
        return None

    def before(index):
        number = numbers[index]
        token = _old_currency_until(text, _old_spaced(text, number.start(), -1))
        preceding = text[token[0] - 1] if token and token[0] else " "
        if token and preceding not in "-−/_" and not preceding.isalnum():
            return token
        return None

    used = set()
    index = -1
    while (number := number_at(index + 1)) is not None:
        index += 1
        start, end = number.span()
        previous = text[start - 1] if start else " "
        if previous.isdigit() or previous in measures._NOT_BEFORE_AMOUNT:
            continue
        token = after(index)
        if token and number_at(index + 1) is not None and before(index + 1) == token and after(index + 1) is None:
            token = None
        if token is None or token[0] in used:
            token = before(index)
        if token is None or token[0] in used:
            continue
        code = measures.currency_code(token[2])
        amount = measures.valid_amount(_old_parse_number(number.group()))
        if code and amount is not None:
            used.add(token[0])
            yield round(amount, 8), code, min(start, token[0]), max(end, token[1])


# ---- texts made of the pieces that matter ------------------------------------------------------------------------

def _any_case(word: str):
    """The word with each letter in either case, or as a letter that folds into it (Kelvin sign, long s, ...)."""
    variants = {"k": "kK\u212a", "s": "sS\u017f", "i": "iI\u0130\u0131", "с": "сС\u1c83", "в": "вВ\u1c80",
                "о": "оО\u1c82", "т": "тТ\u1c84\u1c85", "д": "дД\u1c81"}
    return st.tuples(*(st.sampled_from(variants.get(char, char + char.upper())) for char in word)).map("".join)


_CURRENCIES = st.sampled_from(sorted(_SYMBOLS)).flatmap(_any_case)
_NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(str),
    st.integers(min_value=0, max_value=10**8).map(lambda n: f"{n:,}"),
    st.integers(min_value=0, max_value=10**8).map(lambda n: f"{n:,}".replace(",", st_choice_space(n))),
    st.floats(min_value=0, max_value=1e7, allow_nan=False).map(lambda x: f"{x:.4f}"),
    st.floats(min_value=0, max_value=1e7, allow_nan=False).map(lambda x: f"{x:,.2f}".replace(",", " ").replace(".", ",")),
    st.lists(st.integers(min_value=0, max_value=999), min_size=2, max_size=5).map(lambda g: ".".join(map(str, g))),
    st.sampled_from(["1", "0", "١٢٣", "1e309", "٣.٥", "²5", "0.0.0…5", "1,,2", "12\u202f000", "9\u2009999,99"]),
)


def st_choice_space(n: int) -> str:
    return " \u00a0\u202f\u2009"[n % 4]


_GLUE = st.sampled_from(["", "", " ", " ", "  ", "\u00a0", "\n", ".", ",", "/", " / ", "=", " = ", "≈", ":", " : ",
                         "-", "−", "…", "_", "|", "(", ")", "@", "#", "x", "é", "ß", "2"])
_WORDS = st.sampled_from(["курс", "Курс", "КУРС", "rate", "RATE", "Rate", "exchange rate", "exchange  rate", "crate",
                          "rates", "рубашка", "Цена", "price", "usdx", "xusd", "abr", "гр", "g", "tabs", "oz", "lbs",
                          "BTC/USD", "USD/oz", "курᲃ", "rᴀte", "Item", "No"]).flatmap(
    lambda word: st.just(word) | _any_case(word.lower()))
_PIECES = st.one_of(_CURRENCIES, _CURRENCIES, _NUMBERS, _NUMBERS, _NUMBERS, _GLUE, _GLUE, _GLUE, _WORDS,
                    st.text(max_size=3))
_TEXTS = st.lists(_PIECES, max_size=24).map("".join)


def _new(text):
    return [(match.amount, match.currency, match.start, match.end) for match in measures.find_prices(text)]


def _old(text):
    return list(_old_scan_prices(text))


@settings(max_examples=1000)
@given(_TEXTS)
@example("курс 5 рrate: 100")                    # a rate label masks a rate glued to a currency letter
@example("5 рusd=7 eur")
@example("1 BTC = 3 500 000 ₽ Цена: 1500 ₽ 15 $")
@example("Цена: 1500 ₽ 15 $ 20 €")
@example("$5 $6 7$ 8 $ 9")
@example("руб.5 руб. 5 руб..5 руб .5")
@example("5 Kzt 6 ᲃом 7 uſd")
@example("separate rated crate: 5 $ / RATE: 5 $ / İ rate: 5 $ / bКУРС 5 ₽ / курсы 5 ₽ / Курс 5 ₽")
@example("1 200 345 ₽ 12\u00a0000 тенге 1,234.56 $")
def test_the_scan_reads_what_the_straightforward_one_read(text):
    assert _new(text) == _old(text)
    assert measures.parse_prices(text) == [Money(amount, code) for amount, code, _, _ in _old(text)]
    assert measures.has_price(text) is bool(_old(text))
    assert measures._may_hold_a_rate(text) is _old_may_hold_a_rate(text)


@settings(max_examples=500)
@given(_TEXTS)
@example("5 BTC=1 $ 7")
def test_masking_a_rate_makes_no_digit_a_prices(text):
    """The scan skips the rate masking of a text with no price digit (``_PRICE_DIGIT``)."""
    def digits(some):
        return {match.start() for match in measures._PRICE_DIGIT.finditer(some)}

    assert digits(measures._mask_rates(text)[0]) <= digits(text)


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_the_scan_reads_what_the_straightforward_one_read_on_any_text(text):
    assert _new(text) == _old(text)
    assert measures._may_hold_a_rate(text) is _old_may_hold_a_rate(text)


@settings(max_examples=1000)
@given(st.one_of(_NUMBERS, st.text(alphabet="0123456789٣²., \u00a0\u202f\u2009\t", max_size=16)))
def test_numbers_read_as_before(text):
    new, old = measures.parse_number(text), _old_parse_number(text)
    assert new == old or (new is not None and old is not None and math.isnan(new) and math.isnan(old))


@settings(max_examples=500)
@given(_TEXTS)
@example("Exchange rate: 5 USD курс: 7 ₽ EXCHANGExchange  rate = 9 $ RATE:1 курᲃ: 8 ₽ İrate: 3 $")
@example("exchangexchange rate = 5 $ ratexchange: 1 BTC = 9 $")
def test_rate_starts_are_where_they_were(text):
    """``_rate_starts`` finds the label words in the lower-case text as the pattern's search found them
    (not overlapping: in "EXCHANGExchange" only the first)."""
    assert measures._rate_starts(text) == _old_rate_starts(text)


@given(_TEXTS, st.integers(min_value=0, max_value=60))
def test_currency_lookups_at_any_position_as_before(text, position):
    assert measures._currency_from(text, position) == _old_currency_from(text, position)
    assert measures._currency_until(text, position) == _old_currency_until(text, position)


# ---- the character tables the quick tests rest on ----------------------------------------------------------------

def _case_variants_beyond_the_bmp(pieces: set[str]) -> list[str]:
    return [chr(code) for code in range(0x10000, 0x110000) if chr(code).lower() in pieces]


def test_no_character_beyond_the_bmp_lower_cases_into_a_currency():
    """A currency's characters are looked for among the BMP's (``_key_chars``, ``_key_cases``)."""
    pieces = {key[:size] for key in _SYMBOLS for size in range(1, len(key) + 1)} | set("".join(_SYMBOLS))
    pieces |= {key.rstrip(".")[-size:] for key in _SYMBOLS for size in range(1, len(key) + 1)}
    assert _case_variants_beyond_the_bmp(pieces) == []


def test_the_token_tables_hold_every_case_of_every_currency():
    for key in _SYMBOLS:
        for variant in {key, key.upper(), key.title()}:
            assert variant[0] in measures._TOKEN_FIRST
            assert variant.rstrip(".")[-1] in measures._TOKEN_LAST
    assert "\u212a" in measures._TOKEN_FIRST      # Kelvin sign: "Kzt".lower() == "kzt"
    assert "5" not in measures._TOKEN_FIRST and " " not in measures._TOKEN_LAST


def _folds(letters: str) -> set[str]:
    """Every character that matches one of ``letters`` ignoring case but does not lower-case to it."""
    any_letter = re.compile(f"[{letters}]", re.IGNORECASE)
    matching = [chr(code) for code in range(0x110000) if any_letter.fullmatch(chr(code))]
    return {char for letter in set(letters) for char in matching
            if char.lower() != letter and re.fullmatch(letter, char, re.IGNORECASE)}


def test_the_rate_label_folds_are_all_the_letters_that_fold_without_lower_casing():
    """``_has_rate_label`` and ``_rate_starts`` look for "курс", "exchange" and "rate" in the lower-case
    text, and for these letters besides."""
    assert _folds("курсexchangerate") == set(measures._LABEL_WORD_FOLDS)


def test_regex_digits_and_spaces_are_the_string_methods():
    """The scan tests characters with ``isdecimal``/``isspace`` where its expressions say ``\\d``/``\\s``."""
    digit, space = re.compile(r"\d"), re.compile(r"\s")
    for code in range(0x110000):
        char = chr(code)
        assert bool(digit.match(char)) is char.isdecimal()
        assert bool(space.match(char)) is char.isspace()


# ---- a page's rates: the expression tried only where a rate can start --------------------------------------------

from extract import rates  # noqa: E402

_RATE_PIECES = st.one_of(
    _CURRENCIES, _NUMBERS, _GLUE, _GLUE, _WORDS,
    st.sampled_from(["1", "1 ", "BTC", "btc", "Bitcoin", "BITCOIN", "monero", "Tether", "USDT", "usd", "ETH", "курс",
                     "Курс ", "КУРС", "rate", "price", " exchange rate", "/", " / ", "  /", "=", "≈", ":", "$", "₽",
                     "руб.", "тенге", "тг", "ı", "ſ", "İ", "ᲃ", "K", "abcd", "ab", "x"]).flatmap(
        lambda word: st.just(word) | _any_case(word.lower())),
    st.text(max_size=3),
)


@settings(max_examples=800)
@given(st.lists(_RATE_PIECES, max_size=30).map("".join))
@example("1 BTC = 64,250.00 USD BTC/USD: 64250 Курс BTC: 5 900 000 ₽ Bitcoin = 64,250 USD 1 USD = 92,40 ₽")
@example("xxBTC/USD 9439 abcBTC  /  USD 1 ab/CDE 5 курс  Monero rate: $150")
@example("LİTECOIN: 50 USD ıııbtc/usd 5")
def test_page_rates_are_read_where_the_whole_text_search_reads_them(text):
    def spans(matches):
        return [(match.span(), match.groupdict()) for match in matches]

    assert spans(rates._rate_matches(text)) == spans(rates._RATE_RE.finditer(text))


def test_the_rate_word_folds_are_all_the_letters_that_fold_without_lower_casing():
    assert _folds("".join(sorted(set("".join(rates._RATE_WORDS))))) == set(rates._RATE_WORD_FOLDS)


# ---- quantities: the amount-and-unit expression in its quick-to-search form --------------------------------------

_OLD_QTY_RE = re.compile(rf"(?<![\w.,])(?P<num>\d+(?:[.,]\d+)?)\s?(?P<unit>{measures._UNIT_ALT})(?![\w])", re.IGNORECASE)
_QTY_PIECES = st.one_of(
    _NUMBERS, _GLUE, _GLUE, st.sampled_from(sorted(measures._UNITS)).flatmap(_any_case),
    st.sampled_from(["µg", "μG", "Kg", "\u212ag", "ſ", "x", "×", "х", "1", "12", "0.5", "3,5", "a1", "_2", ".5", ",5"]),
    st.text(max_size=3),
)


@settings(max_examples=1000)
@given(st.lists(_QTY_PIECES, max_size=20).map("".join))
@example("Cocaine 3.5g 1 oz 100 x 2mg 10 tabs 0,5 г a1g _2g .5g 12\u212ag 5 µg 5μg 2 Kilos")
def test_amounts_and_units_are_read_where_the_old_expression_read_them(text):
    def found(pattern):
        return [(match.span(), match.groupdict()) for match in pattern.finditer(text)]

    assert found(measures._QTY_RE) == found(_OLD_QTY_RE)

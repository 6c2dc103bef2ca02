"""Converting a listing's price to US dollars at its capture date, from the best evidence.

Order of evidence: the page itself (markets print "1 BTC = 10274 USD" in the
header), then the rates store (nearest earlier rate on record: imported from a
CSV, or fetched by ``onionwatch rates update``), then the European Central
Bank's reference rates that ``currencyconverter`` ships (fiat only). No rate
known means no ``price_usd``: a missing value is honest, a guessed one misleads.
"""
from __future__ import annotations

import csv
import json
import re
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Callable

from extract.measures import currency_code, parse_number, valid_amount
from stores import open_sqlite

_SYMBOL = r"[A-Za-z]{3,4}|[$€£₽₸฿]|руб\.?|тенге|тг\.?"
_NAMED_CRYPTO = ("BTC", "XMR", "LTC", "ETH", "USDT", "Bitcoin", "Monero", "Litecoin", "Ethereum", "Tether")
# "1 BTC = 64,250.00 USD", "1 USD = 92,40 ₽", "BTC/USD: 64250", "1 BTC = $64,250"
_RATE_RE = re.compile(
    rf"(?:1\s*(?P<base>{_SYMBOL})\s*[=≈:]\s*(?P<pre>[$€£₽₸])?\s*(?P<value>\d[\d\s\u00a0.,]*\d|\d)\s*(?P<quote>{_SYMBOL})?)"
    rf"|(?:(?P<base2>[A-Z]{{3,4}})\s*/\s*(?P<quote2>[A-Z]{{3}})\s*[:=]?\s*(?P<value2>\d[\d\s\u00a0.,]*\d))"
    # "BTC rate: $64,250", "BTC price: 64250 USD", "Bitcoin = 64,250 USD", "Курс BTC: 5 900 000 ₽": a crypto
    # named with a rate word, then a value with its currency (before or after it)
    rf"|(?:(?<![\d.,])(?<![\d.,]\s)(?:курс\s+)?(?P<base3>{'|'.join(_NAMED_CRYPTO)})"
    rf"(?:\s+(?:rate|price|курс|exchange rate))?\s*[=≈:]\s*(?P<pre3>[$€£₽₸])?\s*(?P<value3>\d[\d\s\u00a0.,]*\d|\d)"
    rf"\s*(?P<quote3>{_SYMBOL})?)",
    re.IGNORECASE,
)
_CRYPTO_NAMES = {"bitcoin": "BTC", "monero": "XMR", "litecoin": "LTC", "ethereum": "ETH", "tether": "USDT"}
# Where a rate can start: a "1" before a currency (first branch), a crypto name or "курс" (third);
# the second starts three or four letters before the whitespace before a "/".
_RATE_ONE = re.compile(r"1(?=\s*(?:[^\W\d_]|[$€£₽₸฿]))")
_RATE_WORDS = ("курс", *(name.lower() for name in _NAMED_CRYPTO))
# The letters that match one of those words' ignoring case but lower-case to another letter (tests
# check): with one of them in the text, or a letter that lower-cases to two, the text is searched as it is.
_RATE_WORD_FOLDS = "\u0130\u0131\u017f\u1c83"


def _rate_matches(text: str):
    """``_RATE_RE.finditer(text)``, trying the expression only where a rate can start (a page's
    text is long, and the expression is slow to try at every character)."""
    lower = text.lower()
    if len(lower) != len(text) or any(fold in text for fold in _RATE_WORD_FOLDS):
        yield from _RATE_RE.finditer(text)
        return
    starts = {one.start() for one in _RATE_ONE.finditer(text)}
    for word in _RATE_WORDS:
        at = lower.find(word)
        while at != -1:
            starts.add(at)
            at = lower.find(word, at + 1)
    at = text.find("/")
    while at != -1:
        letters_end = at
        while letters_end and text[letters_end - 1].isspace():
            letters_end -= 1
        starts.update(start for start in (letters_end - 4, letters_end - 3) if start >= 0)
        at = text.find("/", at + 1)
    end = 0
    for start in sorted(starts):
        if start < end:
            continue
        match = _RATE_RE.match(text, start)
        if match is not None:
            yield match
            end = match.end()


@dataclass(frozen=True)
class Conversion:
    usd: float
    basis: str  # which rate was used, shown to analysts beside the converted price


def page_rates(text: str) -> dict[str, float]:
    """USD per unit of each currency that the page states a rate for (directly or via a cross rate)."""
    pairs: list[tuple[str, str, float]] = []
    for match in _rate_matches(text):
        if match.group("base"):
            base = currency_code(match.group("base"))
            quote_symbol = match.group("quote") or match.group("pre")
            value = match.group("value")
        elif match.group("base2"):
            base = currency_code(match.group("base2"))
            quote_symbol = match.group("quote2")
            value = match.group("value2")
        else:
            named = match.group("base3")
            base = _CRYPTO_NAMES.get(named.casefold()) or currency_code(named.upper())
            quote_symbol = match.group("quote3") or match.group("pre3")
            value = match.group("value3")
        quote = currency_code(quote_symbol) if quote_symbol else None
        if quote is None and match.group("pre3" if match.group("base3") else "pre"):
            # "BTC rate: $64,250 Frost Market": the word after the value is not its currency, the $ is
            quote = currency_code(match.group("pre3" if match.group("base3") else "pre"))
        amount = valid_amount(parse_number(value))
        if base and quote and base != quote and amount:
            pairs.append((base, quote, amount))
    usd_per: dict[str, float] = {"USD": 1.0}
    # Resolve cross rates (BTC in USD and BTC in RUB gives RUB in USD) until nothing changes.
    changed = True
    while changed:
        changed = False
        for base, quote, amount in pairs:
            if quote in usd_per and base not in usd_per:
                usd_per[base] = amount * usd_per[quote]
                changed = True
            elif base in usd_per and quote not in usd_per:
                usd_per[quote] = usd_per[base] / amount
                changed = True
    del usd_per["USD"]
    return usd_per


class RatesStore:
    """Daily USD rates per currency in SQLite; filled by import (offline) or update (online)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db = open_sqlite(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS rates (day TEXT NOT NULL, currency TEXT NOT NULL,"
            " usd_per_unit REAL NOT NULL, source TEXT NOT NULL, PRIMARY KEY (day, currency))"
        )

    def close(self) -> None:
        self._db.close()

    def add(self, day: date, currency: str, usd_per_unit: float, source: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO rates VALUES (?, ?, ?, ?)",
                (day.isoformat(), currency.upper(), usd_per_unit, source),
            )

    def import_csv(self, path: Path) -> int:
        """Rows ``date,currency,usd_per_unit[,source]``; returns how many were stored."""
        count = 0
        with open(path, newline="", encoding="utf-8") as handle, self._db:
            for row_number, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    day = date.fromisoformat(row["date"])
                    value = float(row["usd_per_unit"])
                    currency = row["currency"].strip().upper()
                except (KeyError, ValueError, AttributeError) as exc:
                    raise ValueError(f"{path}:{row_number}: bad rate row ({exc})") from None
                if valid_amount(value) is None:
                    raise ValueError(f"{path}:{row_number}: rate must be positive, got {value}")
                self._db.execute(
                    "INSERT OR REPLACE INTO rates VALUES (?, ?, ?, ?)",
                    (day.isoformat(), currency, value, row.get("source") or Path(path).name),
                )
                count += 1
        return count

    def lookup(self, currency: str, day: date) -> tuple[float, str] | None:
        row = self._db.execute(
            "SELECT usd_per_unit, day, source FROM rates WHERE currency = ? AND day <= ?"
            " ORDER BY day DESC LIMIT 1",
            (currency.upper(), day.isoformat()),
        ).fetchone()
        if row is None:
            return None
        return row[0], f"{row[2]} {currency.upper()} {row[1]}"


# A reference rate older than this says nothing about the day asked (ECB stopped quoting RUB in 2022).
_STALE_AFTER = timedelta(days=31)


@lru_cache(maxsize=1)
def _ecb():
    from currency_converter import CurrencyConverter

    return CurrencyConverter(fallback_on_missing_rate=True, fallback_on_missing_rate_method="last_known",
                             fallback_on_wrong_date=True)


def ecb_usd_rate(currency: str, day: date) -> tuple[float, str] | None:
    """USD per unit from the ECB reference rates shipped with ``currencyconverter``; None when stale or unknown."""
    converter = _ecb()
    if currency not in converter.currencies:
        return None
    first, last = converter.bounds[currency]
    usd_first, usd_last = converter.bounds["USD"]
    if day < max(first, usd_first) or day > min(last, usd_last) + _STALE_AFTER:
        return None
    rate = converter.convert(1, currency, "USD", date=min(day, last, usd_last))
    return rate, f"ECB {currency} {min(day, last, usd_last).isoformat()}"


# Public APIs that answer without a key; overridable for tests and mirrors.
CRYPTO_API = "https://api.coingecko.com/api/v3/simple/price?ids={ids}&vs_currencies=usd"
FIAT_API = "https://open.er-api.com/v6/latest/USD"
_COINGECKO_IDS = {"BTC": "bitcoin", "XMR": "monero", "LTC": "litecoin", "ETH": "ethereum", "USDT": "tether",
                  "BCH": "bitcoin-cash", "DASH": "dash", "ZEC": "zcash", "TRX": "tron"}


def _get_json(url: str, timeout: float) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https URLs)
        return json.loads(response.read().decode("utf-8"))


def update_rates(store: RatesStore, day: date, crypto_api: str = CRYPTO_API, fiat_api: str = FIAT_API,
                 timeout: float = 20.0) -> int:
    """Fetch today's crypto and fiat rates in USD into the store; returns how many were stored.

    Raises OSError (or ValueError for an unexpected answer) when offline or refused.
    """
    prices = _get_json(crypto_api.format(ids=",".join(_COINGECKO_IDS.values())), timeout)
    stored = 0
    for code, coin in _COINGECKO_IDS.items():
        usd = prices.get(coin, {}).get("usd")
        if valid_amount(usd):
            store.add(day, code, float(usd), "coingecko")
            stored += 1
    fiat = _get_json(fiat_api, timeout).get("rates")
    if not isinstance(fiat, dict):
        raise ValueError(f"{fiat_api}: no 'rates' in the answer")
    for code, per_usd in fiat.items():
        if isinstance(code, str) and len(code) == 3 and valid_amount(per_usd) and code != "USD":
            store.add(day, code, 1 / float(per_usd), "open.er-api")
            stored += 1
    return stored


def to_usd(
    amount: float | None,
    currency: str | None,
    day: date,
    on_page: Callable[[], dict[str, float]],
    store: RatesStore | None,
) -> Conversion | None:
    """``on_page`` gives the page's own rates; it is only asked when a conversion is needed."""
    if amount is None or currency is None:
        return None
    if currency == "USD":
        return Conversion(round(amount, 2), "as shown")
    shown = on_page()
    if currency in shown:
        rate = shown[currency]
        return Conversion(round(amount * rate, 2), f"page: 1 {currency} = {rate:.6g} USD")
    found = (store.lookup(currency, day) if store is not None else None) or ecb_usd_rate(currency, day)
    if found:
        rate, basis = found
        return Conversion(round(amount * rate, 2), f"rates: {basis}")
    return None

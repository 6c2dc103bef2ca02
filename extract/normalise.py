"""Raw page-object output to contract listings: codes, canonical drugs, base units, USD."""
from __future__ import annotations

import re
from datetime import date
from typing import Callable

from extract.document import clean_text
from extract.measures import Money, parse_quantity
from extract.model import Listing, RawListing
from extract.nlp import drug_with_class, places_in
from extract.places import country_code, country_codes
from extract.rates import RatesStore, to_usd


def dead_drop_type(shown: str | None) -> str | None:
    """``магнит`` -> magnet, ``прикоп`` -> buried, ``тайник`` -> cache; any other stated type -> other."""
    if not shown or not shown.strip():
        return None
    kind, _city = places_in(shown)
    return kind or "other"


_PLACEHOLDER_WORDS = re.compile(
    r"do\s*n[o']?t\s*(?:buy|order|purchase)|not for sale|holding listing|placeholder|test listing|"
    r"reserved for|private listing|custom listing|не покупать|не заказывать",
    re.IGNORECASE,
)
# 9999, 99999.99: a price that parks a listing.
_NINES = re.compile(r"9{4,}(?:\.9+)?")
# No real offer costs this much per listing; markets use such prices to park a listing.
_PLACEHOLDER_USD = 50_000


def is_placeholder(title: str, price_usd: float | None, price: float | None) -> bool:
    if _PLACEHOLDER_WORDS.search(title):
        return True
    if price_usd is not None and price_usd >= _PLACEHOLDER_USD:
        return True
    return price is not None and _NINES.fullmatch(f"{price:g}") is not None


def _unique(prices: list[Money]) -> list[Money]:
    seen: list[Money] = []
    for money in prices:
        if money not in seen:
            seen.append(money)
    return seen


def normalise(
    raw: RawListing, on_page_rates: Callable[[], dict[str, float]], day: date, store: RatesStore | None
) -> Listing | None:
    """A contract listing from what the page shows; None when it has no title to stand on."""
    title = clean_text(raw.title)
    if not title:
        return None
    prices = _unique(raw.prices)
    primary = prices[0] if prices else None
    quantity = parse_quantity(raw.quantity_text) if raw.quantity_text else parse_quantity(title)
    drug, drug_class = drug_with_class(title, raw.category)
    listing = Listing(
        title=title,
        url=raw.url,
        vendor=clean_text(raw.vendor) or None,
        price=primary.amount if primary else None,
        currency=primary.currency if primary else None,
        prices=[money.as_dict() for money in prices],
        quantity=quantity.amount if quantity else None,
        unit=quantity.unit if quantity else None,
        drug=drug,
        drug_class=drug_class,
        ships_from=country_code(raw.ships_from),
        ships_to=country_codes(raw.ships_to),
        city=clean_text(raw.city) or None,
        district=clean_text(raw.district) or None,
        dead_drop=dead_drop_type(raw.dead_drop),
    )
    # A price the page shows in USD beats any conversion.
    usd_shown = next((money for money in prices if money.currency == "USD"), None)
    for money in ([usd_shown] if usd_shown else prices):
        conversion = to_usd(money.amount, money.currency, day, on_page_rates, store)
        if conversion:
            listing.price_usd, listing.price_usd_basis = conversion.usd, conversion.basis
            break
    listing.placeholder_price = is_placeholder(title, listing.price_usd, listing.price)
    if listing.price_usd is not None and quantity is not None:
        base_amount, _ = quantity.base
        listing.usd_per_base_unit = round(listing.price_usd / base_amount, 4)
    return listing

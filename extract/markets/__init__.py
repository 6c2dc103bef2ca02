"""Markets with their own page objects; anything else goes to the generic extractor."""
from __future__ import annotations

from extract.document import Document
from extract.markets.base import Market
from extract.markets.northwind import Northwind
from extract.markets.tayga import Tayga
from extract.markets.tortuga import Tortuga

MARKETS: dict[str, type[Market]] = {market.name: market for market in (Northwind, Tortuga, Tayga)}


def recognise(doc: Document) -> type[Market] | None:
    for market in MARKETS.values():
        if market.recognises(doc):
            return market
    return None

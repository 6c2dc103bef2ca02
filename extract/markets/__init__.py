"""Markets with their own page objects; anything else goes to the generic extractor."""
from __future__ import annotations

from extract.document import Document
from extract.markets.apollon import Apollon
from extract.markets.base import Market
from extract.markets.cryptonia import Cryptonia
from extract.markets.cypher import Cypher
from extract.markets.dream import Dream
from extract.markets.empire import Empire
from extract.markets.hydra import Hydra
from extract.markets.northwind import Northwind
from extract.markets.tayga import Tayga
from extract.markets.tortuga import Tortuga

MARKETS: dict[str, type[Market]] = {market.name: market for market in (Northwind, Tortuga, Tayga, Apollon, Cryptonia, Cypher, Dream, Empire, Hydra)}


def recognise(doc: Document) -> type[Market] | None:
    for market in MARKETS.values():
        if market.recognises(doc):
            return market
    return None

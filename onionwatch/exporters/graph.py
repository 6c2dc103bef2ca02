"""The network behind a selection: vendors, their accounts per market, markets, PGP keys, crypto
addresses and listings, as a ``networkx`` graph written as GraphML or GEXF (Gephi).

Nodes have an id ``<type>:<key>`` and a ``type`` attribute:

    vendor   vendor:<name, case-folded>       one name across markets
    account  account:<market>/<name>          the vendor's account on one market
    market   market:<name>
    pgp_key  pgp_key:<fingerprint>
    address  address:<chain>:<address>
    listing  listing:<listing id>

Edges have a ``relation``: ``has_account`` (vendor-account), ``on_market`` (account-market),
``uses_key`` / ``uses_address`` (account-key/address, from the vendor profile), ``sold_by``
(listing-account), ``listed_on`` (listing-market), ``shows_key`` / ``shows_address``
(listing-key/address printed on the listing page). Two accounts sharing a key or an address
meet at that node: the link an analyst looks for.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import networkx as nx

from onionwatch.exporters import ExportContext, exporter
from onionwatch.exporters.rows import digest_hex

NODE_TYPES = {"vendor": "vendors", "account": "accounts", "market": "markets", "pgp_key": "pgp_keys",
              "address": "addresses", "listing": "listings"}


def _add(graph: nx.DiGraph, node: str, **attributes) -> str:
    clean = {k: v for k, v in attributes.items() if v is not None}
    if node in graph:
        graph.nodes[node].update(clean)
    else:
        graph.add_node(node, **clean)
    return node


def _link(graph: nx.DiGraph, a: str, b: str, relation: str) -> None:
    if not graph.has_edge(a, b):
        graph.add_edge(a, b, relation=relation)


def account_node(graph: nx.DiGraph, market: str, name: str, vendor: dict | None) -> str:
    account = _add(graph, f"account:{market}/{name}", type="account", label=f"{name}@{market}", market=market,
                   name=name, first_seen=(vendor or {}).get("first_seen"), last_seen=(vendor or {}).get("last_seen"))
    person = _add(graph, f"vendor:{name.casefold()}", type="vendor", label=name)
    _link(graph, person, account, "has_account")
    _link(graph, account, _add(graph, f"market:{market}", type="market", label=market), "on_market")
    for fingerprint in (vendor or {}).get("pgp_fingerprints") or []:
        _link(graph, account, _add(graph, f"pgp_key:{fingerprint}", type="pgp_key", label=fingerprint), "uses_key")
    for address in (vendor or {}).get("crypto_addresses") or []:
        node = _add(graph, f"address:{address['chain']}:{address['address']}", type="address",
                    label=address["address"], chain=address["chain"])
        _link(graph, account, node, "uses_address")
    return account


def build_graph(items: Iterable) -> nx.DiGraph:
    graph = nx.DiGraph()
    for item in items:
        listing = item.listing
        market = listing.get("market") or "?"
        capture = item.capture or {}
        node = _add(graph, f"listing:{listing['listing_id']}", type="listing", label=listing.get("title"),
                    market=market, drug=listing.get("drug"), price=listing.get("price"),
                    currency=listing.get("currency"), price_usd=listing.get("price_usd"),
                    captured_at=listing.get("captured_at"), url=listing.get("source_url") or listing.get("url"),
                    capture_warc_file=capture.get("warc_file"), capture_offset=capture.get("offset"),
                    capture_sha256=digest_hex(capture.get("digest")))
        _link(graph, node, _add(graph, f"market:{market}", type="market", label=market), "listed_on")
        if listing.get("vendor"):
            _link(graph, node, account_node(graph, market, listing["vendor"], item.vendor), "sold_by")
        for fingerprint in listing.get("pgp_fingerprints") or []:
            _link(graph, node, _add(graph, f"pgp_key:{fingerprint}", type="pgp_key", label=fingerprint), "shows_key")
        for address in listing.get("crypto_addresses") or []:
            target = _add(graph, f"address:{address['chain']}:{address['address']}", type="address",
                          label=address["address"], chain=address["chain"])
            _link(graph, node, target, "shows_address")
    return graph


def _counts(graph: nx.DiGraph) -> dict:
    counts = {plural: 0 for plural in NODE_TYPES.values()}
    for _node, kind in graph.nodes(data="type"):
        counts[NODE_TYPES[kind]] += 1
    counts["edges"] = graph.number_of_edges()
    return counts


@exporter("graphml", "network of vendors, accounts, markets, PGP keys, addresses and listings (GraphML)")
def write_graphml(items: Iterable, out: Path, context: ExportContext) -> dict:
    graph = build_graph(items)
    nx.write_graphml(graph, out, encoding="utf-8")
    return _counts(graph)


@exporter("gexf", "the same network as GEXF 1.2, for Gephi")
def write_gexf(items: Iterable, out: Path, context: ExportContext) -> dict:
    graph = build_graph(items)
    nx.write_gexf(graph, out, encoding="utf-8")
    return _counts(graph)

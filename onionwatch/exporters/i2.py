"""i2 Analyst's Notebook import files: ``entities.csv`` and ``links.csv`` in a folder.

The same network as the graph exporters (``onionwatch.exporters.graph``), laid out for
Analyst's Notebook's Import Data wizard (tabular import, two passes: entities, then links).
``docs/i2-import.md`` is the import specification: columns, entity and link types, and the
wizard settings to save as an import specification (``.ximp``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from onionwatch.exporters import ExportContext, exporter
from onionwatch.exporters.graph import build_graph
from onionwatch.safe_output import safe_csv_writer

# onionwatch node type -> i2 entity type (standard i2 semantic types where one fits)
ENTITY_TYPES = {
    "vendor": "Person", "account": "Online Account", "market": "Website", "pgp_key": "PGP Key",
    "address": "Cryptocurrency Wallet", "listing": "Advertisement",
}
LINK_TYPES = {
    "has_account": "Uses Account", "on_market": "Member Of", "uses_key": "Uses Key", "uses_address": "Uses Wallet",
    "sold_by": "Posted By", "listed_on": "Listed On", "shows_key": "Shows Key", "shows_address": "Shows Wallet",
}
ENTITY_COLUMNS = ("Entity ID", "Entity Type", "Label", "Market", "Chain", "Drug", "Price", "Currency", "Price USD",
                  "First Seen", "Last Seen", "Date Captured", "URL", "Evidence File", "Evidence Offset",
                  "Evidence SHA256")
LINK_COLUMNS = ("Link ID", "From Entity ID", "To Entity ID", "Link Type", "Label")


def _value(value):
    return "" if value is None else value


@exporter("i2", "i2 Analyst's Notebook import: entities.csv and links.csv (spec: docs/i2-import.md)",
          target="folder")
def write_i2(items: Iterable, out: Path, context: ExportContext) -> dict:
    graph = build_graph(items)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "entities.csv", "w", newline="", encoding="utf-8-sig") as handle:
        writer = safe_csv_writer(handle)
        writer.writerow(ENTITY_COLUMNS)
        for node, data in sorted(graph.nodes(data=True)):
            writer.writerow([node, ENTITY_TYPES[data["type"]], _value(data.get("label")), _value(data.get("market")),
                             _value(data.get("chain")), _value(data.get("drug")), _value(data.get("price")),
                             _value(data.get("currency")), _value(data.get("price_usd")),
                             _value(data.get("first_seen")), _value(data.get("last_seen")),
                             _value(data.get("captured_at")), _value(data.get("url")),
                             _value(data.get("capture_warc_file")), _value(data.get("capture_offset")),
                             _value(data.get("capture_sha256"))])
    edges = sorted((a, b, data["relation"]) for a, b, data in graph.edges(data=True))
    with open(out / "links.csv", "w", newline="", encoding="utf-8-sig") as handle:
        writer = safe_csv_writer(handle)
        writer.writerow(LINK_COLUMNS)
        for number, (a, b, relation) in enumerate(edges, 1):
            writer.writerow([f"L{number}", a, b, LINK_TYPES[relation], relation.replace("_", " ")])
    return {"entities": graph.number_of_nodes(), "links": len(edges)}

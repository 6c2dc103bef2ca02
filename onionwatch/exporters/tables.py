"""Listings and observations as Parquet (pyarrow, row groups of a batch each) and as CSV, for notebooks.

``--out`` names a folder that receives ``listings.<ext>`` and ``observations.<ext>``;
DuckDB and pandas read them as they are (``SELECT * FROM 'out/listings.parquet'``).
In CSV, list values (ships_to, PGP fingerprints, addresses) are joined with ``; ``.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from onionwatch.exporters import ExportContext, exporter
from onionwatch.exporters.rows import LISTING_FIELDS, OBSERVATION_FIELDS, listing_row, observation_rows
from onionwatch.safe_output import SafeDictWriter

BATCH = 10_000
_TS = pa.timestamp("s", tz="UTC")
_STRINGS = pa.list_(pa.string())
LISTING_SCHEMA = pa.schema([
    ("listing_id", pa.string()), ("market", pa.string()), ("vendor", pa.string()), ("title", pa.string()),
    ("drug", pa.string()), ("drug_class", pa.string()), ("price", pa.float64()), ("currency", pa.string()),
    ("price_usd", pa.float64()), ("price_usd_basis", pa.string()), ("quantity", pa.float64()),
    ("unit", pa.string()), ("usd_per_base_unit", pa.float64()), ("placeholder_price", pa.bool_()),
    ("ships_from", pa.string()), ("ships_to", _STRINGS), ("city", pa.string()), ("district", pa.string()),
    ("dead_drop", pa.string()), ("pgp_fingerprints", _STRINGS), ("crypto_addresses", _STRINGS),
    ("url", pa.string()), ("source_url", pa.string()), ("page_type", pa.string()), ("captured_at", _TS),
    ("first_seen", _TS), ("last_seen", _TS), ("observations", pa.int32()), ("capture_warc_file", pa.string()),
    ("capture_offset", pa.int64()), ("capture_sha256", pa.string()),
])
OBSERVATION_SCHEMA = pa.schema([
    ("listing_id", pa.string()), ("market", pa.string()), ("vendor", pa.string()), ("day", pa.string()),
    ("captured_at", _TS), ("price", pa.float64()), ("currency", pa.string()), ("price_usd", pa.float64()),
    ("quantity", pa.float64()), ("unit", pa.string()), ("usd_per_base_unit", pa.float64()),
    ("placeholder_price", pa.bool_()),
])
assert tuple(LISTING_SCHEMA.names) == LISTING_FIELDS and tuple(OBSERVATION_SCHEMA.names) == OBSERVATION_FIELDS


def _time(value):
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _typed(row: dict, schema: pa.Schema) -> dict:
    for name in ("captured_at", "first_seen", "last_seen"):
        if name in row:
            row[name] = _time(row[name])
    for name in schema.names:
        if pa.types.is_floating(schema.field(name).type) and row.get(name) is not None:
            row[name] = float(row[name])
    return row


def _batches(items: Iterable):
    listings, observations = [], []
    for item in items:
        listings.append(listing_row(item))
        observations.extend(observation_rows(item))
        if len(listings) >= BATCH:
            yield listings, observations
            listings, observations = [], []
    if listings:
        yield listings, observations


@exporter("parquet", "listings.parquet and observations.parquet (pyarrow; DuckDB, pandas)", target="folder")
def write_parquet(items: Iterable, out: Path, context: ExportContext) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    counts = {"listings": 0, "observations": 0}
    with pq.ParquetWriter(out / "listings.parquet", LISTING_SCHEMA) as listing_writer, \
            pq.ParquetWriter(out / "observations.parquet", OBSERVATION_SCHEMA) as observation_writer:
        for listings, observations in _batches(items):
            listing_writer.write_table(pa.Table.from_pylist([_typed(r, LISTING_SCHEMA) for r in listings],
                                                            schema=LISTING_SCHEMA))
            if observations:
                observation_writer.write_table(pa.Table.from_pylist(
                    [_typed(r, OBSERVATION_SCHEMA) for r in observations], schema=OBSERVATION_SCHEMA))
            counts["listings"] += len(listings)
            counts["observations"] += len(observations)
    return counts


def _cell(value):
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


@exporter("csv", "listings.csv and observations.csv (one header row each; lists joined with '; ')", target="folder")
def write_csv(items: Iterable, out: Path, context: ExportContext) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    counts = {"listings": 0, "observations": 0}
    with open(out / "listings.csv", "w", newline="", encoding="utf-8") as listing_file, \
            open(out / "observations.csv", "w", newline="", encoding="utf-8") as observation_file:
        listing_writer = SafeDictWriter(listing_file, LISTING_FIELDS)
        observation_writer = SafeDictWriter(observation_file, OBSERVATION_FIELDS)
        listing_writer.writeheader()
        observation_writer.writeheader()
        for item in items:
            listing_writer.writerow({k: _cell(v) for k, v in listing_row(item).items()})
            rows = observation_rows(item)
            observation_writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
            counts["listings"] += 1
            counts["observations"] += len(rows)
    return counts

"""Embedded index at scale: ingest rate, filtered search latency, price aggregation time.

    python bench/index_speed.py [--count 1000000] [--path /tmp/onionwatch-bench]

Synthetic listings (drugs, markets, cities, vendors, prices over 24 months, in
English and Russian) go in through the same EmbeddedIndex the tool uses, in
batches of 50,000 (one commit each); then 200 searches with filters and the
price-by-drug-by-month aggregation are timed.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.aggregations import observation_from  # noqa: E402
from index.embedded import EmbeddedIndex  # noqa: E402

DRUGS = ["cocaine", "mephedrone", "alpha-pvp", "cannabis", "hashish", "mdma", "heroin", "amphetamine", "lsd"]
MARKETS = [f"market{i}" for i in range(12)]
CITIES = ["Алматы", "Астана", "Бишкек", "Ташкент", "Душанбе", "Москва", "Омск", None]
WORDS = ["VHQ", "crystal", "кристаллы", "pure", "мука", "flake", "premium", "шишки", "stealth", "uncut"]


def synthetic(count: int, seed: int = 7):
    rng = random.Random(seed)
    for i in range(count):
        drug = rng.choice(DRUGS)
        grams = rng.choice([0.5, 1, 2, 3.5, 5, 10, 28])
        price = round(rng.uniform(5, 120) * grams, 2)
        month = rng.randrange(24)
        yield {
            "listing_id": f"{i:012x}", "market": rng.choice(MARKETS), "drug": drug,
            "title": f"{drug} {rng.choice(WORDS)} {rng.choice(WORDS)} {grams}g",
            "vendor": f"vendor{rng.randrange(5000)}", "city": rng.choice(CITIES),
            "ships_from": rng.choice(["NL", "DE", "US", "GB", "KZ", None]), "currency": "USD",
            "price": price, "price_usd": price, "quantity": grams, "unit": "g",
            "usd_per_base_unit": round(price / grams, 4),
            "captured_at": f"{2023 + month // 12}-{month % 12 + 1:02d}-15T12:00:00Z",
        }


def batches(items, size):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=None)
    args = parser.parse_args()
    path = args.path or Path(tempfile.mkdtemp(prefix="onionwatch-bench-"))
    index = EmbeddedIndex(path)
    # Only the writes are timed, not making up the synthetic listings.
    ingest = observe = 0.0
    for batch in batches(synthetic(args.count), 50_000):
        started = time.perf_counter()
        index.upsert(batch)
        ingest += time.perf_counter() - started
        observations = [observation_from(doc) for doc in batch]
        started = time.perf_counter()
        index.add_observations(observations)
        observe += time.perf_counter() - started
    print(f"ingest: {args.count:,} listings in {ingest:.1f} s = {args.count / ingest:,.0f} listings/s")
    print(f"observations: {args.count:,} in {observe:.1f} s = {args.count / observe:,.0f} /s")

    rng = random.Random(1)
    queries = [f"{rng.choice(WORDS)} drug:{rng.choice(DRUGS)} market:{rng.choice(MARKETS)} "
               f"price_usd:[{rng.randrange(10, 100)} TO {rng.randrange(200, 2000)}]" for _ in range(200)]
    latencies = []
    for query in queries:
        started = time.perf_counter()
        index.search(query, limit=20)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    print(f"search with filters: p50 {statistics.median(latencies):.1f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)]:.1f} ms, max {latencies[-1]:.1f} ms")

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        rows = index.price_stats(group_by="drug")
        timings.append((time.perf_counter() - started) * 1000)
    exact = "exact" if rows and all(row["exact"] for row in rows) else "sketch estimates"
    print(f"price by drug by month, all observations ({exact}): {min(timings):.0f} ms best of 5, "
          f"{len(rows)} rows")
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        rows = index.price_stats("market:market0", group_by="drug")
        timings.append((time.perf_counter() - started) * 1000)
    exact = "exact" if rows and all(row["exact"] for row in rows) else "sketch estimates"
    print(f"price by drug by month, one market ({exact} quartiles): {min(timings):.0f} ms best of 5, "
          f"{len(rows)} rows")
    if args.path is None:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()

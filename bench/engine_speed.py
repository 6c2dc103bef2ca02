"""The real engine beside the embedded index: ingest listings/s, observations/s, search p95, aggregation.

    python bench/engine_speed.py [--count 200000] [--nodes 1] [--heap 2g] [--url http://host:9200 --flavour opensearch]

The same synthetic listings as ``bench/index_speed.py`` (drugs, markets, cities, vendors, prices
over 24 months, English and Russian) go into both backends through the code the tool uses:
``EmbeddedIndex`` and ``ElasticsearchIndex`` (OpenSearch flavour), in batches of 50,000 (each an
ingest call: bulk requests of 500, then a refresh). Then the same 200 filtered searches and the
price-by-drug-by-month aggregation run on both. Without ``--url`` the engine is the test engine
(OpenSearch 2.19 in a JVM on 127.0.0.1, ``tests/engine``), started and stopped here.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from index_speed import DRUGS, MARKETS, WORDS, batches, synthetic  # noqa: E402

from index.aggregations import observation_from  # noqa: E402
from index.elastic import ElasticsearchIndex  # noqa: E402
from index.embedded import EmbeddedIndex  # noqa: E402


def measure(name: str, index, count: int) -> dict:
    ingest = observe = 0.0
    for batch in batches(synthetic(count), 50_000):
        started = time.perf_counter()
        index.upsert(batch)
        ingest += time.perf_counter() - started
        observations = [observation_from(doc) for doc in batch]
        started = time.perf_counter()
        index.add_observations(observations)
        observe += time.perf_counter() - started
    assert index.count() == count, f"{name}: {index.count()} listings stored, {count} written"
    rng = random.Random(1)
    queries = [f"{rng.choice(WORDS)} drug:{rng.choice(DRUGS)} market:{rng.choice(MARKETS)} "
               f"price_usd:[{rng.randrange(10, 100)} TO {rng.randrange(200, 2000)}]" for _ in range(200)]
    for query in queries[:20]:  # warm caches, as a running service has them
        index.search(query, limit=20)
    latencies = []
    for query in queries:
        started = time.perf_counter()
        index.search(query, limit=20)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        index.price_stats(group_by="drug")
        timings.append((time.perf_counter() - started) * 1000)
    return {"name": name, "ingest": count / ingest, "observe": count / observe,
            "p50": statistics.median(latencies), "p95": latencies[int(len(latencies) * 0.95)],
            "agg": min(timings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--url", help="an existing cluster instead of the test engine")
    parser.add_argument("--flavour", default="opensearch", choices=["opensearch", "elasticsearch"])
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()
    results = []
    if not args.skip_embedded:
        path = Path(tempfile.mkdtemp(prefix="onionwatch-bench-"))
        try:
            results.append(measure("embedded (tantivy)", EmbeddedIndex(path), args.count))
        finally:
            shutil.rmtree(path, ignore_errors=True)
    engine = None
    if args.url:
        url, flavour = args.url, args.flavour
    else:
        from launcher import Engine

        engine = Engine(args.nodes, heap=args.heap)
        url, flavour = ",".join(engine.urls), "opensearch"
    index = ElasticsearchIndex.from_settings(url=url, flavour=flavour, prefix=f"onionwatch-bench-{uuid.uuid4().hex[:6]}",
                                             request_timeout=120)
    try:
        label = f"{flavour} ({'test engine, ' + str(args.nodes) + ' node(s) in one JVM' if engine else url})"
        results.append(measure(label, index, args.count))
    finally:
        index.drop()
        index.close()
        if engine:
            engine.close()
            shutil.rmtree(engine.data, ignore_errors=True)
    print(f"{args.count:,} synthetic listings (+ as many observations)")
    for r in results:
        print(f"{r['name']}: ingest {r['ingest']:,.0f} listings/s, observations {r['observe']:,.0f}/s, "
              f"search p50 {r['p50']:.1f} ms p95 {r['p95']:.1f} ms, price by drug by month {r['agg']:.0f} ms")
    if args.count < 1_000_000:
        for r in results:
            print(f"  extrapolated to 1M (linear ingest): {r['name']}: {1_000_000 / r['ingest'] / 60:.1f} min")


if __name__ == "__main__":
    main()

"""Web and API latency over a large embedded index, through a real server on 127.0.0.1.

    python bench/web_speed.py [--count 1000000] [--path /tmp/onionwatch-web-bench] [--requests 200]

Builds (or reuses, with --path) an index of synthetic listings the way bench/index_speed.py
does, starts ``onionwatch serve``'s application under uvicorn, and times, with an API token:
the search page (results, five facet counts, the audit entry, HTML) and the API search (first
pages and pages behind a cursor), for filtered queries. Prints p50/p95/max; the target is a
p95 under 100 ms at 1M listings.
"""
from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from index_speed import DRUGS, MARKETS, WORDS, batches, synthetic  # noqa: E402

from index.aggregations import observation_from  # noqa: E402
from index.embedded import EmbeddedIndex  # noqa: E402
from onionwatch.accounts import Accounts  # noqa: E402
from onionwatch.config import Config  # noqa: E402
from onionwatch.web.app import accounts_db, create_app  # noqa: E402


def build(config: Config, count: int) -> None:
    index = EmbeddedIndex(config.index_dir)
    if index.count() >= count:
        print(f"reusing the index at {config.index_dir} ({index.count():,} listings)")
        return
    started = time.perf_counter()
    for batch in batches(synthetic(count), 50_000):
        index.upsert(batch)
        index.add_observations([observation_from(doc) for doc in batch])
    print(f"built {count:,} listings in {time.perf_counter() - started:.0f} s")


def percentiles(name: str, timings: list[float]) -> None:
    timings = sorted(timings)
    print(f"{name:<42} p50 {statistics.median(timings):6.1f} ms   p95 {timings[int(len(timings) * 0.95)]:6.1f} ms"
          f"   max {timings[-1]:6.1f} ms   ({len(timings)} requests)")


def main() -> None:
    import httpx
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=None, help="data folder to build or reuse")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    data_dir = args.path or Path(tempfile.mkdtemp(prefix="onionwatch-web-bench-"))
    config = Config(data_dir=data_dir, markets=())
    build(config, args.count)

    accounts = Accounts(accounts_db(config))
    if accounts.user("bench") is None:
        accounts.add_user("bench", "benchmark password", "analyst")
    token = accounts.create_token("bench", "web_speed")[1]
    accounts.close()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    rng = random.Random(3)
    queries = [f"{rng.choice(WORDS)} drug:{rng.choice(DRUGS)} market:{rng.choice(MARKETS)} "
               f"price_usd:[{rng.randrange(10, 100)} TO {rng.randrange(200, 2000)}]" for _ in range(args.requests)]
    broad = [f"drug:{rng.choice(DRUGS)}" for _ in range(args.requests)]
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=60)

    def timed(path: str, params: dict) -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        answer = client.get(path, params=params)
        elapsed = (time.perf_counter() - started) * 1000
        answer.raise_for_status()
        return elapsed, answer

    for query in queries[:10]:  # warm caches
        timed("/", {"q": query})
    try:
        percentiles("search page, filtered (results + facets)", [timed("/", {"q": q})[0] for q in queries])
        percentiles("search page, one filter (broad)", [timed("/", {"q": q})[0] for q in broad])
        percentiles("API search, filtered, first page", [timed("/api/search", {"q": q, "limit": 50})[0]
                                                          for q in queries])
        cursor_timings = []
        for q in broad[: max(10, args.requests // 4)]:
            cursor = None
            for _ in range(4):
                elapsed, answer = timed("/api/search", {"q": q, "limit": 50, **({"cursor": cursor} if cursor else {})})
                cursor_timings.append(elapsed)
                cursor = answer.json()["next_cursor"]
                if not cursor:
                    break
        percentiles("API search, broad, pages 1-4 by cursor", cursor_timings)
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)
        if args.path is None:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

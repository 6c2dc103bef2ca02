"""One crawler machine writing to a shared cluster (run as a process by tests/test_engine_cluster.py).

    python tests/engine_writer.py --urls U1,U2,U3 --prefix P --writer w1 --ids 0:600 --runs 3 --data DIR

Each run writes its listings and observations through the pipeline's spooling write, records the
run in the history kept in the engine, and adds a PGP key of its own to one shared vendor. Prints
one JSON line: what it wrote, what it had to spool, the changes the history gave back.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_data import listings  # noqa: E402
from index.elastic import ElasticsearchIndex  # noqa: E402
from index.engine_history import EngineHistory  # noqa: E402
from onionwatch.pipeline import MarketReport, replay_pending, write_or_spool  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--writer", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    start, end = map(int, args.ids.split(":"))
    index = ElasticsearchIndex.from_settings(url=args.urls, flavour="opensearch", prefix=args.prefix, max_retries=5)
    index.retry_backoff_s = 0.2
    history = EngineHistory(index.api, prefix=args.prefix)
    pending = args.data / "pending"
    summary = {"writer": args.writer, "written": 0, "spooled": 0, "changes": []}
    key = args.writer.encode().hex().upper().ljust(40, "0")
    for run in range(args.runs):
        replay_pending(index, pending)
        docs = listings(range(start, end), run=run)
        report = MarketReport(market="m1")
        if write_or_spool(index, docs, pending, report):
            summary["written"] += report.indexed
        else:
            summary["spooled"] += len(docs)
        at = f"2024-{run + 1:02d}-01T00:00:00.{args.writer}"
        changes = history.record_run("m1", at, docs, None, [{"name": "vendor0", "pgp_fingerprints": [key]}])
        summary["changes"] += [(c["kind"], c.get("listing_id")) for c in changes]
    summary["replayed"] = replay_pending(index, pending)
    summary["key"] = key
    print(json.dumps(summary))
    index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

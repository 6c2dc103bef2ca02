"""Exports stream: peak memory of exporting 1M synthetic listings stays flat.

    python bench/export_memory.py [--count 1000000] [--formats parquet,csv,stix] [--stix-count 100000]

Each format runs in a child process, twice: with a tenth of the listings and with all of
them. The child builds the synthetic listings lazily (as ``onionwatch.selection.select``
yields them from the index, a page at a time: listing, one observation, the vendor account
with a PGP key and an address, the capture reference) and hands the stream to the exporter.
Printed per run: listings, seconds, listings per second, output size, and peak RSS
(``ru_maxrss``) against the RSS before exporting. ``--index-count N`` also indexes N listings
in an embedded index and exports them through ``select`` (index scan included). Bounded memory means the peak does not grow
with the count: compare the two rows of a format. STIX objects are built and validated by
``stix2`` one by one, which is slow (a few hundred listings a second), so STIX runs with
``--stix-count`` listings (default 100,000; its peak is as flat as the others').
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DRUGS = ["cocaine", "mephedrone", "alpha-pvp", "cannabis", "hashish", "mdma", "heroin", "amphetamine", "lsd"]
CITIES = ["Алматы", "Астана", "Бишкек", "Ташкент", "Душанбе", None]


def synthetic(count: int):
    from onionwatch.selection import Selected

    rng = random.Random(7)
    vendors = {}
    for n in range(2000):
        market = f"market{n % 12}"
        vendors[n] = {"market": market, "name": f"vendor{n}", "first_seen": "2025-01-01T00:00:00Z",
                      "last_seen": "2026-11-30T00:00:00Z", "pgp_fingerprints": [f"{n:040X}"],
                      "crypto_addresses": [{"chain": "BTC", "address": f"bc1qsynthetic{n:030d}"}]}
    for i in range(count):
        vendor = vendors[rng.randrange(2000)]
        day = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T12:00:00Z"
        listing_id = f"{i:032x}"
        price = round(rng.uniform(5, 900), 2)
        listing = {
            "listing_id": listing_id, "market": vendor["market"], "vendor": vendor["name"],
            "title": f"{rng.choice(DRUGS)} {rng.randint(1, 50)}g VHQ", "drug": rng.choice(DRUGS),
            "drug_class": "stimulant", "price": price, "currency": "USD", "price_usd": price, "quantity": 1.0,
            "unit": "g", "usd_per_base_unit": price, "placeholder_price": False, "ships_from": "NL",
            "ships_to": ["WW"], "city": rng.choice(CITIES), "district": None, "dead_drop": None,
            "crypto_addresses": [], "pgp_fingerprints": [], "url": f"http://{vendor['market']}.onion/item/{i}",
            "source_url": f"http://{vendor['market']}.onion/item/{i}", "page_type": "listing", "captured_at": day,
            "capture": {"warc_file": f"/data/captures/{vendor['market']}/2026-11-30/run.warc.gz", "offset": i * 4096,
                        "digest": "sha256:HKWWJOBFG5PHD6JKTRBMWOLY6QTVCPOZGMYO6TZ73WAPIV2VHGLA===="},
        }
        observation = {**{k: listing[k] for k in ("listing_id", "market", "vendor", "price", "currency",
                                                   "price_usd", "quantity", "unit", "usd_per_base_unit",
                                                   "placeholder_price", "captured_at")},
                       "doc_id": f"{listing_id}@{day[:10]}", "kind": "observation"}
        yield Selected(listing=listing, observations=[observation], vendor=vendor, capture=listing["capture"])


def child(fmt: str, count: int, out: Path) -> None:
    from onionwatch import exporters

    exporter = exporters.get(fmt)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    counts = exporter.write(synthetic(count), out, exporters.ExportContext(selection={"bench": count}))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.is_dir() else out.stat().st_size
    print(json.dumps({"format": fmt, "listings": count, "seconds": seconds, "before_mb": before / 1024,
                      "peak_mb": peak / 1024, "size_mb": size / 1e6, "counts": counts}))


def child_from_index(count: int, out: Path) -> None:
    """The whole path: synthetic listings indexed (embedded), then selected and exported to Parquet."""
    import itertools

    from index.aggregations import observation_from
    from index.embedded import EmbeddedIndex
    from onionwatch import exporters
    from onionwatch.selection import Selection, select

    if os.environ.get("BENCH_BUILD_ONLY"):  # the index is built in its own process, so its memory is not counted
        index = EmbeddedIndex(out / "index")
        stream = (item.listing for item in synthetic(count))
        while chunk := list(itertools.islice(stream, 50_000)):
            index.upsert(chunk)
            index.add_observations([observation_from(listing) for listing in chunk])
        return
    subprocess.run([sys.executable, __file__, "--child", "index", str(count), "--out", str(out)], check=True,
                   env={**os.environ, "BENCH_BUILD_ONLY": "1"})
    index = EmbeddedIndex(out / "index")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    counts = exporters.get("parquet").write(select(index, None, Selection()), out / "parquet",
                                            exporters.ExportContext())
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = sum(p.stat().st_size for p in (out / "parquet").iterdir())
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    resident = {key: int(status[key].split()[0]) / 1024 for key in ("RssAnon", "RssFile") if key in status}
    print(json.dumps({"format": "index->parquet", "listings": counts["listings"], "seconds": seconds,
                      "before_mb": before / 1024, "peak_mb": peak / 1024, "size_mb": size / 1e6, "counts": counts,
                      "resident_mb": resident}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--formats", default="parquet,csv,stix")
    parser.add_argument("--stix-count", type=int, default=100_000)
    parser.add_argument("--index-count", type=int, default=0,
                        help="also index this many listings (embedded) and export them through the selection")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    out_root = args.out or Path(tempfile.mkdtemp(prefix="onionwatch-export-"))
    if args.child:
        if args.child[0] == "index":
            child_from_index(int(args.child[1]), out_root)
        else:
            child(args.child[0], int(args.child[1]), out_root)
        return
    print(f"{'format':8} {'listings':>10} {'seconds':>8} {'per s':>8} {'output MB':>10} {'RSS before':>11} "
          f"{'peak RSS':>9}")
    try:
        formats = args.formats.split(",") + (["index"] if args.index_count else [])
        for fmt in formats:
            total = args.index_count if fmt == "index" else min(args.stix_count, args.count) if fmt == "stix" else args.count
            for count in (total // 10, total):
                target = out_root / f"{fmt}-{count}"
                run = subprocess.run([sys.executable, __file__, "--child", fmt, str(count), "--out", str(target)],
                                     capture_output=True, text=True, check=True)
                row = json.loads(run.stdout.strip().splitlines()[-1])
                print(f"{row['format']:8} {count:>10,} {row['seconds']:>8.1f} {count / row['seconds']:>8,.0f} "
                      f"{row['size_mb']:>10.1f} {row['before_mb']:>9.0f}MB {row['peak_mb']:>7.0f}MB"
                      + ("  (at the end: " + ", ".join(f"{k} {v:.0f}MB" for k, v in row["resident_mb"].items())
                         + "; RssFile is the index's memory-mapped files)" if row.get("resident_mb") else ""),
                      flush=True)
                if target.is_dir():
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    target.unlink(missing_ok=True)
    finally:
        if args.out is None:
            shutil.rmtree(out_root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Peak memory of a crawl: a folder mirror of 10,000 pages (and, optionally, many dead links).

    python bench/crawl_memory.py [--pages 10000] [--dead-links 0] [--path /tmp/onionwatch-crawl-bench]

Writes a synthetic market (an index, 100 category pages, listing pages of about
3 KB) and crawls it through the same child process ``onionwatch run`` uses
(Scrapy, WARC evidence, record manifest, gate check on every page). Prints pages
crawled, the time taken and the crawl child's peak resident memory (the target
is under 500 MB). ``--dead-links N`` spreads N links to missing files over the
category pages: a mirror with many dead links must neither retry them nor grow.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawlers.runner import CrawlSpec, crawl  # noqa: E402

CATEGORIES = 100


def write_mirror(root: Path, pages: int, dead_links: int) -> Path:
    per_category = max(1, -(-(pages - 1 - CATEGORIES) // CATEGORIES))
    dead_per_category = dead_links // CATEGORIES
    (root / "c").mkdir(parents=True)
    (root / "l").mkdir()
    links = "".join(f'<li><a href="c/{c}.html">Category {c}</a></li>' for c in range(CATEGORIES))
    (root / "index.html").write_text(f"<html><head><title>Bench market</title></head><body><ul>{links}</ul>"
                                     "</body></html>")
    filler = "<p>" + "Stealth shipping, escrow only, tracked. " * 60 + "</p>"
    for c in range(CATEGORIES):
        items = []
        for i in range(per_category):
            number = c * per_category + i
            items.append(f'<div class="item"><a href="../l/{number}.html">Cocaine {number % 50 + 1}g pure</a>'
                         f'<span class="price">${20 + number % 400}</span></div>')
            (root / "l" / f"{number}.html").write_text(
                f"<html><head><title>Cocaine {number % 50 + 1}g</title></head><body><h1>Cocaine {number % 50 + 1}g"
                f"</h1><table><tr><td>Price</td><td>${20 + number % 400}</td></tr></table><button>Buy</button>"
                f"{filler}<a href='../c/{c}.html'>back</a></body></html>")
        dead = "".join(f'<a href="../l/missing-{c}-{d}.html">gone</a>' for d in range(dead_per_category))
        (root / "c" / f"{c}.html").write_text(f"<html><head><title>Category {c}</title></head><body>"
                                              f"{''.join(items)}{dead}</body></html>")
    return root / "index.html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--dead-links", type=int, default=0)
    parser.add_argument("--path", type=Path, default=None)
    args = parser.parse_args()
    scratch = args.path or Path(tempfile.mkdtemp(prefix="onionwatch-crawl-bench-"))
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        start = write_mirror(scratch / "mirror", args.pages, args.dead_links)
        spec = CrawlSpec(market="bench", start_url=start.as_uri(), warc_path=str(scratch / "bench.warc.gz"),
                         max_pages=args.pages + 10, max_depth=8, wall_clock_s=3600)
        began = time.monotonic()
        summary = crawl(spec)
        took = time.monotonic() - began
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KB on Linux
        failed = len(summary.failures)
        print(f"crawl: {summary.status}, {summary.pages} pages, {failed} failure lines, {took:.1f} s "
              f"({summary.pages / took:.0f} pages/s)")
        print(f"peak memory of the crawl child: {peak_mb:.0f} MB (target < 500 MB)")
        print(f"WARC: {Path(spec.warc_path).stat().st_size / 1e6:.1f} MB")
        return 0 if peak_mb < 500 and summary.status == "ok" else 1
    finally:
        if args.path is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

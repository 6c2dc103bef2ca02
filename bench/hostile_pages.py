"""Time to extract pages built to be slow: one 10 MB page of 21,600 items, and deep nesting.

    python bench/hostile_pages.py [--items 21600]

The spaCy pipeline is loaded (one warm-up page) before timing; figures are one core.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.page import MAX_PAGE_BYTES, extract_page  # noqa: E402


def big_page(items: int) -> bytes:
    cards = "".join(f'<div class="item"><a href="/listing/{i}">Cocaine {i % 97 + 1} g pure</a> '
                    f'<span class="price">${10 + i % 500}</span></div>' for i in range(items))
    page = f"<html><head><title>All listings</title></head><body><div class='list'>{cards}</div>"
    pad = MAX_PAGE_BYTES - 100 - len(page)
    return (page + ("<p>" + "filler " * (pad // 7) + "</p>" if pad > 0 else "") + "</body></html>").encode()


def deep_page(levels: int) -> bytes:
    return ("<html><body>" + "<div>" * levels + "<h1>Cocaine 1g</h1><table><tr><td>Price</td><td>$50</td></tr>"
            "</table><button>Buy</button>" + "</div>" * levels + "</body></html>").encode()


def timed(raw: bytes, name: str) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    result = extract_page(raw, name)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{name}: {len(raw) / 1e6:.1f} MB, {result.page_type}, {len(result.listings)} listings, "
          f"{len(result.warnings)} warnings{', error: ' + result.error if result.error else ''}; "
          f"{took:.2f} s wall, {cpu:.2f} s CPU")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=21_600)
    args = parser.parse_args()
    extract_page(deep_page(1), "warm-up")
    timed(big_page(args.items), f"{args.items} items")
    for levels in (300, 2000, 10_000):
        timed(deep_page(levels), f"nested {levels} levels")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Extraction speed on saved pages: pages/s and MB/s, beside a plain lxml parse of the same pages.

    python bench/extract_speed.py [PAGES_DIR] [--generic]

Defaults to the shared corpus (../shared/corpus/pages). One core, one process;
what extraction loads once (spaCy pipelines, models, lexicons, rates) is loaded
before timing by ``extract.page.prepare``, as the CLI does (a one-off cost of
about a second, reported separately).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.page import extract_page, prepare  # noqa: E402


def clear_caches() -> None:
    """Empty every memo of page content in the extraction modules (a cold start, as on new pages).

    Memos of texts are the ``functools.lru_cache`` with a bound above 64 (drug names, places,
    prices, segment features, country names). Resources loaded once per process (the spaCy
    pipelines and their fast paths, lexicon indexes, country tables: bound of 1 or 2, or none)
    are kept, as they would be in a long run."""
    for name, module in list(sys.modules.items()):
        if name == "extract" or name.startswith("extract."):
            for value in list(vars(module).values()):
                parameters = getattr(value, "cache_parameters", None)
                if parameters is not None and (parameters()["maxsize"] or 0) > 64:
                    value.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", nargs="?", type=Path, default=ROOT.parent / "shared" / "corpus" / "pages")
    parser.add_argument("--generic", action="store_true", help="force the generic extractor")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the pages (best is reported)")
    args = parser.parse_args()

    pages = [p.read_bytes() for p in sorted(args.pages.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    megabytes = sum(map(len, pages)) / 1e6
    started = time.perf_counter()
    prepare()  # as the CLI and monitoring runs do: resources loaded, then frozen for the collector
    print(f"resources load: {time.perf_counter() - started:.2f} s (once per process)")

    def best_of(work) -> float:
        times = []
        for _ in range(args.rounds):
            # Each round starts cold: nothing remembered from the round before (drug names,
            # segment features, prices: every memo in extract/ is emptied).
            clear_caches()
            started = time.perf_counter()
            for raw in pages:
                work(raw)
            times.append(time.perf_counter() - started)
        return min(times)

    lxml_time = best_of(lambda raw: lxml.html.document_fromstring(raw))
    mode = "generic" if args.generic else "market parsers + generic fallback"
    extract_time = best_of(lambda raw: extract_page(raw, "bench", generic=args.generic))
    print(f"{len(pages)} pages, {megabytes:.1f} MB, from {args.pages}")
    print(f"plain lxml parse:            {len(pages) / lxml_time:8.1f} pages/s {megabytes / lxml_time:7.1f} MB/s")
    print(f"extract ({mode}): {len(pages) / extract_time:8.1f} pages/s {megabytes / extract_time:7.1f} MB/s")


if __name__ == "__main__":
    main()

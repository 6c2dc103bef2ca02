"""Speed of the normalisation step alone: ``normalise()`` per item, and the drug and place reading in it.

    python bench/normalise_speed.py [PAGES_DIR] [--generic] [--rounds N] [--profile]

Reads the pages once (default ../shared/corpus/pages, generic extractor with --generic) and keeps
every item the page objects hand to ``normalise()``, with the page's rates as read; then times
``normalise()`` over those items, and the spaCy step on its own (``drug_with_class`` and
``places_in`` over the same texts, through the fast path and through the full pipeline). Every
round starts cold: the drug, place, amount and country answers of the round before are forgotten,
so each distinct text is read once per round, as in one pass over the pages.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import extract.page  # noqa: E402
from extract import nlp  # noqa: E402
from extract.document import clean_text  # noqa: E402
from extract.measures import parse_quantity  # noqa: E402
from extract.places import country_code  # noqa: E402
from extract.page import extract_page  # noqa: E402


def _cold() -> None:
    nlp.detect_drug.cache_clear()
    nlp._resolve.cache_clear()
    nlp.places_in.cache_clear()
    parse_quantity.cache_clear()
    country_code.cache_clear()


def collect(pages: list[bytes], generic: bool) -> list[tuple]:
    """The arguments of every normalise() call while the pages are extracted."""
    calls = []
    real = extract.page.normalise

    def keep(raw, on_page_rates, day, store):
        rates = on_page_rates()
        calls.append((raw, lambda: rates, day, store))
        return real(raw, on_page_rates, day, store)

    extract.page.normalise = keep
    try:
        for page in pages:
            extract_page(page, "bench", generic=generic)
    finally:
        extract.page.normalise = real
    return calls


def best_of(rounds: int, work) -> float:
    times = []
    for _ in range(rounds):
        _cold()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", nargs="?", type=Path, default=ROOT.parent / "shared" / "corpus" / "pages")
    parser.add_argument("--generic", action="store_true", help="items from the generic extractor")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes (best is reported)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one normalise() pass")
    args = parser.parse_args()

    from extract.normalise import normalise

    pages = [p.read_bytes() for p in sorted(args.pages.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    for lang in ("en", "ru"):
        nlp.fast_path(lang)
    calls = collect(pages, args.generic)
    titles = [(clean_text(raw.title), raw.category) for raw, *_ in calls if clean_text(raw.title)]
    places = [raw.dead_drop for raw, *_ in calls if raw.dead_drop and raw.dead_drop.strip()]
    texts = sorted({text for title, category in titles for text in (title, category) if text})
    print(f"{len(pages)} pages, {len(calls)} items ({len(texts)} distinct titles and categories, "
          f"{len(places)} dead-drop texts), {args.rounds} rounds, best shown")

    def run_normalise():
        for call in calls:
            normalise(*call)

    def run_nlp():
        for title, category in titles:
            nlp.drug_with_class(title, category)
        for text in places:
            nlp.places_in(text)

    def run_pipeline():
        for text in texts:
            cleaned = nlp._GLUE.sub(" ", text)
            nlp.load_pipeline(nlp.language_of(cleaned))(cleaned)

    def run_fast():
        for text in texts:
            cleaned = nlp._GLUE.sub(" ", text)
            nlp.fast_path(nlp.language_of(cleaned)).drug(cleaned)

    per_item = best_of(args.rounds, run_normalise) / len(calls) * 1e6
    print(f"normalise():                    {per_item:8.1f} us/item")
    print(f"  drug_with_class + places_in:  {best_of(args.rounds, run_nlp) / len(calls) * 1e6:8.1f} us/item")
    print(f"one text, full spaCy pipeline:  {best_of(args.rounds, run_pipeline) / len(texts) * 1e6:8.1f} us/text")
    print(f"one text, fast path:            {best_of(args.rounds, run_fast) / len(texts) * 1e6:8.1f} us/text")
    if args.profile:
        _cold()
        profile = cProfile.Profile()
        profile.runcall(run_normalise)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()

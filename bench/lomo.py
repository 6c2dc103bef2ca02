"""Leave-one-market-out score of the generic extractor on the shared corpus.

    python bench/lomo.py [--corpus ../shared/corpus] [--jobs 2] [--report extract/generic/LOMO.json]

For each corpus market M, everything learned (the generic extractor's model) is
trained on the other markets only; the generic path then extracts M's pages and
the shared scorer (../shared/tools/score_extraction.py, imported) scores them
against M's gold. Prints per-market F1 per field, each market's mean F1, the
market-macro over markets and page-type accuracy. These are the numbers to
report: they say how the extractor does on a market it has not seen.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections import defaultdict
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.page import extract_page  # noqa: E402

try:  # the learned model (absent in the rule-only baseline)
    from extract.generic import train as generic_train  # noqa: E402
    from extract.generic.model import use_model  # noqa: E402
except ImportError:  # pragma: no cover - baseline before the package existed
    generic_train = None
    use_model = None


def load_scorer(corpus: Path):
    path = corpus.parent / "tools" / "score_extraction.py"
    spec = importlib.util.spec_from_file_location("score_extraction", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_STATE: dict = {}


def _samples_for(item):
    source, gold = item
    return source, generic_train.page_samples((_STATE["pages"] / source).read_bytes(), gold)


def _fold(market: str):
    """Train on every market but ``market``, extract ``market``'s pages; the predictions."""
    gold, samples = _STATE["gold"], _STATE["samples"]
    started = time.perf_counter()
    if generic_train is not None:
        training = [s for source, s in samples.items() if gold[source]["market"] != market]
        use_model(generic_train.fit(training))
    trained = time.perf_counter() - started
    predictions = {}
    for source, page in gold.items():
        if page["market"] != market:
            continue
        result = extract_page((_STATE["pages"] / source).read_bytes(), source=source, generic=True)
        predictions[source] = json.loads(json.dumps(result.as_dict()))
    return market, predictions, trained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (at most 2 on a shared machine)")
    parser.add_argument("--report", type=Path, help="write the scores here as JSON")
    parser.add_argument("--only", nargs="*", help="score only these markets")
    args = parser.parse_args()
    if not (args.corpus / "gold").is_dir():
        parser.error(f"no corpus at {args.corpus} (expected gold/ and pages/ below it)")
    scorer = load_scorer(args.corpus)
    gold = {os.path.normpath(k): v for k, v in scorer.load_gold(str(args.corpus / "gold")).items()}
    _STATE.update(gold=gold, pages=args.corpus / "pages")
    started = time.perf_counter()
    jobs = max(1, min(2, args.jobs))
    ctx = get_context("fork")
    if generic_train is not None:
        with ctx.Pool(jobs) as pool:
            _STATE["samples"] = dict(pool.map(_samples_for, sorted(gold.items()), chunksize=8))
    else:
        _STATE["samples"] = {}
    featured = time.perf_counter() - started
    markets = sorted({page["market"] for page in gold.values()})
    if args.only:
        markets = [m for m in markets if m in args.only]
    with ctx.Pool(jobs) as pool:
        folds = pool.map(_fold, markets, chunksize=1)

    by_market = defaultdict(scorer.Tally)
    page_ok = defaultdict(int)
    page_n = defaultdict(int)
    for market, predictions, _ in folds:
        for source, gold_page in sorted(gold.items()):
            if gold_page["market"] != market:
                continue
            pred = predictions.get(source)
            scorer.score_page(pred, gold_page, by_market[market])
            page_n[market] += 1
            page_ok[market] += bool(pred) and pred.get("page_type") == gold_page["page_type"]

    fields = scorer.FIELDS
    print(f"{'market':<22}" + "".join(f"{f:>11}" for f in fields) + f"{'mean':>8}{'ptype':>8}")
    report = {"markets": {}}
    for market in markets:
        tally = by_market[market]
        f1s = {f: tally.prf(f)[2] for f in fields}
        summary = [f1s[f] for f in scorer.SUMMARY_FIELDS if f1s[f] is not None]
        mean = sum(summary) / len(summary) if summary else 0.0
        accuracy = page_ok[market] / page_n[market]
        report["markets"][market] = {"f1": f1s, "mean_f1": mean, "page_type_accuracy": accuracy,
                                     "pages": page_n[market]}
        cells = "".join("        n/a" if f1s[f] is None else f"{f1s[f]:>11.3f}" for f in fields)
        print(f"{market:<22}{cells}{mean:>8.3f}{accuracy:>8.3f}")
    macro = scorer.market_macro_f1({m: by_market[m] for m in markets})
    accuracy = sum(page_ok.values()) / sum(page_n.values())
    report.update(market_macro_f1=macro, page_type_accuracy=accuracy, markets_scored=len(markets),
                  pages=sum(page_n.values()), seconds=round(time.perf_counter() - started, 1))
    print(f"\nleave-one-market-out: market-macro F1 {macro:.3f}, page_type accuracy {accuracy:.3f}, "
          f"{len(markets)} markets, {report['pages']} pages, {report['seconds']} s "
          f"(features {featured:.1f} s)")
    if args.report:
        args.report.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""One-example score of learned markets on the development corpus, and learning/reading speed.

For each market and each page type that has listings, the first such page (sorted by path)
is the example; the market's other pages of that type are extracted with
``onionwatch extract --jsonl --market NAME --examples DIR`` and scored with
``../shared/tools/score_extraction.py`` (market-macro). Then: seconds to learn per example
page, and pages per second read with a learned layout against the generic path.

    .venv/bin/python bench/learn_score.py [--corpus ../shared/corpus] [--market NAME ...]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extract.document import parse  # noqa: E402
from extract.learned import LearnedMarket, learn_from_examples  # noqa: E402
from extract.page import extract_page  # noqa: E402


def plan(corpus: Path, only: set[str]) -> dict:
    """market -> page type -> sorted page paths (relative to pages/), for types with listings."""
    gold_dir = corpus / "gold"
    found: dict = defaultdict(lambda: defaultdict(list))
    for gold in sorted(gold_dir.rglob("*.json")):
        labels = json.loads(gold.read_text(encoding="utf-8"))
        market = gold.relative_to(gold_dir).parts[0]
        if only and market not in only:
            continue
        if labels.get("listings"):
            found[market][labels["page_type"]].append(labels["source"])
    for market in found.values():
        for pages in market.values():
            pages.sort()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--scorer", default=str(ROOT.parent / "shared" / "tools" / "score_extraction.py"))
    parser.add_argument("--market", action="append", default=[])
    parser.add_argument("--keep", help="keep the work folder here")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    pages_dir, gold_dir = corpus / "pages", corpus / "gold"
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="learn-score-"))
    todo = plan(corpus, set(args.market))
    work.mkdir(parents=True, exist_ok=True)
    predictions = work / "predictions.jsonl"
    gold_out, pages_out = work / "gold", work / "pages"
    for folder in (gold_out, pages_out):
        shutil.rmtree(folder, ignore_errors=True)
    learn_times, learned_reads, generic_reads = [], [], []
    onionwatch = [str(Path(sys.executable).parent / "onionwatch")]
    with predictions.open("w", encoding="utf-8") as out:
        for market, types in sorted(todo.items()):
            for page_type, sources in sorted(types.items()):
                if len(sources) < 2:
                    continue
                example, rest = sources[0], sources[1:]
                examples = work / "examples" / market / page_type
                shutil.rmtree(examples, ignore_errors=True)
                examples.mkdir(parents=True)
                name = Path(example).name
                shutil.copyfile(pages_dir / example, examples / name)
                shutil.copyfile(gold_dir / (example + ".json"), examples / (name + ".json"))
                for source in rest:  # the scorer reads gold for the scored pages only
                    for base, suffix, into in ((gold_dir, ".json", gold_out), (pages_dir, "", pages_out)):
                        target = into / (source + suffix)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(base / (source + suffix), target)
                started = time.perf_counter()
                model = learn_from_examples([(examples / name, examples / (name + ".json"))], strict=False)
                learn_times.append(time.perf_counter() - started)
                learned = LearnedMarket(market, model)
                bodies = [(s, (pages_dir / s).read_bytes()) for s in rest]
                started = time.perf_counter()
                for source, body in bodies:
                    extract_page(body, source=source, market=market, learned=learned)
                learned_reads.append((len(bodies), time.perf_counter() - started))
                started = time.perf_counter()
                for source, body in bodies:
                    extract_page(body, source=source, generic=True)
                generic_reads.append((len(bodies), time.perf_counter() - started))
                command = onionwatch + ["extract", "--jsonl", "--market", market, "--examples", str(examples)]
                command += [str(pages_out / s) for s in rest]
                result = subprocess.run(command, capture_output=True, text=True)
                if result.returncode != 0:
                    print(f"{market}/{page_type}: extract failed: {result.stderr.strip()}", file=sys.stderr)
                    continue
                for line in result.stdout.splitlines():
                    record = json.loads(line)
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    score = subprocess.run([sys.executable, args.scorer, "--gold", str(gold_out), "--pages", str(pages_out),
                            "--predictions", str(predictions)], capture_output=True, text=True)
    print(score.stdout.rstrip())
    if score.returncode != 0:
        print(score.stderr.rstrip(), file=sys.stderr)
    n_learned = sum(n for n, _ in learned_reads)
    t_learned = sum(t for _, t in learned_reads)
    t_generic = sum(t for _, t in generic_reads)
    print(f"\nlearning: {len(learn_times)} example pages, mean {sum(learn_times) / max(1, len(learn_times)):.3f} s, "
          f"max {max(learn_times, default=0):.3f} s per page (target < 1 s)")
    print(f"reading: learned layout {n_learned / max(t_learned, 1e-9):.1f} pages/s, "
          f"generic path {n_learned / max(t_generic, 1e-9):.1f} pages/s on the same {n_learned} pages")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

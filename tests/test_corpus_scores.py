"""The extraction targets on the shared corpus, scored by the shared scorer: a drop fails the build."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from prereq import SHARED, need_shared

SCORER = SHARED / "tools" / "score_extraction.py"


# The corpus markets that have page objects (extract/markets/); the others go to the generic path.
PAGE_OBJECT_MARKETS = ("apollon", "cryptonia", "cypher", "dream", "empire", "hydra")


def score(*extract_args: str, gold: Path | None = None, pages: Path | None = None) -> dict[str, float]:
    need_shared("tools", "score_extraction.py")
    need_shared("corpus", "gold")
    command = [sys.executable, str(SCORER), "--gold", str(gold or SHARED / "corpus" / "gold"),
               "--pages", str(pages or SHARED / "corpus" / "pages"), "--",
               sys.executable, "-m", "onionwatch.cli", "extract", "--jsonl", *extract_args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    numbers = dict(re.findall(r"(mean F1|market-macro F1|page_type accuracy) ([\d.]+)", summary))
    return {name: float(value) for name, value in numbers.items()}


def test_with_market_parsers():
    scores = score()
    assert scores["mean F1"] >= 0.97, scores
    assert scores["market-macro F1"] >= 0.95, scores
    assert scores["page_type accuracy"] >= 0.98, scores


def test_generic_extractor_alone():
    scores = score("--generic")
    assert scores["market-macro F1"] >= 0.85, scores
    assert scores["page_type accuracy"] >= 0.95, scores


def test_page_objects_on_their_own_markets(tmp_path):
    """The six markets with page objects, scored alone: no worse than before the corpus grew
    (0.998 mean, 0.996 market-macro, 1.000 page type)."""
    need_shared("corpus", "gold")
    gold, pages = tmp_path / "gold", tmp_path / "pages"
    gold.mkdir()
    pages.mkdir()
    for market in PAGE_OBJECT_MARKETS:  # a link per file (the scorer does not follow linked folders)
        for kind, folder in (("gold", gold), ("pages", pages)):
            for source in (SHARED / "corpus" / kind / market).rglob("*"):
                if source.is_file():
                    target = folder / source.relative_to(SHARED / "corpus" / kind)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.symlink_to(source)
    scores = score(gold=gold, pages=pages)
    assert scores["mean F1"] >= 0.997, scores
    assert scores["market-macro F1"] >= 0.995, scores
    assert scores["page_type accuracy"] >= 0.999, scores

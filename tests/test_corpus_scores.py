"""The extraction targets on the shared corpus, scored by the shared scorer: a drop fails the build."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from prereq import SHARED, need_shared

SCORER = SHARED / "tools" / "score_extraction.py"


def score(*extract_args: str) -> dict[str, float]:
    need_shared("tools", "score_extraction.py")
    need_shared("corpus", "gold")
    command = [sys.executable, str(SCORER), "--gold", str(SHARED / "corpus" / "gold"),
               "--pages", str(SHARED / "corpus" / "pages"), "--",
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

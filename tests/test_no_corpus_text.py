"""No text of the shared corpus in the repository: the real pages are for reading and scoring only.

Compares every tracked source, test, lexicon and document file (samples/ holds our own pages)
with the gold labels: distinctive vendor handles, listing titles, listing ids of the markets'
links, crypto addresses and PGP fingerprints. Run it as a script to list the hits:
``python tests/test_no_corpus_text.py``.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from prereq import SHARED, need_shared

REPO = Path(__file__).resolve().parents[1]
SCANNED = re.compile(r"\.(py|jsonl|json|toml|cfg|md|txt|tsv|html|sh)$|^\.ci/")
MIN_TITLE = 16


def _distinctive_handle(name: str) -> bool:
    """A handle nobody writes by chance: five characters or more with a digit, a case change
    inside (aB), or a symbol; plain words ("steroids", "europe") say nothing."""
    return len(name) >= 5 and bool(re.search(r"\d|[a-z][A-Z]|[_.\-]", name)) and bool(re.search(r"[A-Za-z]", name))


def corpus_strings(gold: Path) -> dict[str, set[str]]:
    # A handle that is a name of the field (a vendor calling itself after a brand) is no leak.
    vocabulary = set(re.findall(r"[\w-]+", (REPO / "extract" / "data" / "drug-vocabulary.tsv").read_text(encoding="utf-8").casefold()))
    found: dict[str, set[str]] = {"vendor": set(), "title": set(), "id": set(), "key": set()}
    for path in gold.rglob("*.json"):
        page = json.loads(path.read_text(encoding="utf-8"))
        for item in page.get("listings") or []:
            vendor, title = (item.get("vendor") or "").strip(), (item.get("title") or "").strip()
            if _distinctive_handle(vendor) and vendor.casefold() not in vocabulary:
                found["vendor"].add(vendor)
            if len(title) >= MIN_TITLE:
                found["title"].add(title)
            # listing ids in the market's links: five digits or more, not a round number
            found["id"].update(i for i in re.findall(r"\d{5,}", item.get("url") or "") if not i.endswith("00"))
            found["key"].update(a["address"] for a in item.get("crypto_addresses") or [] if a.get("address"))
            found["key"].update(item.get("pgp_fingerprints") or [])
    return found


def repository_files() -> list[str]:
    names = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=REPO, check=True).stdout.split()
    return [n for n in names if SCANNED.search(n) and not n.startswith("samples/")]


def leaks(gold: Path) -> list[str]:
    strings = corpus_strings(gold)
    hits = []
    for name in repository_files():
        text = (REPO / name).read_text(encoding="utf-8", errors="replace")
        words = set(re.findall(r"[\w.\-]+", text))
        numbers = set(re.findall(r"(?<!\d)\d{5,}(?!\d)", text))
        hits += [f"{name}: vendor {v!r}" for v in strings["vendor"] if v in words or (not re.fullmatch(r"[\w.\-]+", v) and v in text)]
        hits += [f"{name}: title {t[:60]!r}" for t in strings["title"] if t in text]
        hits += [f"{name}: listing id {i}" for i in strings["id"] & numbers]
        hits += [f"{name}: key {k[:20]}…" for k in strings["key"] if k in text]
    return sorted(hits)


def test_no_corpus_text_in_the_repository():
    gold = need_shared("corpus", "gold")
    found = leaks(gold)
    assert not found, "text of the shared corpus in the repository:\n" + "\n".join(found[:30])


if __name__ == "__main__":
    print("\n".join(leaks(SHARED / "corpus" / "gold")) or "no corpus text found")
    sys.exit(0)

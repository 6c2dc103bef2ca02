"""The spaCy pipeline that names the drug a listing sells (config.cfg, patterns/drugs.jsonl).

Components are registered here through ``@Language.factory``; the pipeline is
assembled from ``config.cfg`` for ``spacy.blank("en")`` or ``spacy.blank("ru")``
(no statistical model is needed).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import spacy
import srsly
from spacy.language import Language
from spacy.tokens import Doc

from extract.measures import parse_quantity
from extract.vocabulary import drug_class

NLP_DIR = Path(__file__).parent
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
# Longest first, so "ами" is stripped before "и".
_RU_ENDINGS = sorted(
    "а я ы и у ю е о ой ей ом ем ам ям ах ях ами ями ов ев ого его ому ему ую юю ая яя ые ие ых их".split(),
    key=len, reverse=True,
)
_CONTEXT_CUES = re.compile(
    r"\b(vhq|hq|pure|purity|uncut|crystal|rock|кристалл\w*|крис|чист\w*|мука|vhq|\d+\s?%)", re.IGNORECASE
)

_CANNABIS_FORMS = {"hashish", "cannabis-concentrate", "cannabis-edible", "cannabis-seeds"}

for _extension in ("drug", "quantity", "dead_drop", "city"):
    if not Doc.has_extension(_extension):
        Doc.set_extension(_extension, default=None)


@spacy.registry.readers("onionwatch.read_patterns.v2")
def read_patterns(paths: list[str]) -> list[dict]:
    """EntityRuler patterns from JSONL files (relative to this folder), as one list.

    v1 read a single file; v2 reads several, so lexicons stay in files of their own.
    Naming stems (label DRUG_STEM, a regular expression) are not EntityRuler patterns: the
    drug resolver reads them for words no entry matched (see ``_stem_drug``).
    """
    return [pattern for path in paths for pattern in srsly.read_jsonl(NLP_DIR / path)
            if pattern["label"] != "DRUG_STEM"]


@spacy.registry.tokenizers("onionwatch.plain_tokenizer.v1")
def create_plain_tokenizer():
    """spaCy's tokenizer without its special cases: they split "id" into "i 'd" and the like,
    which breaks lexicon entries written in lower case."""

    def create(nlp: Language):
        tokenizer = spacy.registry.tokenizers.get("spacy.Tokenizer.v1")()(nlp)
        tokenizer.rules = {}
        return tokenizer

    return create


def _context_cues(doc: Doc) -> int:
    return len(_CONTEXT_CUES.findall(doc.text)) + int(_offers_amount(doc))


_LATIN_WORD = re.compile(r"[a-z]{7,}")


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one insertion, deletion, substitution or swap of neighbours."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) != len(b):
        short, long_ = sorted((a, b), key=len)
        return short in _deletions(long_)
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                               and a[diff[1]] == b[diff[0]])


@lru_cache(maxsize=1)
def _stems() -> tuple[tuple[re.Pattern, str], ...]:
    """(regular expression, id) of the naming stems in drugs.jsonl (-azolam, -fentanyl, -pinaca)."""
    return tuple((re.compile(entry["pattern"]), entry["id"]) for entry in srsly.read_jsonl(NLP_DIR / "patterns" / "drugs.jsonl")
                 if entry["label"] == "DRUG_STEM")


def _stem_drug(word: str) -> str | None:
    """The drug a word names by its INN or naming stem (bromazolam, ocfentanyl, adb-butinaca)."""
    return next((drug for pattern, drug in _stems() if pattern.match(word)), None)


@lru_cache(maxsize=1)
def _misspelling_index() -> dict[str, set[tuple[str, str]]]:
    """Clear one-word drug names of seven letters or more, keyed by themselves and every
    one-letter deletion of them (the symmetric-delete scheme), for near-miss lookups."""
    index: dict[str, set[tuple[str, str]]] = {}
    for entry in read_patterns(["patterns/drugs.jsonl"]):
        name = entry["pattern"]
        if entry["label"] == "DRUG" and isinstance(name, str) and _LATIN_WORD.fullmatch(name):
            for key in _deletions(name) | {name}:
                index.setdefault(key, set()).add((name, entry["id"]))
    return index


def misspelt_drug(word: str) -> str | None:
    """The drug a Latin word of seven letters or more names with one typo inside it
    (oxycocone -> oxycodone, ecstacy -> ecstasy), when exactly one drug is that close; else None.

    The first letter must agree, and the last too for names under nine letters,
    so inflected or unrelated words (concerts, morphing, asteroid) are not read as drug names.
    """
    word = word.lower()
    if not _LATIN_WORD.fullmatch(word):
        return None
    index = _misspelling_index()
    ids = {drug for key in _deletions(word) | {word} for name, drug in index.get(key, ())
           if name[0] == word[0] and (name[-1] == word[-1] or len(name) >= 9) and _one_edit(word, name)}
    return ids.pop() if len(ids) == 1 else None


def _unlisted_name(doc: Doc) -> str | None:
    """A drug named by its naming stem or with one typo, in a word no lexicon entry matched."""
    named = {token.i for ent in doc.ents for token in ent}
    return next((drug for token in doc if token.i not in named and len(token) >= 5
                 for drug in [_stem_drug(token.lower_) or misspelt_drug(token.lower_)] if drug), None)


def _only_names(doc: Doc, ents: list) -> bool:
    """The title is nothing but the name ("Соль", "Скорость", "Ice"): a shop's listing of that drug."""
    named = {token.i for ent in ents for token in ent}
    return all(token.i in named for token in doc if not (token.is_punct or token.is_space))


def _offers_amount(doc: Doc) -> bool:
    """An amount or a dose (1g, 10 tabs, 2mg): the title offers the substance itself."""
    return doc._.quantity is not None or bool(_DOSE.search(doc.text))


def russian_stem(word: str) -> str:
    """A light stemmer: strips one inflectional ending from Cyrillic words longer than four letters."""
    if len(word) <= 4 or not _CYRILLIC.search(word):
        return word
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


@Language.factory("onionwatch_stem_norm")
def make_stem_norm(nlp: Language, name: str):
    def stem_norm(doc: Doc) -> Doc:
        for token in doc:
            token.norm_ = russian_stem(token.lower_.replace("ё", "е"))
        return doc

    return stem_norm


@Language.factory("onionwatch_quantity")
def make_quantity(nlp: Language, name: str):
    """The single amount the text offers (3.5g, 100 x 2mg, 0,5 г), as doc._.quantity."""

    def quantity(doc: Doc) -> Doc:
        doc._.quantity = parse_quantity(doc.text)
        return doc

    return quantity


@Language.factory("onionwatch_place_resolver")
def make_place_resolver(nlp: Language, name: str):
    """Dead-drop type (magnet, buried, cache) and city, as named in Russian-language shops.

    A city is set only when the text names exactly one: a card listing ten
    cities sells in all of them, and picking one would be a guess.
    """

    def resolve(doc: Doc) -> Doc:
        drops = [ent.ent_id_ for ent in doc.ents if ent.label_ == "DEAD_DROP"]
        cities = {ent.ent_id_ for ent in doc.ents if ent.label_ == "CITY"}
        doc._.dead_drop = drops[0] if drops else None
        doc._.city = cities.pop() if len(cities) == 1 else None
        return doc

    return resolve


@Language.factory("onionwatch_drug_resolver", default_config={"min_context_cues": 1})
def make_drug_resolver(nlp: Language, name: str, min_context_cues: int):
    """One drug id per text, or "non-drug", or None when the text does not say.

    Order of evidence: a clear drug name (the first one named), else one named by
    its naming stem or written with a single typo; an ambiguous word (альфа, ice, speed) only when the text
    also reads like an offer of a drug (an amount, a purity, a crystal form) or
    is nothing but that word. A context phrase ("how to", "guide", "ebook") makes
    the listing one about a drug rather than of it, but never against a drug
    offered by amount ("Cocaine 1g + free guide"). Last, a non-drug product word
    ("account", "passport") when no drug is named.
    """

    def resolve(doc: Doc) -> Doc:
        by_label: dict[str, list] = {}
        for ent in doc.ents:
            by_label.setdefault(ent.label_, []).append(ent)
        clear, ambiguous = by_label.get("DRUG", []), by_label.get("DRUG_AMBIGUOUS", [])
        drug = clear[0].ent_id_ if clear else _unlisted_name(doc)
        if drug is None and ambiguous and (_context_cues(doc) >= min_context_cues or _only_names(doc, ambiguous)):
            drug = ambiguous[0].ent_id_
        if by_label.get("NON_DRUG_CONTEXT") and not _offers_amount(doc):
            doc._.drug = "non-drug"
        elif drug == "cannabis":
            # "cannabis gummies", "weed carts": the product form is the more specific id.
            # Seeds are sold by count: "10g, with seeds" are buds.
            by_weight = doc._.quantity is not None and doc._.quantity.unit in ("g", "kg")
            forms = [e.ent_id_ for e in clear + ambiguous if e.ent_id_ in _CANNABIS_FORMS
                     and not (by_weight and e.ent_id_ == "cannabis-seeds" and e.label_ == "DRUG_AMBIGUOUS")]
            doc._.drug = forms[0] if forms else "cannabis"
        elif drug:
            doc._.drug = drug
        elif by_label.get("NON_DRUG"):
            doc._.drug = "non-drug"
        return doc

    return resolve


@lru_cache(maxsize=2)
def load_pipeline(lang: str) -> Language:
    config = spacy.util.load_config(NLP_DIR / "config.cfg", overrides={"nlp.lang": lang})
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize()
    return nlp


def language_of(text: str) -> str:
    return "ru" if _CYRILLIC.search(text) else "en"


# Symbols glued to words ("[US✈US]Vicodin", "★5G", "5g//Mango") hide them from the tokenizer.
_GLUE = re.compile(r"[^\w\s.,%+'#&/-]|(?<=\w)/{2,}(?=\w)|\[|\]|\(|\)")
_DRUG_CATEGORY = re.compile(
    r"drug|chemical|pharma|stimulant|opioid|opiate|psychedelic|cannabis|weed|benzo|dissociative|ecstasy|"
    r"prescription|steroid|research chem|\brc\b|наркотик|стимулятор|психоделик|эйфоретик|каннабиноид",
    re.IGNORECASE,
)
# A market category of medicines: a listing there that names no known drug is another medicine.
_PRESCRIPTION_CATEGORY = re.compile(r"prescription|\brx\b|pharmacy|medicine|лекарств|аптек", re.IGNORECASE)
# An amount or a dose: drug offers state one, other goods rarely do.
_DOSE = re.compile(r"\d\s?(?:mg|mcg|ug|µg|g|gr|gram|grams|oz|kg|ml|lb|lbs|tabs?|pills?|caps?|г|гр|мг|мл)\b", re.IGNORECASE)


@lru_cache(maxsize=65536)
def _resolve(text: str) -> str | None:
    cleaned = _GLUE.sub(" ", text)
    return load_pipeline(language_of(cleaned))(cleaned)._.drug


@lru_cache(maxsize=65536)
def detect_drug(title: str, category: str | None = None) -> str | None:
    """Canonical drug id for a listing, "non-drug", or None when nothing tells.

    A drug the title names wins (vendors misfile listings); otherwise the
    market's category separates non-drug goods ("Fraud", "Guides") or names the
    drug. A title with no drug word, no amount or dose, in no drug category,
    is taken as non-drug; a medicine no lexicon entry names, filed under a
    prescription category, is "other-prescription".
    """
    drug = _resolve(title)
    if drug not in (None, "non-drug"):
        return drug
    in_category = _resolve(category) if category else None
    if "non-drug" in (drug, in_category):
        return "non-drug"
    if in_category is None and not _DOSE.search(title) and not (category and _DRUG_CATEGORY.search(category)):
        return "non-drug"
    if in_category is None and category and _PRESCRIPTION_CATEGORY.search(category):
        return "other-prescription"
    return in_category


@lru_cache(maxsize=4096)
def places_in(text: str) -> tuple[str | None, str | None]:
    """(dead-drop type, city) named in a short text such as "Тип клада: магнитом" or a card."""
    doc = load_pipeline(language_of(text))(_GLUE.sub(" ", text))
    return doc._.dead_drop, doc._.city


def drug_with_class(title: str, category: str | None = None) -> tuple[str | None, str | None]:
    drug = detect_drug(title, category)
    return drug, drug_class(drug)

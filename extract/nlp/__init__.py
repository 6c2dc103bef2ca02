"""The spaCy pipeline that names the drug a listing sells (config.cfg, patterns/drugs.jsonl).

Components are registered here through ``@Language.factory``; the pipeline is
assembled from ``config.cfg`` for ``spacy.blank("en")`` or ``spacy.blank("ru")``
(no statistical model is needed).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, NamedTuple

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


class _Ent(NamedTuple):
    """An entity as the resolvers read it: label, lexicon id, token span (doc.ents order)."""
    label: str
    id: str
    start: int
    end: int


def _ents(doc: Doc) -> list[_Ent]:
    return [_Ent(ent.label_, ent.ent_id_, ent.start, ent.end) for ent in doc.ents]


def _context_cues(text: str, quantity: Callable) -> int:
    return len(_CONTEXT_CUES.findall(text)) + int(_offers_amount(text, quantity))


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


@lru_cache(maxsize=1)
def _any_stem() -> re.Pattern | None:
    """One expression that matches a word where any naming stem does (their alternation), to
    turn most words away in one test; None when the stems cannot be joined unchanged (a
    capturing group or a flag of their own)."""
    patterns = [pattern for pattern, _ in _stems()]
    if not patterns or any(pattern.groups or pattern.flags != re.compile("").flags for pattern in patterns):
        return None
    return re.compile("|".join(f"(?:{pattern.pattern})" for pattern in patterns))


def _stem_drug(word: str) -> str | None:
    """The drug a word names by its INN or naming stem (bromazolam, ocfentanyl, adb-butinaca)."""
    any_stem = _any_stem()
    if any_stem is not None and not any_stem.match(word):
        return None
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


@lru_cache(maxsize=None)
def _key_starts(size: int) -> set[str]:
    """The first ``size`` letters of every key of the misspelling index."""
    return {key[:size] for key in _misspelling_index()}


@lru_cache(maxsize=None)
def _key_ends(size: int) -> set[str]:
    """The last ``size`` letters of every key of the misspelling index."""
    return {key[-size:] for key in _misspelling_index()}


def misspelt_drug(word: str) -> str | None:
    """The drug a Latin word of seven letters or more names with one typo inside it
    (oxycocone -> oxycodone, ecstacy -> ecstasy), when exactly one drug is that close; else None.

    The first letter must agree, and the last too for names under nine letters,
    so inflected or unrelated words (concerts, morphing, asteroid) are not read as drug names.
    """
    word = word.lower()
    if not _LATIN_WORD.fullmatch(word):
        return None
    # The word less one letter at i keeps the word's first half when i is past it, else its last
    # half: a word that starts no key with its first half and ends none with its last is near no
    # drug name.
    half = len(word) // 2
    if word[:-half] not in _key_starts(len(word) - half) and word[-half:] not in _key_ends(half):
        return None
    index = _misspelling_index()
    keys = _deletions(word)
    keys.add(word)
    if index.keys().isdisjoint(keys):
        return None
    ids = {drug for key in keys for name, drug in index.get(key, ())
           if name[0] == word[0] and (name[-1] == word[-1] or len(name) >= 9) and _one_edit(word, name)}
    return ids.pop() if len(ids) == 1 else None


def _unlisted_name(doc: Doc, lowers: list[str], ents: list[_Ent]) -> str | None:
    """A drug named by its naming stem or with one typo, in a word of five characters or more no
    lexicon entry matched; ``lowers`` are the tokens' lower-case forms."""
    named = {i for ent in ents for i in range(ent.start, ent.end)}
    for i, lower in enumerate(lowers):
        # A lower-case form is never shorter than its word (str.lower), so this skips only short words.
        if i in named or len(lower) < 5:
            continue
        drug = _stem_drug(lower) or misspelt_drug(lower)
        if drug and len(doc[i]) >= 5:
            return drug
    return None


def _only_names(doc: Doc, ents: list[_Ent]) -> bool:
    """The title is nothing but the name ("Соль", "Скорость", "Ice"): a shop's listing of that drug."""
    named = {i for ent in ents for i in range(ent.start, ent.end)}
    return all(token.i in named for token in doc if not (token.is_punct or token.is_space))


def _offers_amount(text: str, quantity: Callable) -> bool:
    """An amount or a dose (1g, 10 tabs, 2mg): the title offers the substance itself.

    ``quantity()`` gives the text's single amount (``parse_quantity(text)``), asked only when needed.
    """
    return quantity() is not None or bool(_DOSE.search(text))


def russian_stem(word: str) -> str:
    """A light stemmer: strips one inflectional ending from Cyrillic words longer than four letters."""
    if len(word) <= 4 or not _CYRILLIC.search(word):
        return word
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def _norm(lower: str) -> str:
    """A token's norm from its lower-case form: ё read as е, one Russian ending stripped
    (an ASCII word is its own norm)."""
    return lower if lower.isascii() else russian_stem(lower.replace("ё", "е"))


@Language.factory("onionwatch_stem_norm")
def make_stem_norm(nlp: Language, name: str):
    def stem_norm(doc: Doc) -> Doc:
        for token in doc:
            token.norm_ = _norm(token.lower_)
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
        doc._.dead_drop, doc._.city = _places(_ents(doc))
        return doc

    return resolve


def _places(ents: list[_Ent]) -> tuple[str | None, str | None]:
    """(dead-drop type, city) from the entities: the first drop named, the city when only one is."""
    drops = [ent.id for ent in ents if ent.label == "DEAD_DROP"]
    cities = {ent.id for ent in ents if ent.label == "CITY"}
    return drops[0] if drops else None, cities.pop() if len(cities) == 1 else None


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
        drug = _drug(_ents(doc), doc, [token.lower_ for token in doc], lambda: doc._.quantity, min_context_cues)
        if drug is not None:
            doc._.drug = drug
        return doc

    return resolve


def _drug(ents: list[_Ent], doc: Doc, lowers: list[str], quantity: Callable, min_context_cues: int) -> str | None:
    """The drug resolver's decision (see ``make_drug_resolver``) over the text's entities;
    ``lowers`` are the tokens' lower-case forms, ``quantity()`` gives the text's single amount."""
    by_label: dict[str, list[_Ent]] = {}
    for ent in ents:
        by_label.setdefault(ent.label, []).append(ent)
    clear, ambiguous = by_label.get("DRUG", []), by_label.get("DRUG_AMBIGUOUS", [])
    drug = clear[0].id if clear else _unlisted_name(doc, lowers, ents)
    if drug is None and ambiguous and (_context_cues(doc.text, quantity) >= min_context_cues
                                       or _only_names(doc, ambiguous)):
        drug = ambiguous[0].id
    if by_label.get("NON_DRUG_CONTEXT") and not _offers_amount(doc.text, quantity):
        return "non-drug"
    if drug == "cannabis":
        # "cannabis gummies", "weed carts": the product form is the more specific id.
        # Seeds are sold by count: "10g, with seeds" are buds.
        by_weight = quantity() is not None and quantity().unit in ("g", "kg")
        forms = [e.id for e in clear + ambiguous if e.id in _CANNABIS_FORMS
                 and not (by_weight and e.id == "cannabis-seeds" and e.label == "DRUG_AMBIGUOUS")]
        return forms[0] if forms else "cannabis"
    if drug:
        return drug
    if by_label.get("NON_DRUG"):
        return "non-drug"
    return None


@lru_cache(maxsize=2)
def load_pipeline(lang: str) -> Language:
    config = spacy.util.load_config(NLP_DIR / "config.cfg", overrides={"nlp.lang": lang})
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize()
    return nlp


def language_of(text: str) -> str:
    return "ru" if _CYRILLIC.search(text) else "en"


_PIPELINE = {"stem_norm": "onionwatch_stem_norm", "quantity": "onionwatch_quantity", "lexicon": "entity_ruler",
             "drug_resolver": "onionwatch_drug_resolver", "place_resolver": "onionwatch_place_resolver"}
_CONFLICT = ("", "")


class FastPath:
    """The pipeline's answers (drug; dead-drop type and city) without running the pipeline.

    The texts come one at a time, so what counts is the work per text: ``nlp(text)`` runs five
    components, sets a norm on every token, counts the ruler's 1,500 patterns, parses the amount
    and writes the entities into the Doc. Here the pipeline's own tokenizer cuts the text, each
    token's norm is the stem_norm component's (``_norm``), and the norm
    sequences of the entity ruler's phrase patterns, read from the loaded ruler, are looked up
    from each token whose norm starts a pattern. The matches are chosen as the EntityRuler
    chooses them (longest first, then leftmost, none overlapping) and the resolvers' own
    decisions (``_drug``, ``_places``) read them; the amount is parsed only when the decision
    asks for it. A text the lookup cannot settle as the pipeline would (two patterns of the
    same words under different labels or ids) goes through the pipeline itself; a pipeline
    whose components or patterns are not the ones this mirrors is always used as it is.
    """

    def __init__(self, nlp: Language):
        self.nlp = nlp
        ruler = nlp.get_pipe("lexicon") if "lexicon" in nlp.pipe_names else None
        self.mirrors = (
            [(name, nlp.get_pipe_config(name)["factory"]) for name in nlp.pipe_names] == list(_PIPELINE.items())
            and not ruler.token_patterns and ruler.phrase_matcher_attr == "NORM" and ruler.overwrite
        )
        self.min_context_cues = nlp.get_pipe_config("drug_resolver").get("min_context_cues", 1) if self.mirrors else 1
        # norm sequence -> (label, id), _CONFLICT when two patterns of the same words differ in either
        self._spans: dict[tuple[str, ...], tuple[str, str]] = {}
        # first norm -> the lengths of the patterns it starts, longest first
        self._lengths: dict[str, tuple[int, ...]] = {}
        for key, docs in (ruler.phrase_patterns.items() if self.mirrors else ()):
            label, ent_id = ruler._ent_ids.get(nlp.vocab.strings[key], (key, ""))
            for pattern in docs:
                norms = tuple(token.norm_ for token in pattern)
                if not norms:
                    continue
                known = self._spans.setdefault(norms, (label, ent_id))
                if known != (label, ent_id):
                    self._spans[norms] = _CONFLICT
                self._lengths[norms[0]] = tuple(sorted({len(norms), *self._lengths.get(norms[0], ())}, reverse=True))

    def _ents(self, doc: Doc, lowers: list[str]) -> list[_Ent] | None:
        """The entities the pipeline's ruler would set on ``doc`` (tokenized only; ``lowers``, its
        tokens' lower-case forms), in document order; None when the lookup cannot tell."""
        norms = [_norm(word) for word in lowers]
        size = len(norms)
        found = []
        for start, norm in enumerate(norms):
            for length in self._lengths.get(norm, ()):
                if start + length <= size:
                    hit = self._spans.get(tuple(norms[start:start + length]))
                    if hit is _CONFLICT:
                        return None
                    if hit:
                        found.append((length, -start, hit))
        if not found:
            return []
        # The EntityRuler's order: longest first, then leftmost; a match touching a taken token is dropped.
        found.sort(reverse=True)
        taken: set[int] = set()
        ents = []
        for length, start, (label, ent_id) in found:
            start = -start
            end = start + length
            if start not in taken and end - 1 not in taken:
                ents.append(_Ent(label, ent_id, start, end))
                taken.update(range(start, end))
        ents.sort(key=lambda ent: ent.start)
        return ents

    def drug(self, text: str) -> str | None:
        """``nlp(text)._.drug``."""
        doc = self.nlp.make_doc(text)
        lowers = [token.lower_ for token in doc]
        ents = self._ents(doc, lowers) if self.mirrors else None
        if ents is None:
            return self.nlp(text)._.drug
        amounts: list = []

        def quantity():
            if not amounts:
                amounts.append(parse_quantity(text))
            return amounts[0]

        return _drug(ents, doc, lowers, quantity, self.min_context_cues)

    def places(self, text: str) -> tuple[str | None, str | None]:
        """``(nlp(text)._.dead_drop, nlp(text)._.city)``."""
        doc = self.nlp.make_doc(text)
        ents = self._ents(doc, [token.lower_ for token in doc]) if self.mirrors else None
        if ents is None:
            doc = self.nlp(text)
            return doc._.dead_drop, doc._.city
        return _places(ents)


@lru_cache(maxsize=2)
def fast_path(lang: str) -> FastPath:
    return FastPath(load_pipeline(lang))


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
    return fast_path(language_of(cleaned)).drug(cleaned)


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
    return fast_path(language_of(text)).places(_GLUE.sub(" ", text))


def drug_with_class(title: str, category: str | None = None) -> tuple[str | None, str | None]:
    drug = detect_drug(title, category)
    return drug, drug_class(drug)

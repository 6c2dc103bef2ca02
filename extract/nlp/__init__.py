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

if not Doc.has_extension("drug"):
    Doc.set_extension("drug", default=None)


@spacy.registry.readers("onionwatch.read_patterns.v1")
def read_patterns(path: str) -> list[dict]:
    """EntityRuler patterns from a JSONL file, as a list (initialize() wants a sequence)."""
    return list(srsly.read_jsonl(path))


@spacy.registry.tokenizers("onionwatch.plain_tokenizer.v1")
def create_plain_tokenizer():
    """spaCy's tokenizer without its special cases: they split "id" into "i 'd" and the like,
    which breaks lexicon entries written in lower case."""

    def create(nlp: Language):
        tokenizer = spacy.registry.tokenizers.get("spacy.Tokenizer.v1")()(nlp)
        tokenizer.rules = {}
        return tokenizer

    return create


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


@Language.factory("onionwatch_drug_resolver", default_config={"min_context_cues": 1})
def make_drug_resolver(nlp: Language, name: str, min_context_cues: int):
    """One drug id per text: a clear drug word first, then an ambiguous one only with context.

    Ambiguous words (соль, ice, speed) name a drug only when the text also reads
    like an offer of one: an amount, a purity, a crystal form.
    """

    def resolve(doc: Doc) -> Doc:
        clear = [ent for ent in doc.ents if ent.label_ == "DRUG"]
        ambiguous = [ent for ent in doc.ents if ent.label_ == "DRUG_AMBIGUOUS"]
        non_drug = [ent for ent in doc.ents if ent.label_ == "NON_DRUG"]
        has_amount = parse_quantity(doc.text) is not None
        if non_drug and not has_amount:
            doc._.drug = "non-drug"
        elif clear:
            doc._.drug = clear[0].ent_id_
            # "cannabis gummies", "weed seeds": the product form is the more specific id.
            if doc._.drug == "cannabis":
                forms = [e.ent_id_ for e in clear + ambiguous if e.ent_id_ in _CANNABIS_FORMS]
                doc._.drug = forms[0] if forms else "cannabis"
        elif ambiguous:
            cues = len(_CONTEXT_CUES.findall(doc.text)) + int(has_amount)
            doc._.drug = ambiguous[0].ent_id_ if cues >= min_context_cues else None
        elif non_drug:
            doc._.drug = "non-drug"
        return doc

    return resolve


@lru_cache(maxsize=2)
def load_pipeline(lang: str) -> Language:
    config = spacy.util.load_config(
        NLP_DIR / "config.cfg",
        overrides={
            "nlp.lang": lang,
            "initialize.components.drug_ruler.patterns.path": str(NLP_DIR / "patterns" / "drugs.jsonl"),
        },
    )
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize()
    return nlp


def language_of(text: str) -> str:
    return "ru" if _CYRILLIC.search(text) else "en"


@lru_cache(maxsize=65536)
def detect_drug(title: str, category: str | None = None) -> str | None:
    """Canonical drug id for a listing title; the page's category decides only when the title is silent."""
    drug = load_pipeline(language_of(title))(title)._.drug
    if drug is None and category:
        drug = load_pipeline(language_of(category))(category)._.drug
    return drug


def drug_with_class(title: str, category: str | None = None) -> tuple[str | None, str | None]:
    drug = detect_drug(title, category)
    return drug, drug_class(drug)

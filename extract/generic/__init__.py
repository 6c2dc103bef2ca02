"""The generic extractor: listings from a market it has never seen.

``records`` finds item records by structure, ``fields`` cuts them into text
segments with features that carry across sites, ``model`` labels the segments
with a small model trained on many markets (``train``), ``page`` puts it
together and decides the page type. Vocabulary lives in ``cues.json``.
"""
from extract.generic.page import GenericPage

__all__ = ["GenericPage"]

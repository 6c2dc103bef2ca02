"""Country names as markets write them (English or Russian) to ISO 3166-1 alpha-2, EU or WW."""
from __future__ import annotations

import gettext
import re
from functools import lru_cache

import pycountry

_REGIONS = {
    "ww": "WW", "worldwide": "WW", "world wide": "WW", "world": "WW", "anywhere": "WW",
    "international": "WW", "весь мир": "WW", "по всему миру": "WW",
    "eu": "EU", "europe": "EU", "european union": "EU", "европа": "EU", "ес": "EU",
}
_ALIASES = {
    "usa": "US", "u.s.a.": "US", "us": "US", "united states": "US", "america": "US",
    "uk": "GB", "u.k.": "GB", "england": "GB", "great britain": "GB", "britain": "GB",
    "holland": "NL", "the netherlands": "NL", "russia": "RU", "south korea": "KR",
    "czech republic": "CZ", "czechia": "CZ", "iran": "IR", "vietnam": "VN", "laos": "LA",
    "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "syria": "SY", "moldova": "MD",
    "рф": "RU", "россия": "RU", "сша": "US", "англия": "GB", "голландия": "NL",
    "киргизия": "KG", "кыргызстан": "KG", "казахстан": "KZ", "узбекистан": "UZ", "таджикистан": "TJ",
}


@lru_cache(maxsize=1)
def _russian_names() -> dict[str, str]:
    """Russian country names from pycountry's own translation catalogues."""
    try:
        russian = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ru"])
    except OSError:
        return {}
    names = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            english = getattr(country, attr, None)
            if english:
                names[russian.gettext(english).casefold()] = country.alpha_2
    return names


_BRACKETS = re.compile(r"\(.*?\)")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def country_code(text: str | None) -> str | None:
    """``Netherlands`` -> ``NL``, ``World Wide`` -> ``WW``, ``Европа`` -> ``EU``; None when unknown."""
    if not text:
        return None
    # "Antarctica(c)", "Germany (DE)": the name is what stands before the brackets.
    if "(" in text:
        text = _BRACKETS.sub(" ", text)
    name = _SPACES.sub(" ", text).strip(" .,:;-").casefold()
    if not name:
        return None
    if name in _REGIONS:
        return _REGIONS[name]
    if name in _ALIASES:
        return _ALIASES[name]
    if len(name) == 2 and name.isalpha():
        country = pycountry.countries.get(alpha_2=name.upper())
        return country.alpha_2 if country else None
    if len(name) == 3 and name.isalpha():
        country = pycountry.countries.get(alpha_3=name.upper())
        if country:
            return country.alpha_2
    found = _lookup_table().get(name.lower())
    if found:
        return found
    return _russian_names().get(name)


@lru_cache(maxsize=1)
def _lookup_table() -> dict[str, str]:
    """``pycountry.countries.lookup`` as one dictionary (its lookup scans every country's
    unindexed fields on each miss, and most texts asked about are no country at all).

    The same precedence as pycountry: indexed fields first, in index order, then unindexed
    fields, first country first."""
    countries = pycountry.countries
    len(countries)  # pycountry loads its database lazily
    table: dict[str, str] = {}
    for candidate in countries:
        for key in countries.no_index:
            value = candidate._fields.get(key)
            if value is not None:
                table.setdefault(value.lower(), candidate.alpha_2)
    for key in reversed(list(countries.indices)):
        for value, country in countries.indices[key].items():
            table[value] = country.alpha_2
    return table


def country_codes(texts: list[str] | str | None) -> list[str]:
    """A list of places (or one string split on commas) as unique codes, unknown ones left out."""
    if not texts:
        return []
    if isinstance(texts, str):
        texts = re.split(r"[,;/|]| and ", texts)
    codes = []
    for part in texts:
        code = country_code(part)
        if code and code not in codes:
            codes.append(code)
    return codes

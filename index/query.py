"""The analyst's query language, parsed once and translated by each backend.

    cocaine city:Алматы             free text and field filters, all must match
    "crystal meth" vendor:NordicSnow  phrases in quotes; values with spaces quoted too
    market:tayga drug:mephedrone

Fields: drug, drug_class, market, vendor, city, district, ships_from, ships_to,
currency, dead_drop. Errors point at the character where the query went wrong.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

FILTER_FIELDS = (
    "drug", "drug_class", "market", "vendor", "city", "district",
    "ships_from", "ships_to", "currency", "dead_drop",
)
# Country and currency codes are stored upper-case, everything else case-folded.
UPPER_FIELDS = frozenset({"ships_from", "ships_to", "currency"})


class QuerySyntaxError(ValueError):
    def __init__(self, query: str, position: int, message: str):
        self.query, self.position = query, position
        super().__init__(f"{message} at character {position + 1}:\n  {query}\n  {' ' * position}^")


@dataclass(frozen=True)
class Clause:
    field: str | None  # None: free text
    value: str
    phrase: bool = False


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...] = field(default_factory=tuple)

    @property
    def filters(self) -> list[Clause]:
        return [c for c in self.clauses if c.field]

    @property
    def text(self) -> list[Clause]:
        return [c for c in self.clauses if not c.field]


def normalise_value(field_name: str, value: str) -> str:
    value = re.sub(r"\s+", " ", value).strip()
    return value.upper() if field_name in UPPER_FIELDS else value.casefold()


_TOKEN = re.compile(r'\s*(?:(?P<field>[A-Za-z_]+):)?(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]+))')


def parse_query(query: str) -> Query:
    if query.count('"') % 2:
        raise QuerySyntaxError(query, query.rfind('"'), "unclosed quote")
    clauses = []
    position = 0
    while position < len(query):
        if not query[position:].strip():
            break
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            start = position + len(query[position:]) - len(query[position:].lstrip())
            raise QuerySyntaxError(query, start, "unexpected character")
        name = match.group("field")
        value = match.group("quoted") if match.group("quoted") is not None else match.group("bare")
        if name is not None:
            name = name.lower()
            if name not in FILTER_FIELDS:
                raise QuerySyntaxError(
                    query, match.start("field"),
                    f"unknown field {name!r} (fields: {', '.join(FILTER_FIELDS)})",
                )
            if not value.strip():
                raise QuerySyntaxError(query, match.end() - 1, f"{name}: needs a value")
            clauses.append(Clause(name, normalise_value(name, value)))
        elif re.fullmatch(r"[A-Za-z_]+:", value):
            raise QuerySyntaxError(query, match.end() - 1, f"{value} needs a value")
        elif value.strip():
            clauses.append(Clause(None, value.strip(), phrase=match.group("quoted") is not None))
        position = match.end()
    return Query(tuple(clauses))

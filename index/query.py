"""The analyst's query language, parsed once into a tree that each backend translates.

    cocaine city:Алматы                  words and filters; all must match
    "crystal meth" vendor:"Ice Queen"    phrases in quotes; values with spaces quoted too
    drug:mephedrone OR drug:alpha-pvp    OR binds looser than AND
    market:tayga NOT dead_drop:magnet    NOT (or a leading -) excludes
    price_usd:[10 TO 50]  seen:>=2024-01-01  usd_per_base_unit:<20   ranges
    (drug:cocaine OR drug:crack) ships_from:NL

Errors say what is wrong and point at the character.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

KEYWORD_FIELDS = (
    "drug", "drug_class", "market", "vendor", "city", "district",
    "ships_from", "ships_to", "currency", "dead_drop", "listing_id", "status",
    "base_unit",
)
NUMBER_FIELDS = ("price", "price_usd", "usd_per_base_unit", "quantity")
DATE_FIELDS = {"seen": "captured_at"}
FILTER_FIELDS = KEYWORD_FIELDS  # kept for callers that list the term filters
# Country and currency codes are stored upper-case, everything else case-folded.
UPPER_FIELDS = frozenset({"ships_from", "ships_to", "currency"})


class QuerySyntaxError(ValueError):
    def __init__(self, query: str, position: int, message: str):
        self.query, self.position = query, position
        super().__init__(f"{message} at character {position + 1}:\n  {query}\n  {' ' * position}^")


class QueryTooComplex(QuerySyntaxError):
    """A query beyond the limits below; said in one line (the query itself may be huge)."""

    def __init__(self, query: str, position: int, message: str):
        self.query, self.position = query, position
        ValueError.__init__(self, message)


# Limits that keep a hostile or mistaken query from exhausting the parser or the engine.
MAX_NESTING = 32
MAX_NOTS = 64
MAX_TOKENS = 1024


@dataclass(frozen=True)
class Text:
    value: str
    phrase: bool = False


@dataclass(frozen=True)
class Term:
    field: str
    value: str


@dataclass(frozen=True)
class Range:
    field: str  # the stored field: price_usd, captured_at, ...
    low: float | datetime | None
    high: float | datetime | None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class Not:
    clause: "Node"


@dataclass(frozen=True)
class And:
    clauses: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    clauses: tuple["Node", ...]


Node = Text | Term | Range | Not | And | Or
MATCH_ALL = And(())


def normalise_value(field_name: str, value: str) -> str:
    value = " ".join(value.split())
    return value.upper() if field_name in UPPER_FIELDS else value.casefold()


_TOKEN = re.compile(
    r'\s*(?:(?P<lparen>\()|(?P<rparen>\))|(?P<minus>-(?=\S))'
    r'|(?P<field>[A-Za-z_]+):(?P<fvalue>\[[^\]]*\]?|"[^"]*"?|[<>]=?[^\s()]*|[^\s()"]*)'
    r'|(?P<phrase>"[^"]*"?)|(?P<word>[^\s()"]+))'
)


@dataclass
class _Token:
    kind: str
    text: str
    position: int
    field: str | None = None


def _tokens(query: str) -> list[_Token]:
    found, position = [], 0
    while position < len(query):
        if not query[position:].strip():
            break
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            raise QuerySyntaxError(query, position, "unexpected character")
        start = match.start(match.lastgroup)
        kind = match.lastgroup
        if kind == "fvalue":
            found.append(_Token("field", match.group("fvalue"), match.start("field"), match.group("field").lower()))
        elif kind == "word" and match.group("word") in ("AND", "OR", "NOT"):
            found.append(_Token(match.group("word"), match.group("word"), start))
        else:
            found.append(_Token(kind, match.group(kind), start))
        position = match.end()
    return found


class _Parser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = _tokens(query)
        self.index = 0
        self._check_limits()

    def _check_limits(self) -> None:
        depth = nots = 0
        for token in self.tokens:
            if token.kind == "lparen":
                depth += 1
                if depth > MAX_NESTING:
                    raise QueryTooComplex(self.query, token.position, f"parentheses nested more than {MAX_NESTING} "
                                                                      f"deep (at character {token.position + 1})")
            elif token.kind == "rparen":
                depth = max(0, depth - 1)
            elif token.kind in ("NOT", "minus"):
                nots += 1
                if nots > MAX_NOTS:
                    raise QueryTooComplex(self.query, token.position, f"more than {MAX_NOTS} NOT in one query")
        if len(self.tokens) > MAX_TOKENS:
            raise QueryTooComplex(self.query, 0, f"query too long: {len(self.tokens)} terms and operators "
                                                 f"(at most {MAX_TOKENS})")

    def error(self, message: str, token: _Token | None = None) -> QuerySyntaxError:
        position = token.position if token else len(self.query)
        return QuerySyntaxError(self.query, position, message)

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            return MATCH_ALL
        node = self.or_expression()
        if self.peek() is not None:
            raise self.error("unexpected ')'" if self.peek().kind == "rparen" else "unexpected text", self.peek())
        return node

    def or_expression(self) -> Node:
        clauses = [self.and_expression()]
        while self.peek() is not None and self.peek().kind == "OR":
            operator = self.take()
            if self.peek() is None or self.peek().kind in ("OR", "AND", "rparen"):
                raise self.error("OR needs something on its right", operator)
            clauses.append(self.and_expression())
        return clauses[0] if len(clauses) == 1 else Or(tuple(clauses))

    def and_expression(self) -> Node:
        clauses = [self.unary()]
        while self.peek() is not None and self.peek().kind not in ("OR", "rparen"):
            if self.peek().kind == "AND":
                operator = self.take()
                if self.peek() is None or self.peek().kind in ("OR", "AND", "rparen"):
                    raise self.error("AND needs something on its right", operator)
            clauses.append(self.unary())
        return clauses[0] if len(clauses) == 1 else And(tuple(clauses))

    def unary(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.error("the query ends too early")
        if token.kind in ("NOT", "minus"):
            self.take()
            if self.peek() is None:
                raise self.error(f"{token.text} needs something to exclude", token)
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "lparen":
            if self.peek() is None:
                raise self.error("unclosed '('", token)
            node = self.or_expression()
            if self.peek() is None or self.peek().kind != "rparen":
                raise self.error("unclosed '('", token)
            self.take()
            return node
        if token.kind == "rparen":
            raise self.error("unexpected ')'", token)
        if token.kind in ("AND", "OR"):
            raise self.error(f"{token.kind} needs something on its left", token)
        if token.kind == "phrase":
            if len(token.text) < 2 or not token.text.endswith('"'):
                raise self.error("unclosed quote", token)
            return Text(token.text[1:-1], phrase=True)
        if token.kind == "word":
            return Text(token.text)
        return self.field(token)

    def field(self, token: _Token) -> Node:
        name, raw = token.field, token.text
        value_at = token.position + len(name) + 1
        if not raw:
            raise QuerySyntaxError(self.query, value_at, f"{name}: needs a value")
        if name in KEYWORD_FIELDS:
            if raw.startswith('"'):
                if len(raw) < 2 or not raw.endswith('"'):
                    raise QuerySyntaxError(self.query, value_at, "unclosed quote")
                raw = raw[1:-1]
            if not raw.strip():
                raise QuerySyntaxError(self.query, value_at, f"{name}: needs a value")
            return Term(name, normalise_value(name, raw))
        if name in NUMBER_FIELDS or name in DATE_FIELDS:
            return _range(self.query, value_at, name, raw)
        known = ", ".join((*KEYWORD_FIELDS, *NUMBER_FIELDS, *DATE_FIELDS))
        raise QuerySyntaxError(self.query, token.position, f"unknown field {name!r} (fields: {known})")


def _bound(query: str, position: int, name: str, text: str):
    text = text.strip()
    if text == "*":
        return None
    if name in DATE_FIELDS:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise QuerySyntaxError(query, position, f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    try:
        return float(text)
    except ValueError:
        raise QuerySyntaxError(query, position, f"{name}: {text!r} is not a number") from None


def _range(query: str, position: int, name: str, raw: str) -> Range:
    stored = DATE_FIELDS.get(name, name)
    if raw.startswith("["):
        match = re.fullmatch(r"\[\s*(\S+)\s+TO\s+(\S+)\s*\]", raw)
        if not match:
            raise QuerySyntaxError(query, position, f"{name}: a range reads [LOW TO HIGH]")
        return Range(stored, _bound(query, position, name, match.group(1)), _bound(query, position, name, match.group(2)))
    match = re.fullmatch(r"(>=|<=|>|<)?(.+)", raw)
    operator, value = match.group(1), _bound(query, position, name, match.group(2))
    if value is None:
        raise QuerySyntaxError(query, position, f"{name}: needs a value")
    if operator in (">", ">="):
        return Range(stored, value, None, include_low=operator == ">=")
    if operator in ("<", "<="):
        return Range(stored, None, value, include_high=operator == "<=")
    return Range(stored, value, value)


def parse_query(query: str) -> Node:
    return _Parser(query).parse()


def listing_query(query: str, include_removed: bool = False) -> Node:
    """What a search runs: the parsed query with canonical values (``index.vocab``), and
    only listings still on their market unless the query names a ``status:`` or
    ``include_removed`` is set (``onionwatch search --all``)."""
    from index.vocab import canonicalise, mentions

    node = canonicalise(parse_query(query))
    if include_removed or mentions(node, "status"):
        return node
    active = Not(Term("status", "removed"))
    return active if node == MATCH_ALL else And((node, active))

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from index.query import MATCH_ALL, And, Not, Or, QuerySyntaxError, Range, Term, Text, parse_query


def test_words_phrases_and_filters_all_must_match():
    assert parse_query('cocaine "peruvian flake" city:Алматы ships_from:nl vendor:"Ice Queen"') == And((
        Text("cocaine"), Text("peruvian flake", phrase=True),
        Term("city", "алматы"), Term("ships_from", "NL"), Term("vendor", "ice queen"),
    ))


def test_boolean_operators_and_grouping():
    assert parse_query("drug:cocaine OR drug:crack") == Or((Term("drug", "cocaine"), Term("drug", "crack")))
    assert parse_query("market:tayga NOT dead_drop:magnet -city:омск") == And((
        Term("market", "tayga"), Not(Term("dead_drop", "magnet")), Not(Term("city", "омск")),
    ))
    assert parse_query("(drug:cocaine OR drug:crack) AND ships_from:NL") == And((
        Or((Term("drug", "cocaine"), Term("drug", "crack"))), Term("ships_from", "NL"),
    ))
    assert parse_query("") == MATCH_ALL


def test_ranges_on_numbers_and_dates():
    assert parse_query("price_usd:[10 TO 50]") == Range("price_usd", 10.0, 50.0)
    assert parse_query("price_usd:[* TO 50]") == Range("price_usd", None, 50.0)
    assert parse_query("usd_per_base_unit:<20") == Range("usd_per_base_unit", None, 20.0, include_high=False)
    assert parse_query("seen:>=2024-01-01") == Range("captured_at", datetime(2024, 1, 1, tzinfo=timezone.utc), None)


@pytest.mark.parametrize("query, position, message", [
    ('city:"Алм', 5, "unclosed quote"),
    ('"flake cocaine', 0, "unclosed quote"),
    ("colour:red", 0, "unknown field 'colour'"),
    ("cocaine city:", 13, "needs a value"),
    ("price_usd:[10 50]", 10, "a range reads [LOW TO HIGH]"),
    ("price_usd:>cheap", 10, "is not a number"),
    ("seen:>=yesterday", 5, "is not a date"),
    ("(drug:cocaine", 0, "unclosed '('"),
    ("drug:cocaine)", 12, "unexpected ')'"),
    ("cocaine OR", 8, "OR needs something on its right"),
    ("AND cocaine", 0, "AND needs something on its left"),
])
def test_errors_point_at_the_problem(query, position, message):
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert caught.value.position == position, str(caught.value)
    assert message in str(caught.value)

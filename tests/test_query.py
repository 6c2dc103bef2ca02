from __future__ import annotations

import pytest

from index.query import Clause, QuerySyntaxError, parse_query


def test_free_text_phrases_and_filters():
    query = parse_query('cocaine "peruvian flake" city:Алматы ships_from:nl vendor:"Ice Queen"')
    assert query.clauses == (
        Clause(None, "cocaine"), Clause(None, "peruvian flake", phrase=True),
        Clause("city", "алматы"), Clause("ships_from", "NL"), Clause("vendor", "ice queen"),
    )


@pytest.mark.parametrize("query, position, message", [
    ('city:"Алм', 5, "unclosed quote"),
    ("colour:red", 0, "unknown field 'colour'"),
    ("cocaine city:", 12, "needs a value"),
])
def test_errors_point_at_the_problem(query, position, message):
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert caught.value.position == position
    assert message in str(caught.value)

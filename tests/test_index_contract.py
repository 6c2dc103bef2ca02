"""One contract for both index backends: the same documents and queries give the same hits.

The embedded backend runs always; the real engine (OpenSearch 2.19 nodes started from
``tests/engine``, through the OpenSearch flavour of the Elasticsearch backend) runs as the
second parametrisation; Elasticsearch itself runs whenever ONIONWATCH_ES_URL points at a
server. The requests the Elasticsearch client sends are also checked through a recording
node: mappings, bulk bodies, and the query DSL of every query form.
"""
from __future__ import annotations

import json
import os
import uuid

import pytest
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders
from elastic_transport._node import NodeApiResponse

from index.aggregations import observation_from
from index.elastic import MAPPINGS, ElasticsearchIndex, IndexWriteError, to_es_query
from index.embedded import EmbeddedIndex
from index.query import parse_query
from engine_fixtures import unique_prefix

DOCS = [
    {"listing_id": "a1", "market": "tayga", "title": "Мефедрон VHQ кристаллы", "vendor": "Тайга", "drug": "mephedrone",
     "city": "Алматы", "district": "Бостандыкский", "dead_drop": "magnet", "currency": "KZT", "price": 25000.0,
     "price_usd": 49.5, "quantity": 1.0, "unit": "g", "usd_per_base_unit": 49.5, "captured_at": "2024-03-02T10:00:00Z"},
    {"listing_id": "a2", "market": "tayga", "title": "Шишки Amnesia Haze", "vendor": "Тайга", "drug": "cannabis",
     "city": "Астана", "dead_drop": "buried", "currency": "KZT", "price": 18000.0, "price_usd": 35.6,
     "quantity": 2.0, "unit": "g", "usd_per_base_unit": 17.8, "captured_at": "2024-04-11T10:00:00Z"},
    {"listing_id": "b1", "market": "northwind", "title": "Peruvian Flake Cocaine 90% 3.5g", "vendor": "NordicSnow",
     "drug": "cocaine", "ships_from": "NL", "ships_to": ["WW"], "currency": "USD", "price": 245.0, "price_usd": 245.0,
     "quantity": 3.5, "unit": "g", "usd_per_base_unit": 70.0, "captured_at": "2023-12-01T00:00:00Z"},
    {"listing_id": "b2", "market": "northwind", "title": "Bolivian crack rocks 1g", "vendor": "Ice Queen",
     "drug": "crack", "ships_from": "DE", "ships_to": ["EU", "GB"], "currency": "USD", "price": 40.0,
     "price_usd": 40.0, "quantity": 1.0, "unit": "g", "usd_per_base_unit": 40.0, "captured_at": "2024-05-01T00:00:00Z"},
]
QUERIES = {
    "": {"a1", "a2", "b1", "b2"},
    "cocaine": {"b1"},
    "мефедрон": {"a1"},
    '"flake cocaine"': {"b1"},
    "drug:cocaine OR drug:crack": {"b1", "b2"},
    "market:northwind NOT ships_from:NL": {"b2"},
    "-market:tayga": {"b1", "b2"},
    "ships_to:gb": {"b2"},
    'vendor:"ice queen"': {"b2"},
    "city:алматы": {"a1"},
    "dead_drop:buried": {"a2"},
    "price_usd:[40 TO 50]": {"a1", "b2"},
    "usd_per_base_unit:<40": {"a2"},
    "seen:>=2024-01-01": {"a1", "a2", "b2"},
    "(drug:cocaine OR drug:crack) ships_from:NL": {"b1"},
    "market:tayga seen:[2024-04-01 TO 2024-12-31]": {"a2"},
}


def _backends(request, tmp_path, which: str | None = None):
    """``which``: "engine" (the real test engine) or "embedded" (plus Elasticsearch at ONIONWATCH_ES_URL)."""
    if (which or request.param) == "engine":
        engine = request.getfixturevalue("engine")
        yield "opensearch", ElasticsearchIndex.from_settings(url=engine.url, flavour="opensearch",
                                                             prefix=unique_prefix("contract"))
        return
    yield "embedded", EmbeddedIndex(tmp_path / "index")
    if os.environ.get("ONIONWATCH_ES_URL"):
        yield "elasticsearch", ElasticsearchIndex.from_settings(prefix=f"onionwatch-test-{uuid.uuid4().hex[:8]}")


@pytest.fixture(params=["embedded", "engine"])
def backends(request, tmp_path):
    """The embedded index (and Elasticsearch at ONIONWATCH_ES_URL, if set), then the real test engine."""
    made = list(_backends(request, tmp_path))
    for _name, backend in made:
        backend.upsert(DOCS)
    yield made
    for name, backend in made:
        if name != "embedded":
            backend.drop()
            backend.close()


@pytest.mark.parametrize("query", sorted(QUERIES))
def test_every_backend_gives_the_same_hits(backends, query):
    for name, backend in backends:
        result = backend.search(query, limit=50)
        assert {hit["listing_id"] for hit in result.hits} == QUERIES[query], (name, query)
        assert result.total == len(QUERIES[query]), (name, query)


def _observations():
    """Prices seen over three months, one placeholder that must not count."""
    seen = [("a1", "2024-03-02", 49.5), ("a1", "2024-04-02", 52.0), ("a2", "2024-04-11", 17.8),
            ("b1", "2024-03-01", 70.0), ("b1", "2024-04-01", 66.0), ("b2", "2024-04-03", 40.0)]
    by_id = {d["listing_id"]: d for d in DOCS}
    observations = [observation_from({**by_id[i], "captured_at": f"{day}T12:00:00Z", "usd_per_base_unit": usd})
                    for i, day, usd in seen]
    observations.append(observation_from({**by_id["b2"], "captured_at": "2024-04-20T00:00:00Z",
                                          "usd_per_base_unit": 99999.0, "placeholder_price": True}))
    return observations


def test_every_backend_aggregates_prices_over_time_the_same(backends):
    for name, backend in backends:
        backend.add_observations(_observations())
        assert backend.count() == len(DOCS), name  # observations are not listings
        by_drug = {(r["month"], r["drug"]): r for r in backend.price_stats(group_by="drug")}
        assert set(by_drug) == {("2024-03", "mephedrone"), ("2024-03", "cocaine"), ("2024-04", "mephedrone"),
                                ("2024-04", "cannabis"), ("2024-04", "cocaine"), ("2024-04", "crack")}, name
        assert by_drug[("2024-04", "crack")]["observations"] == 1, name  # the placeholder is left out
        assert by_drug[("2024-04", "crack")]["median_usd"] == 40.0, name  # exact, not a sketch's 40.2
        assert by_drug[("2024-03", "cocaine")]["median_usd"] == 70.0 and by_drug[("2024-03", "cocaine")]["exact"], name
        assert by_drug[("2024-03", "cocaine")]["mean_usd"] == pytest.approx(70.0), name
        assert {r["unit"] for r in by_drug.values()} == {"g"}, name
        in_tayga = backend.price_stats("market:tayga", group_by="city")
        # names as the market wrote them, not case-folded
        assert {(r["month"], r["city"]) for r in in_tayga} == {("2024-03", "Алматы"), ("2024-04", "Алматы"),
                                                                ("2024-04", "Астана")}, name


def test_every_backend_keeps_grams_and_pills_apart_with_exact_quartiles(backends):
    mdma = {"market": "northwind", "vendor": "RollHouse", "drug": "mdma", "title": "MDMA", "price": 1.0,
            "captured_at": "2024-06-01T00:00:00Z"}
    per_gram = [22.0, 24.0, 30.0, 31.0]
    per_pill = [9.74, 8.0, 12.0]
    observations = [observation_from({**mdma, "listing_id": f"g{i}", "unit": "g", "usd_per_base_unit": v})
                    for i, v in enumerate(per_gram)]
    observations += [observation_from({**mdma, "listing_id": f"p{i}", "unit": "unit", "usd_per_base_unit": v})
                     for i, v in enumerate(per_pill)]
    observations.append(observation_from({**mdma, "listing_id": "kg", "unit": "kg", "usd_per_base_unit": 26.0}))
    for name, backend in backends:
        backend.add_observations(observations)
        rows = {r["unit"]: r for r in backend.price_stats("drug:mdma", group_by="vendor")}
        assert set(rows) == {"g", "unit"}, name  # never one pooled "USD/unit" figure
        grams, pills = rows["g"], rows["unit"]
        assert grams["vendor"] == "RollHouse", name
        assert grams["observations"] == 5 and grams["median_usd"] == 26.0, name  # kg counts as grams
        assert (grams["q1_usd"], grams["q3_usd"]) == (24.0, 30.0), name
        assert pills["observations"] == 3 and pills["median_usd"] == 9.74 and pills["exact"], name
        assert pills["q1_usd"] == pytest.approx(8.87) and pills["q3_usd"] == pytest.approx(10.87), name
        assert backend.unpriced_observations("drug:mdma") == 0, name
        backend.add_observations([observation_from({**mdma, "listing_id": "btc-only", "unit": "g"})])
        assert backend.unpriced_observations("drug:mdma") == 1, name


def test_every_backend_keeps_removed_listings_out_unless_asked(backends):
    for name, backend in backends:
        backend.upsert([{**DOCS[2], "status": "removed", "first_seen": "2023-11-01T00:00:00Z",
                         "last_seen": "2023-12-01T00:00:00Z", "removed_at": "2023-12-08T00:00:00Z"},
                        {**DOCS[3], "status": "active"}])
        assert {h["listing_id"] for h in backend.search("market:northwind").hits} == {"b2"}, name
        assert backend.search("drug:cocaine").total == 0, name
        (hit,) = backend.search("status:removed").hits
        assert hit["listing_id"] == "b1" and hit["removed_at"] == "2023-12-08T00:00:00Z", name
        assert backend.search("market:northwind", include_removed=True).total == 2, name
        assert backend.listing_counts(group_by="market") == [{"market": "tayga", "listings": 2},
                                                             {"market": "northwind", "listings": 1}], name


@pytest.mark.parametrize("query, expected", [
    ("drug:coke", {"b1"}), ("drug:кокаин", {"b1"}), ("drug:Cocaine", {"b1"}), ("drug:meph", {"a1"}),
    ("drug:мефедрон", {"a1"}), ("мефедрон", {"a1"}), ("меф", {"a1"}), ("dead_drop:магнит", {"a1"}),
    ("dead_drop:прикоп", {"a2"}), ("city:Almaty", {"a1"}), ("city:Алма-Ата", {"a1"}), ("city:astana", {"a2"}),
    ("ships_from:Netherlands", {"b1"}), ("ships_from:Germany", {"b2"}), ("ships_to:Europe", {"b2"}),
    ("ships_to:UK", {"b2"}),
])
def test_every_backend_maps_synonyms_and_place_names_to_canonical_values(backends, query, expected):
    for name, backend in backends:
        assert {hit["listing_id"] for hit in backend.search(query).hits} == expected, (name, query)


def test_every_backend_counts_listings_and_ranks_vendors_the_same(backends):
    for name, backend in backends:
        assert backend.listing_counts(group_by="market") == [{"market": "northwind", "listings": 2},
                                                             {"market": "tayga", "listings": 2}], name
        top = backend.top_vendors()
        assert top[0] == {"vendor": "Тайга", "listings": 2, "markets": ["tayga"]}, name  # as written
        assert backend.top_vendors("market:northwind", size=1) == [
            {"vendor": "Ice Queen", "listings": 1, "markets": ["northwind"]}], name


def test_every_backend_replaces_by_id_and_fetches_by_id(backends):
    for name, backend in backends:
        backend.upsert([{**DOCS[0], "price": 24000.0}])
        assert backend.count() == len(DOCS), name
        fetched = backend.get_many(["a1", "zz"])
        assert list(fetched) == ["a1"] and fetched["a1"]["price"] == 24000.0, name


# -- the requests the Elasticsearch backend sends ------------------------------


class RecordingNode(BaseNode):
    """Answers like an empty Elasticsearch server and keeps every request it was sent."""

    requests: list[tuple[str, str, object]] = []
    bulk_failures: list[int] = []  # HTTP statuses to report for the first items of the next bulk calls

    def perform_request(self, method, target, body=None, headers=None, request_timeout=None):
        payload = None
        if body:
            text = body.decode("utf-8")
            payload = [json.loads(line) for line in text.splitlines() if line] if "_bulk" in target else json.loads(text)
        RecordingNode.requests.append((method, target, payload))
        status, answer = 200, {"acknowledged": True}
        if method == "HEAD":
            status, answer = 404, None
        elif "_bulk" in target:
            items = []
            for action in payload[0::2]:
                item_status = RecordingNode.bulk_failures.pop(0) if RecordingNode.bulk_failures else 201
                items.append({"index": {"_id": action["index"]["_id"], "status": item_status,
                                        **({"error": {"type": "es_rejected_execution_exception"}}
                                           if item_status >= 400 else {})}})
            answer = {"took": 1, "errors": any(i["index"]["status"] >= 400 for i in items), "items": items}
        elif target.endswith("/_count"):
            answer = {"count": 3}
        elif target.endswith("/_search"):
            answer = {"hits": {"total": {"value": 1, "relation": "eq"}, "hits": [{"_id": "b1", "_source": DOCS[2]}]}}
        meta = ApiResponseMeta(status=status, http_version="1.1", duration=0.0, node=self.config,
                               headers=HttpHeaders({"x-elastic-product": "Elasticsearch",
                                                    "content-type": "application/json"}))
        return NodeApiResponse(meta, json.dumps(answer).encode() if answer is not None else b"")


@pytest.fixture
def recorded():
    RecordingNode.requests = []
    RecordingNode.bulk_failures = []
    backend = ElasticsearchIndex.from_settings(url="http://127.0.0.1:9200", node_class=RecordingNode, max_retries=0)
    backend.retry_backoff_s = 0.01
    return backend


def test_first_write_creates_template_versioned_index_and_alias(recorded):
    recorded.upsert(DOCS[:1])
    calls = [(method, target) for method, target, _ in RecordingNode.requests]
    assert calls[:5] == [
        ("PUT", "/_index_template/onionwatch-listings"),
        ("HEAD", "/_alias/onionwatch-listings"),
        ("HEAD", "/onionwatch-listings-v2"),
        ("PUT", "/onionwatch-listings-v2"),
        ("PUT", "/onionwatch-listings-v2/_alias/onionwatch-listings"),
    ]
    template = RecordingNode.requests[0][2]
    assert template["index_patterns"] == ["onionwatch-listings-v*"]
    mappings = template["template"]["mappings"]
    assert mappings == MAPPINGS and mappings["dynamic"] is False
    assert mappings["properties"]["title"]["fields"]["ru"]["analyzer"] == "russian_text"
    assert template["template"]["settings"]["analysis"]["analyzer"]["russian_text"] == {"type": "russian"}


def test_bulk_bodies_use_the_stable_id_and_the_alias(recorded):
    recorded.upsert(DOCS)
    recorded.upsert(DOCS)  # the same ids again: replaced, never duplicated
    bulks = [payload for method, target, payload in RecordingNode.requests if target == "/_bulk"]
    assert len(bulks) == 2
    for bulk in bulks:
        actions, sources = bulk[0::2], bulk[1::2]
        assert [a["index"]["_id"] for a in actions] == [d["listing_id"] for d in DOCS]
        assert {a["index"]["_index"] for a in actions} == {"onionwatch-listings"}
        assert sources[0]["month"] == "2024-03" and sources[0]["title"] == DOCS[0]["title"]


def test_rejected_items_are_retried_with_back_off(recorded):
    RecordingNode.bulk_failures = [429]  # the first item of the first bulk call is rejected once
    assert recorded.upsert(DOCS) == len(DOCS)
    bulks = [payload for _m, target, payload in RecordingNode.requests if target == "/_bulk"]
    assert len(bulks) == 2 and [a["index"]["_id"] for a in bulks[1][0::2]] == ["a1"]


def test_items_that_keep_failing_are_reported_for_the_spool(recorded):
    RecordingNode.bulk_failures = [400]  # not retryable
    with pytest.raises(IndexWriteError, match="a1"):
        recorded.upsert(DOCS)


def test_search_sends_a_bool_query_never_query_string(recorded):
    result = recorded.search('(drug:cocaine OR drug:crack) "flake cocaine" price_usd:[10 TO 300] NOT city:омск')
    assert result.total == 1 and result.hits[0]["listing_id"] == "b1"
    (method, target, body), = [r for r in RecordingNode.requests if r[1].endswith("/_search")]
    assert target == "/onionwatch-listings/_search"
    assert body["query"] == {"bool": {"must": [{"bool": {"must": [{"bool": {"must": [
        {"bool": {"should": [{"term": {"drug": "cocaine"}}, {"term": {"drug": "crack"}}], "minimum_should_match": 1}},
        {"simple_query_string": {"query": '"flake cocaine"', "fields": ["title", "title.en", "title.ru", "vendor.text",
                                                                        "city.text", "district.text"],
                                 "default_operator": "and"}},
        {"range": {"price_usd": {"gte": 10.0, "lte": 300.0}}},
        {"bool": {"must_not": [{"term": {"city": "омск"}}]}},
    ]}}, {"bool": {"must_not": [{"term": {"status": "removed"}}]}}]}}],  # listings still on the market
        "filter": [{"term": {"kind": "listing"}}]}}
    assert "query_string" not in json.dumps(body).replace("simple_query_string", "")


@pytest.mark.parametrize("query, dsl", [
    ("", {"match_all": {}}),
    ("seen:>=2024-01-01", {"range": {"captured_at": {"gte": "2024-01-01T00:00:00Z"}}}),
    ("usd_per_base_unit:<20", {"range": {"usd_per_base_unit": {"lt": 20.0}}}),
    ('a+b -(c) "d', None),  # unclosed quote: an error, never sent
    ("foo*bar|baz", {"simple_query_string": {"query": r"foo\*bar\|baz", "fields": [
        "title", "title.en", "title.ru", "vendor.text", "city.text", "district.text"], "default_operator": "and"}}),
])
def test_query_dsl_for_each_form(query, dsl):
    if dsl is None:
        with pytest.raises(ValueError):
            parse_query(query)
        return
    assert to_es_query(parse_query(query)) == dsl


def test_aggregations_send_one_body_on_real_offers(recorded):
    RecordingNode.requests = []
    with pytest.raises(KeyError):  # the recording node has no aggregations to answer with
        recorded.price_stats("market:tayga", group_by="city")
    (method, target, body), = [r for r in RecordingNode.requests if r[1].endswith("/_search")]
    assert body["size"] == 0
    assert body["aggs"]["by_month"]["terms"]["field"] == "month"
    assert body["aggs"]["by_month"]["aggs"]["by_group"]["terms"]["field"] == "city"
    by_group = body["aggs"]["by_month"]["aggs"]["by_group"]["aggs"]
    assert by_group["shown"] == {"terms": {"field": "city_shown", "size": 1}}  # the name as written
    by_unit = by_group["by_unit"]
    assert by_unit["terms"]["field"] == "base_unit"  # per g, per ml, per unit: never pooled
    assert by_unit["aggs"]["values"] == {"terms": {"field": "usd_per_base_unit", "size": 10000}}  # exact quantiles
    assert by_unit["aggs"]["estimate"] == {"percentiles": {"field": "usd_per_base_unit", "percents": [25, 50, 75]}}
    query = body["query"]
    assert query["bool"]["filter"] == [{"term": {"kind": "observation"}}]
    offers = query["bool"]["must"][0]["bool"]["must"]
    assert offers[0] == {"term": {"market": "tayga"}}
    assert offers[1] == {"range": {"usd_per_base_unit": {"gt": 0.0}}}
    assert offers[2] == {"bool": {"must_not": [{"term": {"placeholder_price": "true"}}]}}


def test_every_backend_labels_estimates_beyond_the_exact_limit(backends, monkeypatch):
    import index.aggregations

    observations = [observation_from({**DOCS[2], "listing_id": f"x{i}", "usd_per_base_unit": float(i % 7 + 1),
                                      "captured_at": "2024-01-01T00:00:00Z"}) for i in range(30)]
    for name, backend in backends:
        backend.add_observations(observations)
        (exact,) = backend.price_stats("seen:[2024-01-01 TO 2024-01-31]")
        assert exact["exact"] and exact["error_bound"] is None and exact["median_usd"] == 4.0, name
        monkeypatch.setattr(index.aggregations, "EXACT_OBSERVATIONS", 10)
        (estimate,) = backend.price_stats("seen:[2024-01-01 TO 2024-01-31]")
        monkeypatch.undo()
        assert not estimate["exact"] and estimate["error_bound"] == "±1%", name
        assert estimate["median_usd"] == pytest.approx(4.0, rel=0.02) and estimate["observations"] == 30, name

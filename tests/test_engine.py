"""The Elasticsearch backend (OpenSearch flavour) on a real engine: analyzers, template, versioned
index behind its alias and a migration under searches, bulk under pressure (429 retried, mapping
errors per document), the spool across an engine restart, and history kept in the engine.

The engine is OpenSearch 2.19 in a JVM (``tests/engine``), one node for the session, with a write
thread pool of one thread and a queue of one, so load rejections happen for real.
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from engine_data import listings
from engine_fixtures import unique_prefix
from index.aggregations import observation_from
from index.elastic import MAPPING_VERSION, ElasticsearchIndex, IndexWriteError
from index.engine_history import EngineHistory
from index.history import History
from onionwatch.pipeline import MarketReport, replay_pending, write_or_spool
from test_index_contract import DOCS


def _open(engine, **options) -> ElasticsearchIndex:
    index = ElasticsearchIndex.from_settings(url=engine.urls, flavour="opensearch", prefix=unique_prefix(),
                                             **options)
    index.retry_backoff_s = 0.05
    return index


@pytest.fixture
def os_index(engine):
    index = _open(engine)
    yield index
    index.drop()
    index.close()


def _ids(result) -> set[str]:
    return {hit["listing_id"] for hit in result.hits}


def _rejections(client) -> int:
    stats = client.nodes.stats(metric="thread_pool")
    return sum(node["thread_pool"]["write"]["rejected"] for node in stats["nodes"].values())


def test_template_versioned_index_alias_and_the_russian_and_english_analyzers(os_index):
    os_index.upsert(DOCS)
    client = os_index.client
    assert list(client.indices.get_alias(name=os_index.alias)) == [f"{os_index.alias}-v{MAPPING_VERSION}"]
    (template,) = client.indices.get_index_template(name=os_index.template)["index_templates"]
    assert template["index_template"]["index_patterns"] == [f"{os_index.alias}-v*"]
    mapping = client.indices.get_mapping(index=os_index.alias)[f"{os_index.alias}-v{MAPPING_VERSION}"]["mappings"]
    assert mapping["dynamic"] == "false"
    assert mapping["properties"]["title"]["fields"]["ru"]["analyzer"] == "russian_text"
    # Stemming the embedded index does not do: other word forms find the listing.
    assert _ids(os_index.search("кристалл")) == {"a1"}  # title says "кристаллы"
    assert _ids(os_index.search("мефедрона")) == {"a1"}
    assert _ids(os_index.search("rock")) == {"b2"}  # "rocks"
    assert _ids(os_index.search("city:АЛМАТЫ")) == {"a1"}  # the keyword normaliser folds case
    analysed = client.indices.analyze(index=os_index.alias, body={"analyzer": "russian_text", "text": "Шишки"})
    assert [t["token"] for t in analysed["tokens"]] == ["шишк"]


def test_migration_to_the_next_version_swaps_the_alias_at_once_while_searches_run(os_index):
    total = 4000
    os_index.upsert(listings(range(total)))
    seen, failures, during = [], [], []
    stop = threading.Event()
    migrating = threading.Event()

    def searching():
        while not stop.is_set():
            try:
                result = os_index.search("", limit=1)
                seen.append(result.total)
                if migrating.is_set():
                    during.append(result.total)
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                failures.append(exc)
            time.sleep(0.01)

    thread = threading.Thread(target=searching)
    thread.start()
    time.sleep(0.2)
    migrating.set()
    target = os_index.migrate(MAPPING_VERSION + 1)
    migrating.clear()
    time.sleep(0.2)
    stop.set()
    thread.join()
    assert target == f"{os_index.alias}-v{MAPPING_VERSION + 1}"
    assert list(os_index.client.indices.get_alias(name=os_index.alias)) == [target]
    assert failures == []
    assert len(during) >= 3 and set(seen) == {total}  # never a half-built index
    assert os_index.count() == total
    # the new index has the template's analyzers: only Russian stemming finds "кристаллы" from "кристалл"
    assert os_index.search("кристалл").total == total


def test_items_rejected_for_load_are_retried_with_back_off(engine):
    # Six shards on a node with one write thread and a queue of one: most shard requests of each
    # bulk are refused with 429 and must be sent again.
    index = _open(engine, shards=6, replicas=0)
    try:
        before = _rejections(index.client)
        docs = listings(range(3000))
        assert index.upsert(docs) == len(docs)
        assert index.retried_items > 0 and _rejections(index.client) > before
        assert index.count() == len(docs)
        assert set(index.get_many([d["listing_id"] for d in docs[::97]])) == {d["listing_id"] for d in docs[::97]}
    finally:
        index.drop()
        index.close()


def test_a_mapping_error_is_reported_per_document_and_the_batch_spooled(os_index, tmp_path):
    bad = {**DOCS[1], "listing_id": "bad1", "price": "twelve roubles"}
    with pytest.raises(IndexWriteError) as caught:
        os_index.upsert([DOCS[0], bad, DOCS[2]])
    (failure,) = caught.value.failures
    assert failure["id"] == "bad1" and failure["status"] == 400 and "pars" in failure["error"]
    assert "price" in failure["reason"] and caught.value.written == 2
    assert set(os_index.get_many(["a1", "bad1", "b1"])) == {"a1", "b1"}
    report = MarketReport(market="tayga")
    assert write_or_spool(os_index, [DOCS[0], bad], tmp_path / "pending", report) is False
    assert "bad1" in report.error
    (spooled,) = (tmp_path / "pending").glob("*.jsonl")
    assert "twelve roubles" in spooled.read_text(encoding="utf-8")
    # Replayed: the refused document is set aside with its reason and blocks no other batch.
    assert write_or_spool(os_index, [bad], tmp_path / "pending", MarketReport(market="tayga")) is False
    good = tmp_path / "pending" / "zz-later.jsonl"
    good.write_text(json.dumps(DOCS[3], ensure_ascii=False) + "\n", encoding="utf-8")
    assert replay_pending(os_index, tmp_path / "pending") == 1
    assert not list((tmp_path / "pending").glob("*.jsonl"))
    refused = sorted((tmp_path / "pending").glob("*.refused.json"))
    assert len(refused) == 2 and "price" in json.loads(refused[0].read_text())[0]["reason"]
    assert set(os_index.get_many(["a1", "b2", "bad1"])) == {"a1", "b2"}


def test_engine_stopped_mid_run_and_restarted_the_spool_is_replayed_nothing_lost_or_duplicated(engine, tmp_path):
    index = _open(engine, max_retries=1)
    index.bulk_retries = 2
    pending = tmp_path / "pending"
    batches = [listings(range(start, start + 150), market="m2") for start in range(0, 3000, 150)]
    outcomes: list[bool] = []
    down_seen, restarted = threading.Event(), threading.Event()

    def crawler_writes():
        for batch in batches:
            ok = write_or_spool(index, batch, pending, MarketReport(market="m2"))
            outcomes.append(ok)
            if not ok:
                down_seen.set()
                if outcomes.count(False) >= 3:  # the crawl goes on more slowly than the spool fills
                    restarted.wait(180)
            time.sleep(0.05)

    try:
        writer = threading.Thread(target=crawler_writes)
        writer.start()
        while len(outcomes) < 4 and writer.is_alive():
            time.sleep(0.02)
        engine.stop_node(0)
        assert down_seen.wait(60)
        time.sleep(0.3)
        engine.start_node(0)
        restarted.set()
        writer.join()
        assert outcomes.count(False) >= 1 and outcomes[0] and outcomes[-1]
        assert replay_pending(index, pending) == 150 * outcomes.count(False)
        assert not list(pending.glob("*.jsonl"))
        every = [doc["listing_id"] for batch in batches for doc in batch]
        assert index.count() == len(every) == len(set(every))
        assert set(index.get_many(every)) == set(every)
        observations = index.api.count(index.alias, {"term": {"kind": "observation"}})
        assert observations == len(every)  # one per listing and day, replays included
    finally:
        restarted.set()
        if not engine.alive[0]:
            engine.start_node(0)
        index.drop()
        index.close()


def _history_runs(history) -> list[list[dict]]:
    def listing(listing_id, vendor, price):
        return {"listing_id": listing_id, "vendor": vendor, "title": "x", "price": price, "currency": "USD",
                "price_usd": price}

    key = "B2F132DCF2A457CCF8ED4BDDAC10C7D38CA75482"
    return [
        history.record_run("m1", "2024-03-01T00:00:00", [listing("a", "Alpha", 10), listing("b", "Alpha", 20),
                                                         listing("c", "Beta", 30)], {"a", "b", "c"},
                           [{"name": "Beta", "pgp_fingerprints": [key]}]),
        history.record_run("m1", "2024-03-08T00:00:00", [listing("c", "Beta", 33)], {"c"}),
        history.record_run("m1", "2024-03-09T00:00:00", [listing("c", "Beta", 33)], None),
        history.record_run("m2", "2024-03-10T00:00:00", [listing("a", "Alpha", 10)], {"a"},
                           [{"name": "beta-two", "pgp_fingerprints": [key]}]),
    ]


def _comparable(changes: list[dict]) -> list[tuple]:
    return [(c["kind"], c.get("listing_id"), c.get("vendor"), c.get("detail")) for c in changes]


def test_history_in_the_engine_records_what_sqlite_records(engine, tmp_path):
    sqlite = History(tmp_path / "h.sqlite")
    index = _open(engine)
    in_engine = EngineHistory(index.api, prefix=index.prefix)
    try:
        expected, got = _history_runs(sqlite), _history_runs(in_engine)
        assert [_comparable(run) for run in got] == [_comparable(run) for run in expected]
        assert [c["kind"] for c in got[1]].count("removed_listing") == 2
        assert _comparable(in_engine.changes("2024-03-08")) == _comparable(sqlite.changes("2024-03-08"))
        assert _comparable(in_engine.changes("2000-01-01", "m2")) == _comparable(sqlite.changes("2000-01-01", "m2"))
        for name in ("beta", "Alpha", "nobody"):
            assert in_engine.vendor(name) == sqlite.vendor(name)
        assert in_engine.vendor("beta")[0]["linked"] == [{"market": "m2", "name": "beta-two"}]
    finally:
        sqlite.close()
        index.api.delete_indices(f"{index.prefix}-*")
        index.close()


def test_observations_aggregate_on_the_engine(os_index):
    docs = listings(range(200), run=1)
    os_index.upsert(docs)
    os_index.add_observations([observation_from(doc) for doc in docs])
    (row,) = [r for r in os_index.price_stats(group_by="market")]
    assert row["observations"] == 200 and row["month"] == "2024-02"
    median = sorted(d["usd_per_base_unit"] for d in docs)[100]
    assert row["median_usd"] == pytest.approx(median, rel=0.05)


@pytest.mark.parametrize("index_section, message", [
    ('backend = "opensearch"', "needs [index] url"),
    ('backend = "opensearch"\nurl = "http://127.0.0.1:9200"\napi_key = "abc"', "OpenSearch has no API keys"),
])
def test_an_engine_backend_misconfigured_is_one_line(tmp_path, index_section, message, monkeypatch):
    from helpers import onionwatch

    monkeypatch.delenv("ONIONWATCH_ES_URL", raising=False)
    monkeypatch.delenv("ONIONWATCH_ES_API_KEY", raising=False)
    config = tmp_path / "ow.toml"
    config.write_text(f"[index]\n{index_section}\n", encoding="utf-8")
    result = onionwatch("--config", str(config), "search", "cocaine")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

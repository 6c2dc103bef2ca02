"""A three-node cluster (real OpenSearch nodes, one replica): nodes lost during ingest and during
search, and several crawler processes writing to the cluster at once."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from engine_data import listings
from engine_fixtures import start_engine, unique_prefix
from helpers import expected
from onionwatch.config import load_config
from index import open_history, open_index
from index.elastic import ElasticsearchIndex, IndexWriteError
from index.engine_history import EngineHistory

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = start_engine(tmp_path_factory, 3, name="cluster")
    yield started
    started.close()


def _open(cluster, prefix: str) -> ElasticsearchIndex:
    index = ElasticsearchIndex.from_settings(url=cluster.urls, flavour="opensearch", prefix=prefix, shards=3,
                                             replicas=1, max_retries=5)
    index.retry_backoff_s = 0.2
    return index


def _replicated(index, wait_s: int = 120) -> None:
    """Wait until every shard of the index has its primary and its replica started (green): a node
    lost before a replica exists takes that shard with it, which one replica does not promise to survive."""
    health = index.client.cluster.health(index=index.alias, wait_for_status="green", timeout=f"{wait_s}s",
                                         params={"request_timeout": wait_s + 10})
    assert health["status"] == "green", health


def test_nodes_lost_during_ingest_and_search_lose_no_acknowledged_listing(cluster):
    index = _open(cluster, unique_prefix("cluster"))
    batches = [listings(range(start, start + 160), market="c1") for start in range(0, 4000, 160)]
    acknowledged: list[str] = []
    unacknowledged: list[list[dict]] = []
    answers: list[int] = []
    search_failures: list[Exception] = []
    ingesting = threading.Event()
    ingesting.set()

    def ingest():
        for batch in batches:
            try:
                index.upsert(batch)
                acknowledged.extend(doc["listing_id"] for doc in batch)
            except IndexWriteError:
                unacknowledged.append(batch)  # the pipeline spools these; they are written again below
        ingesting.clear()

    def search(until: threading.Event):
        while not until.is_set():
            try:
                answers.append(index.search("drug:cocaine", limit=5).total)
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                search_failures.append(exc)
            time.sleep(0.02)

    try:
        stop_searching = threading.Event()
        writer = threading.Thread(target=ingest)
        reader = threading.Thread(target=search, args=(stop_searching,))
        writer.start()
        reader.start()
        while len(acknowledged) < 800 and writer.is_alive():
            time.sleep(0.05)
        _replicated(index)  # one replica of every shard in place: what the cluster promises to survive
        cluster.stop_node(1)  # a node dies while both run
        writer.join(timeout=300)
        assert not writer.is_alive(), "ingest did not finish within 5 minutes of losing a node"
        stop_searching.set()
        reader.join()
        assert len(acknowledged) >= 2500 and search_failures == [] and len(answers) > 20
        for batch in unacknowledged:
            index.upsert(batch)
        every = [doc["listing_id"] for batch in batches for doc in batch]
        assert set(acknowledged) <= set(index.get_many(acknowledged))
        assert index.count() == len(every)

        # Searches only: the node that holds the cluster-manager role goes too; with node 1 back,
        # two of three remain, a new manager is elected, and every answer stays complete.
        cluster.start_node(1)
        _replicated(index)
        expected = index.search("drug:cocaine").total
        stop_searching = threading.Event()
        answers.clear()
        reader = threading.Thread(target=search, args=(stop_searching,))
        reader.start()
        time.sleep(0.5)
        manager = index.client.cat.cluster_manager(format="json")[0]["node"]
        cluster.stop_node(int(manager.split("-")[1]))
        time.sleep(3)
        stop_searching.set()
        reader.join()
        assert search_failures == [] and len(answers) > 20 and set(answers) == {expected}
    finally:
        for number, alive in enumerate(cluster.alive):
            if not alive:
                cluster.start_node(number)
        index.drop()
        index.close()


def test_three_writer_processes_share_one_cluster_without_loss_or_duplicates(cluster, tmp_path):
    prefix = unique_prefix("writers")
    runs = 3
    spans = {"w1": (0, 500), "w2": (300, 800), "w3": (700, 1000)}
    processes = [subprocess.Popen(
        [sys.executable, str(TESTS / "engine_writer.py"), "--urls", ",".join(cluster.urls), "--prefix", prefix,
         "--writer", name, "--ids", f"{low}:{high}", "--runs", str(runs), "--data", str(tmp_path / name)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name, (low, high) in spans.items()]
    outputs = [process.communicate(timeout=600) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], [err[-2000:] for _out, err in outputs]
    summaries = [json.loads(out.splitlines()[-1]) for out, _err in outputs]
    index = _open(cluster, prefix)
    try:
        every = {f"m1-{n:06d}" for n in range(0, 1000)}
        assert index.count() == len(every)
        assert set(index.get_many(sorted(every))) == every
        # One observation per listing and day: each run is one day, overlapping writers share it.
        assert index.api.count(index.alias, {"term": {"kind": "observation"}}) == len(every) * runs

        history = EngineHistory(index.api, prefix=prefix)
        new = Counter(listing for s in summaries for kind, listing in s["changes"] if kind == "new_listing")
        assert set(new) == every and set(new.values()) == {1}  # new exactly once, whoever saw it first
        recorded = history.changes("2000-01-01", "m1")
        assert Counter(c["kind"] for c in recorded)["new_listing"] == len(every)
        assert len(recorded) == sum(len(s["changes"]) for s in summaries)
        (vendor,) = history.vendor("vendor0")
        assert vendor["pgp_fingerprints"] == sorted(s["key"] for s in summaries)  # every writer's key kept
        assert vendor["first_seen"].startswith("2024-01-01") and vendor["last_seen"].startswith("2024-03-01")
    finally:
        index.api.delete_indices(f"{prefix}-*")
        index.drop()
        index.close()


def test_two_machines_running_onionwatch_share_listings_history_and_vendors_in_the_cluster(cluster, tmp_path):
    """``onionwatch run`` on two "machines" (separate data folders) at once, both on the bundled samples,
    with ``[index] backend = "opensearch"``: one copy of each listing, each new once, one history."""
    prefix = unique_prefix("machines")
    urls = ", ".join(f'"{url}"' for url in cluster.urls)
    configs = []
    for machine in ("east", "west"):
        config = tmp_path / f"{machine}.toml"
        config.write_text(f'data_dir = "{tmp_path / machine}"\n[index]\nbackend = "opensearch"\n'
                          f'url = [{urls}]\nprefix = "{prefix}"\n', encoding="utf-8")
        configs.append(config)
    command = [sys.executable, "-m", "onionwatch.cli", "--config"]
    runs = [subprocess.Popen(command + [str(config), "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for config in configs]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _out, err in outputs]
    total = sum(len(expected(market)["listings"]) for market in ("northwind", "tayga", "tortuga"))
    east, west = load_config(configs[0]), load_config(configs[1])
    index, history = open_index(east), open_history(west)
    try:
        ids = [hit["listing_id"] for hit in index.search("", limit=500).hits]
        assert len(ids) == len(set(ids)) == total
        new = Counter(c["listing_id"] for c in history.changes("2000-01-01") if c["kind"] == "new_listing")
        assert set(new) == set(ids) and set(new.values()) == {1}
        (vendor,) = history.vendor("nordicsnow")
        assert vendor["market"] == "northwind" and vendor["pgp_fingerprints"]
        assert not (tmp_path / "east" / "history.sqlite").exists()  # nothing kept on one machine alone
    finally:
        history.close()
        index.api.delete_indices(f"{prefix}-*")
        index.drop()
        index.close()

"""Exports, evidence packages and financial-flow leads on the three sample markets, read back by
each format's own library (stix2, pymisp, networkx, pyarrow/DuckDB, tagpack-tool)."""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from extract.crypto import find_addresses
from extract.document import parse
from helpers import SAMPLE_MARKETS, expected, onionwatch, run_once, site_dir
from index import open_index
from index.history import History
from onionwatch.cli import main
from onionwatch.config import Config, sample_markets
from onionwatch.selection import Selection, select
from prereq import need

SHARED_BTC = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
NORDIC_KEY = "B2F132DCF2A457CCF8ED4BDDAC10C7D38CA75482"
TAYGA_TRX = "TWXhUqoGRPi8XYaX2NGkBeWwfWtmvTmdTk"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The pipeline run once on every sample market."""
    root = tmp_path_factory.mktemp("outputs")
    config = Config(data_dir=root / "data", markets=sample_markets())
    index = open_index(config)
    for market in config.markets:
        report = run_once(config, market, index)
        assert report.status == "ok", report.error
    return config


def _env(config: Config) -> dict:
    return {"ONIONWATCH_DATA": str(config.data_dir)}


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """The onionwatch command run in this process (no interpreter start per call), like ``helpers.onionwatch``."""
    def run(*args: str, env: dict | None = None) -> Ran:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return run


def _expect() -> dict:
    """What the samples hold: listings per market, vendor accounts with listings, their keys, all addresses."""
    listings = Counter()
    accounts, keys, addresses = set(), set(), set()
    for market in SAMPLE_MARKETS:
        golden = expected(market)
        profiles = {v["name"]: v for v in golden["vendors"]}
        for item in golden["listings"]:
            listings[market] += 1
            accounts.add((market, item["vendor"]))
            profile = profiles.get(item["vendor"], {})
            keys.update(profile.get("pgp_fingerprints", []))
            addresses.update(a["address"] for a in profile.get("crypto_addresses", []))
            page = (site_dir(market) / item["url"]).read_bytes()
            addresses.update(a["address"] for a in find_addresses(parse(page).text))
    return {"listings": listings, "accounts": accounts, "keys": keys, "addresses": addresses}


def _export(cli, config: Config, fmt: str, out: Path, *selection: str) -> str:
    result = cli("export", fmt, *selection, "--out", str(out), env=_env(config))
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command", ["export", "evidence", "leads"])
def test_new_subcommands_have_help_with_an_example(command):
    result = onionwatch(command, "--help")
    assert result.returncode == 0
    assert "example:" in result.stdout and f"onionwatch {command}" in result.stdout


def test_selection_streams_listings_with_observations_vendor_and_capture(data):
    history = History(data.history_db)
    try:
        items = list(select(open_index(data), history, Selection(vendor="NordicSnow"), page=1))
        everything = sum(1 for _ in select(open_index(data), history, Selection(), page=7))
        tayga = sum(1 for _ in select(open_index(data), history, Selection(market="tayga", since=None), page=3))
    finally:
        history.close()
    assert everything == sum(_expect()["listings"].values())
    assert tayga == _expect()["listings"]["tayga"]
    assert {i.listing["vendor"] for i in items} == {"NordicSnow"} and len(items) == 2
    for item in items:
        assert len(item.observations) == 1 and item.observations[0]["listing_id"] == item.listing["listing_id"]
        assert item.vendor["pgp_fingerprints"] == [NORDIC_KEY]
        assert Path(item.capture["warc_file"]).is_file()


@pytest.mark.parametrize("backend", ["embedded", "engine"])
def test_scan_pages_through_every_match_on_each_backend(tmp_path, request, backend):
    """The selection's one index call, ``scan``: every match once, whatever the page size,
    on the embedded index and on the real test engine (and Elasticsearch at ONIONWATCH_ES_URL)."""
    from index.aggregations import observation_from
    from test_index_contract import DOCS, QUERIES, _backends

    backends = [made for _name, made in _backends(request, tmp_path, backend)]
    for index in backends:
        index.upsert(DOCS)
        index.add_observations([observation_from(doc) for doc in DOCS])
        for query, ids in QUERIES.items():
            for batch in (1, 3, 500):
                found = [doc["listing_id"] for doc in index.scan(query, batch=batch)]
                assert sorted(found) == sorted(ids), (type(index).__name__, query, batch)
        # many captured in the same second, and some with no capture time: still each exactly once
        crowd = [{"listing_id": f"c{n:02d}", "market": "crowd", "title": "same second",
                  "captured_at": "2024-06-01T00:00:00Z" if n % 4 else None} for n in range(23)]
        index.upsert(crowd)
        for batch in (1, 2, 5, 500):
            found = [doc["listing_id"] for doc in index.scan("market:crowd", batch=batch)]
            assert sorted(found) == sorted(c["listing_id"] for c in crowd), (type(index).__name__, batch)
        observations = list(index.scan("", kind="observation", only_ids=["a1", "b2"], batch=1))
        assert sorted(o["listing_id"] for o in observations) == ["a1", "b2"]
        assert all(o["doc_id"].startswith(o["listing_id"] + "@") for o in observations)


def test_stix_bundle_parses_with_the_expected_objects_and_links(cli, data, tmp_path):
    import stix2

    import onionwatch.exporters.stix  # noqa: F401  (registers the custom observables)

    out = tmp_path / "all.stix.json"
    _export(cli, data, "stix", out)
    bundle = stix2.parse(out.read_text(encoding="utf-8"), allow_custom=True)
    want = _expect()
    counts = Counter(obj.type for obj in bundle.objects)
    assert counts["observed-data"] == counts["x-onionwatch-listing"] == sum(want["listings"].values())
    assert counts["identity"] == len(want["accounts"])
    assert counts["infrastructure"] == len(SAMPLE_MARKETS)
    assert counts["x-pgp-key"] == len(want["keys"])
    assert {o.address for o in bundle.objects if o.type == "x-cryptocurrency-wallet"} == want["addresses"]
    by_id = {obj.id: obj for obj in bundle.objects}
    wallet = next(o for o in bundle.objects if o.type == "x-cryptocurrency-wallet" and o.address == SHARED_BTC)
    controllers = {by_id[r.source_ref].name for r in bundle.objects
                   if r.type == "relationship" and r.relationship_type == "controls" and r.target_ref == wallet.id}
    assert controllers == {"NordicSnow", "MeowMeow"}
    # a listing: its vendor, its market, its capture time and the SHA-256 of the captured page
    listing = next(o for o in bundle.objects if o.type == "x-onionwatch-listing" and o.title.startswith("Peruvian"))
    observed = next(o for o in bundle.objects if o.type == "observed-data" and listing.id in o.object_refs)
    links = {(by_id[r.target_ref].type, r.relationship_type) for r in bundle.objects
             if r.type == "relationship" and r.source_ref == observed.id}
    assert links == {("identity", "offered-by"), ("infrastructure", "observed-on")}
    page = (site_dir("northwind") / "listing/1001.html").read_bytes()
    assert observed.external_references[0].hashes["SHA-256"] == hashlib.sha256(page).hexdigest()
    assert observed.first_observed.year >= 2024


def test_misp_event_loads_with_pymisp(cli, data, tmp_path):
    from pymisp import MISPEvent

    out = tmp_path / "event.json"
    _export(cli, data, "misp", out, "--market", "northwind")
    event = MISPEvent()
    event.load_file(str(out))
    names = Counter(o.name for o in event.objects)
    want = _expect()
    assert names["onionwatch-listing"] == want["listings"]["northwind"]
    assert names["user-account"] == len({a for a in want["accounts"] if a[0] == "northwind"})
    assert names["coin-address"] == 1 and names["pgp-meta"] == 7
    coin = next(o for o in event.objects if o.name == "coin-address")
    assert coin.get_attributes_by_relation("address")[0].value == SHARED_BTC
    nordic = next(o for o in event.objects if o.name == "user-account"
                  and o.get_attributes_by_relation("username")[0].value == "NordicSnow")
    assert {r.referenced_uuid for r in nordic.references if r.relationship_type == "owns"} == {coin.uuid}
    published = [o for o in event.objects if o.name == "onionwatch-listing"
                 and any(r.referenced_uuid == nordic.uuid for r in o.references)]
    assert len(published) == 2


def test_graphml_gexf_and_i2_hold_the_network(cli, data, tmp_path):
    import networkx as nx

    _export(cli, data, "graphml", tmp_path / "g.graphml")
    _export(cli, data, "gexf", tmp_path / "g.gexf")
    _export(cli, data, "i2", tmp_path / "i2")
    want = _expect()
    for graph in (nx.read_graphml(tmp_path / "g.graphml"), nx.read_gexf(tmp_path / "g.gexf")):
        types = Counter(data_["type"] for _, data_ in graph.nodes(data=True))
        assert types["listing"] == sum(want["listings"].values())
        assert types["account"] == len(want["accounts"]) and types["market"] == len(SAMPLE_MARKETS)
        assert types["pgp_key"] == len(want["keys"]) and types["address"] == len(want["addresses"])
        shared = f"address:BTC:{SHARED_BTC}"
        assert set(graph.predecessors(shared)) == {"account:northwind/NordicSnow", "account:tortuga/MeowMeow"}
        assert set(graph.predecessors(f"pgp_key:{NORDIC_KEY}")) == {"account:northwind/NordicSnow",
                                                                  "account:tortuga/MeowMeow"}
        assert f"address:TRX:{TAYGA_TRX}" in graph
    with open(tmp_path / "i2" / "entities.csv", encoding="utf-8-sig", newline="") as handle:
        entities = list(csv.DictReader(handle))
    with open(tmp_path / "i2" / "links.csv", encoding="utf-8-sig", newline="") as handle:
        links = list(csv.DictReader(handle))
    kinds = Counter(e["Entity Type"] for e in entities)
    assert kinds["Advertisement"] == sum(want["listings"].values()) and kinds["Cryptocurrency Wallet"] == 2
    ids = {e["Entity ID"] for e in entities}
    assert all(link["From Entity ID"] in ids and link["To Entity ID"] in ids for link in links)
    assert {link["From Entity ID"] for link in links if link["To Entity ID"] == f"address:BTC:{SHARED_BTC}"} == \
        {"account:northwind/NordicSnow", "account:tortuga/MeowMeow"}


def test_parquet_and_csv_read_as_they_are_by_duckdb(cli, data, tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    _export(cli, data, "parquet", tmp_path / "pq")
    _export(cli, data, "csv", tmp_path / "csv")
    want = _expect()["listings"]
    for folder, ext in (("pq", "parquet"), ("csv", "csv")):
        listings = str(tmp_path / folder / f"listings.{ext}")
        observations = str(tmp_path / folder / f"observations.{ext}")
        per_market = dict(duckdb.sql(f"SELECT market, count(*) FROM '{listings}' GROUP BY market").fetchall())
        assert per_market == dict(want)
        joined = duckdb.sql(f"SELECT count(*) FROM '{listings}' l JOIN '{observations}' o USING (listing_id)").fetchall()[0]
        assert joined[0] == sum(want.values())
        assert duckdb.sql(f"SELECT count(*) FROM '{listings}' WHERE capture_sha256 IS NULL").fetchall()[0][0] == 0
        price = duckdb.sql(f"SELECT price FROM '{listings}' WHERE title LIKE 'Peruvian%'").fetchall()[0][0]
        assert float(price) == 245.0
    table = pq.read_table(tmp_path / "pq" / "listings.parquet")
    assert str(table.schema.field("captured_at").type).startswith("timestamp")
    assert table.schema.field("ships_to").type.value_type == "string"


def test_export_bad_input_is_one_line(cli, data, tmp_path):
    unknown = cli("export", "docx", "--out", str(tmp_path / "x"), env=_env(data))
    assert unknown.returncode == 2 and "no format 'docx'" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_query = cli("export", "csv", "--query", "price_usd:[10 TO", "--out", str(tmp_path / "y"),
                           env=_env(data))
    assert bad_query.returncode == 2 and len(bad_query.stderr.strip().splitlines()) == 1
    listed = cli("export", "--list")
    assert listed.returncode == 0
    assert {line.split()[0] for line in listed.stdout.splitlines()} >= {"stix", "misp", "graphml", "gexf", "i2",
                                                                        "parquet", "csv"}


# --- evidence packages -------------------------------------------------------------------------

def _package(cli, config: Config, out: Path, examiner: str, *selection: str) -> None:
    result = cli("evidence", *selection, "--examiner", examiner, "--out", str(out), env=_env(config))
    assert result.returncode == 0, result.stderr


def test_evidence_package_copies_records_unchanged_and_is_reproducible(cli, data, tmp_path):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    _package(cli, data, first, "Examiner One", "--vendor", "NordicSnow")
    _package(cli, data, second, "Examiner Two", "--vendor", "NordicSnow")
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert a.namelist() == sorted(a.namelist()) == b.namelist()
        for name in a.namelist():
            if name != "manifest.json":
                assert a.read(name) == b.read(name), name
        manifest_a, manifest_b = json.loads(a.read("manifest.json")), json.loads(b.read("manifest.json"))
        warc = a.read("records.warc.gz")
        assert a.read("report.pdf").startswith(b"%PDF") and b"NordicSnow" in a.read("report.html")
    assert (manifest_a["made_by"], manifest_b["made_by"]) == ("Examiner One", "Examiner Two")
    for manifest in (manifest_a, manifest_b):
        del manifest["made_by"], manifest["made_at"]
    assert manifest_a == manifest_b
    # two listing pages and the vendor profile, each the very bytes of the capture store
    uris = sorted(r["uri"].rsplit("/", 2)[-2] + "/" + r["uri"].rsplit("/", 1)[-1] for r in manifest_a["records"])
    assert uris == ["listing/1001.html", "listing/1002.html", "vendor/NordicSnow.html"]
    for record in manifest_a["records"]:
        source = data.captures_dir / record["source_file"]
        with open(source, "rb") as handle:
            handle.seek(record["source_offset"])
            original = handle.read(record["length"])
        assert warc[record["package_offset"]:record["package_offset"] + record["length"]] == original
        assert hashlib.sha256(original).hexdigest() == record["sha256"]
        assert record["captured_at"] and record["block_digest"].startswith("sha256:")
    assert len(manifest_a["config_digest"]) == 64 and manifest_a["onionwatch_version"]
    # the records file is a WARC file that warcio reads whole
    from warcio.archiveiterator import ArchiveIterator
    assert len(list(ArchiveIterator(io.BytesIO(warc)))) == 3
    verified = cli("evidence", "verify", str(first))
    assert verified.returncode == 0 and "0 problems" in verified.stdout


def _rewrite(package: Path, out: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, data if info.filename == name else source.read(info.filename))


def test_evidence_verify_names_the_altered_record(cli, data, tmp_path):
    package = tmp_path / "case.zip"
    _package(cli, data, package, "tester", "--market", "tortuga")
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        warc = archive.read("records.warc.gz")
    victim = manifest["records"][3]
    start, length = victim["package_offset"], victim["length"]
    # The record's page with one price changed, re-compressed as a gzip member of the same length budget.
    page = gzip.decompress(warc[start:start + length])
    assert b"$" in page
    altered = gzip.compress(page.replace(b"$", b"\xe2\x82\xac", 1), mtime=0)
    tampered = tmp_path / "tampered.zip"
    _rewrite(package, tampered, "records.warc.gz", warc[:start] + altered + warc[start + length:])
    result = cli("evidence", "verify", str(tampered))
    assert result.returncode == 1
    named = [line for line in result.stdout.splitlines() if line.startswith("ALTERED record")]
    assert any(f"record {victim['n']} ({victim['uri']}" in line for line in named)
    # only the tampered record, or those after it whose place moved, are named: never one before it
    assert not any(f"record {r['n']} (" in line for r in manifest["records"][:3] for line in named)
    # a flipped byte in place (same length): exactly that record is named
    flipped = bytearray(warc)
    flipped[start + length // 2] ^= 0xFF
    in_place = tmp_path / "flipped.zip"
    _rewrite(package, in_place, "records.warc.gz", bytes(flipped))
    result = cli("evidence", "verify", str(in_place))
    named = [line for line in result.stdout.splitlines() if line.startswith("ALTERED record")]
    assert result.returncode == 1 and named
    assert {line.split(" (")[0] for line in named} == {f"ALTERED record {victim['n']}"}


def test_evidence_for_one_listing_holds_its_record(cli, data, tmp_path):
    hit = open_index(data).search('market:tayga "кристаллы"', limit=1).hits[0]
    package = tmp_path / "one.zip"
    _package(cli, data, package, "tester", "--listing", hit["listing_id"])
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        report = archive.read("report.html").decode("utf-8")
        pdf = archive.read("report.pdf")
    assert [r["listings"] for r in manifest["records"]] == [[hit["listing_id"]]]
    from onionwatch.evidence import _FONTS
    need(any(Path(p).is_file() for p in _FONTS),
         "a TrueType font with Cyrillic (apt-get install fonts-dejavu-core) for the PDF report of Russian pages")
    assert b"DejaVuSans" in pdf or b"LiberationSans" in pdf
    assert manifest["records"][0]["uri"] == hit["source_url"]
    assert hit["title"] in report and "Бостандыкский" in report  # the captured page's own text


def test_evidence_of_an_http_capture_holds_request_and_response(cli, tmp_path, http_mirror):
    from onionwatch.config import MarketSource

    site = http_mirror(site_dir("northwind"))
    config = Config(data_dir=tmp_path / "data", markets=(MarketSource(name="northwind", source=site.url + "index.html",
                                                                        on_gate="skip"),))
    assert run_once(config, config.markets[0], open_index(config)).status == "ok"
    hit = open_index(config).search("vendor:NordicSnow cocaine", limit=1).hits[0]
    package = tmp_path / "http.zip"
    _package(cli, config, package, "tester", "--listing", hit["listing_id"])
    with zipfile.ZipFile(package) as archive:
        records = json.loads(archive.read("manifest.json"))["records"]
    by_type = {r["warc_type"]: r for r in records}
    assert sorted(by_type) == ["request", "response"] and len(records) == 2
    assert by_type["request"]["concurrent_to"] == by_type["response"]["warc_record_id"]
    assert by_type["response"]["uri"] == hit["source_url"]
    assert all(r["listings"] == [hit["listing_id"]] for r in records)
    verified = cli("evidence", "verify", str(package))
    assert verified.returncode == 0 and "2 records" in verified.stdout


def test_evidence_bad_input_is_one_line(cli, data, tmp_path):
    not_zip = tmp_path / "case.zip"
    not_zip.write_text("hello")
    result = cli("evidence", "verify", str(not_zip))
    assert result.returncode == 1 and "not a zip file" in result.stderr and "Traceback" not in result.stderr
    nothing = cli("evidence", "--vendor", "NoSuchVendor", "--out", str(tmp_path / "n.zip"), env=_env(data))
    assert nothing.returncode == 1 and "nothing selected" in nothing.stderr
    unchosen = cli("evidence", "--out", str(tmp_path / "n.zip"), env=_env(data))
    assert unchosen.returncode == 2 and "choose what" in unchosen.stderr


# --- financial-flow leads ----------------------------------------------------------------------

def test_address_reuse_across_two_markets_is_the_first_lead(cli, data):
    result = cli("leads", "--ranked", "--json", env=_env(data))
    assert result.returncode == 0, result.stderr
    leads = [json.loads(line) for line in result.stdout.splitlines()]
    top = leads[0]
    assert (top["rank"], top["kind"], top["indicator"], top["chain"]) == (1, "address_reuse", SHARED_BTC, "BTC")
    assert top["markets"] == ["northwind", "tortuga"]
    assert top["accounts"] == ["NordicSnow@northwind", "MeowMeow@tortuga"] or \
        sorted(top["accounts"]) == ["MeowMeow@tortuga", "NordicSnow@northwind"]
    assert {(e["market"], e["page"]) for e in top["evidence"]} == {("northwind", "vendor"), ("tortuga", "vendor")}
    assert all(Path(e["warc_file"]).is_file() and len(e["sha256"]) == 64 for e in top["evidence"])
    kinds = {lead["kind"]: lead for lead in leads}
    assert kinds["shared_pgp_key"]["indicator"] == NORDIC_KEY
    assert sorted(kinds["linked_vendors"]["accounts"]) == ["MeowMeow@tortuga", "NordicSnow@northwind"]
    assert [lead["rank"] for lead in leads] == list(range(1, len(leads) + 1))
    # default order: newest first
    newest = cli("leads", "--json", env=_env(data))
    seen = [json.loads(line)["last_seen"] for line in newest.stdout.splitlines()]
    assert seen == sorted(seen, reverse=True)


def test_every_address_per_chain_with_where_it_was_seen(cli, data):
    result = cli("leads", "--addresses", "--json", env=_env(data))
    rows = {row["address"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert set(rows) == _expect()["addresses"]
    trx = rows[TAYGA_TRX]
    assert (trx["chain"], trx["markets"], trx["seen_on"], trx["vendors"]) == ("TRX", ["tayga"], ["listing"], ["Тайга"])
    assert trx["first_seen"] <= trx["last_seen"]
    indexed = open_index(data).search("market:tayga", limit=50).hits
    assert trx["listings"] == [next(h["listing_id"] for h in indexed if h["url"].endswith("product/701.html"))]
    assert rows[SHARED_BTC]["vendors"] == ["MeowMeow", "NordicSnow"]
    only_trx = cli("leads", "--addresses", "--chain", "trx", "--json", env=_env(data))
    assert [json.loads(line)["address"] for line in only_trx.stdout.splitlines()] == [TAYGA_TRX]


def test_tagpack_validates_with_tagpack_tool_and_label_csv(cli, data, tmp_path):
    tagpack, labels = tmp_path / "onionwatch.yaml", tmp_path / "labels.csv"
    result = cli("leads", "--tagpack", str(tagpack), "--labels", str(labels), env=_env(data))
    assert result.returncode == 0, result.stderr
    tool = Path(sys.executable).with_name("tagpack-tool")
    assert tool.is_file(), "tagpack-tool is in the [test] extras"
    validated = subprocess.run([str(tool), "tagpack", "validate", str(tagpack)], capture_output=True, text=True,
                               timeout=120, env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*",
                                                 "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"})
    assert "1/1 TagPacks passed" in validated.stdout, validated.stdout + validated.stderr
    import yaml
    pack = yaml.safe_load(tagpack.read_text(encoding="utf-8"))
    assert {tag["address"] for tag in pack["tags"]} == _expect()["addresses"]
    with open(labels, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["address", "chain", "label", "source", "first_seen", "last_seen", "evidence"]
    shared = next(r for r in rows if r["address"] == SHARED_BTC)
    assert shared["chain"] == "BTC" and "NordicSnow" in shared["label"] and "MeowMeow" in shared["label"]
    assert shared["evidence"].count("sha256:") == 2
    # a broken pack is refused by the same validator: the check can fail
    broken = tmp_path / "broken.yaml"
    broken.write_text(tagpack.read_text(encoding="utf-8").replace("confidence: web_crawl", "confidence: hearsay"),
                      encoding="utf-8")
    refused = subprocess.run([str(tool), "tagpack", "validate", str(broken)], capture_output=True, text=True,
                             timeout=120)
    assert "1/1 TagPacks passed" not in refused.stdout

"""Collection over every kind of source, with its safety rules, sessions, limits and increments."""
from __future__ import annotations

import gzip
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from crawlers.evidence import read_pages
from crawlers.middlewares.onion_guard import proxy_for
from extract.document import parse
from extract.gates import gate_type
from helpers import assert_matches_golden, expected, onionwatch, run_once, site_dir
from index import open_index
from onionwatch.config import CrawlLimits, MarketSource
from onionwatch.pipeline import source_root

from prereq import need_shared

ONION = "http://northwindmarket7xq2.onion/"


def test_tor_mode_sends_every_request_through_the_proxy(make_config, copied_site, recording_proxy, http_mirror):
    site = copied_site("northwind")
    canary = http_mirror(site)  # the same pages, reachable directly: nothing may come here
    index_page = site / "index.html"
    index_page.write_text(index_page.read_text(encoding="utf-8").replace(
        "</body>", f'<a href="{canary.url}index.html">clearnet copy</a></body>'))
    proxy = recording_proxy(site)
    market = MarketSource("northwind", ONION + "index.html", on_gate="skip")
    config = replace(make_config(market), http_proxies=(proxy.url,))
    index = open_index(config)
    report = run_once(config, market, index)

    assert report.status == "ok", report.error
    assert len(proxy.requests) == len(expected("northwind")["pages"])
    assert all(url.startswith(ONION) for url in proxy.requests)
    assert canary.requests == []
    assert_matches_golden(index.search("market:northwind", limit=100).hits, expected("northwind"), ONION)


def test_each_host_keeps_one_proxy_and_hosts_spread_over_proxies():
    proxies = ["http://127.0.0.1:8118", "http://127.0.0.1:8119", "http://127.0.0.1:8120"]
    hosts = [f"market{i}.onion" for i in range(60)]
    chosen = {host: proxy_for(host, proxies) for host in hosts}
    assert all(proxy_for(host, proxies) == chosen[host] for host in hosts)
    assert set(chosen.values()) == set(proxies)


def test_two_proxies_one_market_one_circuit(make_config, recording_proxy):
    first, second = recording_proxy(site_dir("tortuga")), recording_proxy(site_dir("tortuga"))
    market = MarketSource("tortuga", "http://tortugabazaar4k2.onion/index.html", on_gate="skip")
    config = replace(make_config(market), http_proxies=(first.url, second.url))
    run_once(config, market, open_index(config))
    used = [p for p in (first, second) if p.requests]
    assert len(used) == 1 and len(used[0].requests) == len(expected("tortuga")["pages"])


@pytest.mark.parametrize("how", ["header", "cookies.txt"])
def test_session_cookies_open_the_market(make_config, http_mirror, tmp_path, how):
    server = http_mirror(site_dir("tayga"), cookie="session=analyst42")
    if how == "header":
        cookies = "session=analyst42; lang=ru"
    else:
        jar = tmp_path / "cookies.txt"
        jar.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tanalyst42\n"
                       "other.onion\tFALSE\t/\tFALSE\t0\tsession\tnot-for-this-market\n")
        cookies = str(jar)
    market = MarketSource("tayga", server.url + "index.html", cookies=cookies)
    config = make_config(market)
    index = open_index(config)
    report = run_once(config, market, index)
    # Live-site default: a gate stops the crawl, so its login link is never reached while signed in.
    assert report.status in ("ok", "degraded")
    hits = index.search("market:tayga", limit=100).hits
    assert len(hits) == len(expected("tayga")["listings"])


def test_expired_session_stops_the_crawl_and_indexes_nothing(make_config, http_mirror):
    server = http_mirror(site_dir("tayga"), cookie="session=analyst42")
    market = MarketSource("tayga", server.url + "index.html", cookies="session=expired")
    config = make_config(market)
    index = open_index(config)
    report = run_once(config, market, index)
    assert report.status == "degraded"
    assert "session needs renewing" in report.error and "login" in report.error
    assert len(server.requests) == 1  # the first page was the gate; nothing more was fetched
    assert index.count() == 0


def test_gate_pages_in_the_samples_and_the_corpus_are_recognised():
    corpus = need_shared("corpus")
    golds = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((corpus / "gold").rglob("*.json"))]
    assert golds, f"the shared corpus at {corpus} has no gold labels"
    for gold in golds:
        want = gold["page_type"] if gold["page_type"] in ("captcha", "login", "error") else None
        got = gate_type(parse((corpus / "pages" / gold["source"]).read_bytes()))
        assert got == want, gold["source"]
    for market in ("northwind", "tortuga", "tayga"):
        for relative, page_type in expected(market)["pages"].items():
            got = gate_type(parse((site_dir(market) / relative).read_bytes()))
            assert got == (page_type if page_type in ("captcha", "login") else None), relative


def test_a_warc_replays_as_the_site_with_no_network(make_config, http_mirror):
    server = http_mirror(site_dir("tortuga"))
    live = MarketSource("tortuga", server.url + "index.html", on_gate="skip")
    config = make_config(live)
    first_index = open_index(config)
    original = run_once(config, live, first_index)
    fetched = len(server.requests)

    replayed = MarketSource("tortuga", f"warc:{original.warc_path}")
    replay_config = replace(config, data_dir=config.data_dir.parent / "replay")
    replay_index = open_index(replay_config)
    report = run_once(replay_config, replayed, replay_index)

    assert len(server.requests) == fetched  # the replay asked the server for nothing
    assert report.pages == original.pages
    key = lambda hit: hit["listing_id"]  # noqa: E731
    before = sorted(first_index.search("market:tortuga", limit=100).hits, key=key)
    after = sorted(replay_index.search("market:tortuga", limit=100).hits, key=key)
    fields = ("listing_id", "title", "vendor", "price", "currency", "price_usd", "drug", "ships_from", "url")
    assert [{f: h[f] for f in fields} for h in after] == [{f: h[f] for f in fields} for h in before]


def test_recrawl_revalidates_and_extracts_only_what_changed(make_config, copied_site, http_mirror):
    site = copied_site("northwind")
    server = http_mirror(site)
    market = MarketSource("northwind", server.url + "index.html", on_gate="skip")
    config = make_config(market)
    index = open_index(config)
    first = run_once(config, market, index)
    pages = len(expected("northwind")["pages"])
    assert first.changes["new"] == pages

    server.requests.clear()
    second = run_once(config, market, index)
    assert second.changes["unchanged"] == pages and second.changes["new"] == 0
    assert all(request.endswith(" 304") for request in server.requests)  # validators: no body re-sent
    assert all(page.revisit for page in read_pages(second.warc_path))

    listing = site / "listing" / "1002.html"
    listing.write_text(listing.read_text(encoding="utf-8").replace("USD 65.00", "USD 59.00"), encoding="utf-8")
    later = time.time() + 5
    os.utime(listing, (later, later))
    (site / "vendor" / "DigiDealer.html").unlink()
    third = run_once(config, market, index)
    assert third.changes["changed"] == 1 and third.changes["gone"] == 1
    assert third.gone == ["vendor/DigiDealer.html"]
    (speed,) = index.search('"speed paste"').hits
    assert speed["price"] == 59.0 and speed["ships_from"] == "NL"
    assert index.count() == len(expected("northwind")["listings"])


def _misbehaving_routes():
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(50 * 1024 * 1024))
        handler.end_headers()
        chunk = b"<p>" + b"x" * 65533
        try:
            for _ in range(50 * 16):
                handler.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def slow(handler):
        time.sleep(3)
        handler.send_response(200)
        handler.end_headers()

    def loop(target):
        def redirect(handler):
            handler.send_response(302)
            handler.send_header("Location", target)
            handler.end_headers()
        return redirect

    return {"/big.html": huge, "/slow.html": slow, "/loop-a.html": loop("/loop-b.html"),
            "/loop-b.html": loop("/loop-a.html")}


def test_limits_huge_slow_and_looping_pages_are_reported_and_the_rest_crawled(make_config, copied_site, http_mirror):
    site = copied_site("tayga")
    index_page = site / "index.html"
    index_page.write_text(index_page.read_text(encoding="utf-8").replace(
        "</body>", '<a href="big.html">b</a><a href="slow.html">s</a><a href="loop-a.html">l</a></body>'))
    server = http_mirror(site, routes=_misbehaving_routes())
    market = MarketSource("tayga", server.url + "index.html", on_gate="skip")
    limits = CrawlLimits(max_page_bytes=1024 * 1024, timeout_s=1, retry_times=1, retry_base_delay_s=0.1)
    config = replace(make_config(market), limits=limits)
    index = open_index(config)
    started = time.monotonic()
    report = run_once(config, market, index)

    assert time.monotonic() - started < 60
    failed = {problem.url.rsplit("/", 1)[-1]: problem.message for problem in report.problems if problem.kind == "error"}
    assert "big.html" in failed and "slow.html" in failed
    assert any(name.startswith("loop-") for name in failed)
    slow_requests = [r for r in server.arrivals if r == "GET /slow.html"]
    assert len(slow_requests) == 2  # one try, one retry
    assert index.count() == len(expected("tayga")["listings"])


def test_captures_verify_finds_an_altered_record(tmp_path):
    data = tmp_path / "data"
    env = {"ONIONWATCH_DATA": str(data)}
    config_file = tmp_path / "ow.toml"
    config_file.write_text(f'[[markets]]\nname = "tayga"\nsource = "{site_dir("tayga")}"\n')
    assert onionwatch("--config", str(config_file), "run", env=env).returncode == 0
    clean = onionwatch("--config", str(config_file), "captures", "verify", env=env)
    assert clean.returncode == 0 and ", 0 altered." in clean.stdout

    (capture,) = list((data / "captures" / "tayga").rglob("*.warc.gz"))
    raw = gzip.decompress(capture.read_bytes())
    assert raw.count(b"VHQ") > 1
    tampered = capture.with_suffix("")  # plain .warc beside it: the same records, one word changed
    tampered.write_bytes(raw.replace(b"VHQ", b"VHX", 1))
    found = onionwatch("--config", str(config_file), "captures", "verify", "--market", "tayga", env=env)
    assert found.returncode == 1
    (line,) = [line for line in found.stdout.splitlines() if line.startswith("ALTERED")]
    assert str(tampered) in line and "digest" in line

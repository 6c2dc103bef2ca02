"""Each bundled sample market, replayed offline, gives exactly its golden listings."""
from __future__ import annotations

import pytest

from extract.page import extract_page
from helpers import SAMPLE_MARKETS, assert_matches_golden, expected, run_once, site_dir
from index import open_index
from onionwatch.config import MarketSource
from onionwatch.pipeline import source_root


def test_there_are_three_sample_markets_one_russian():
    assert len(SAMPLE_MARKETS) >= 3
    assert any(item["city"] for m in SAMPLE_MARKETS for item in expected(m)["listings"])


@pytest.mark.parametrize("market", SAMPLE_MARKETS)
def test_folder_mirror_crawl_matches_golden(market, make_config):
    source = MarketSource(market, (site_dir(market) / "index.html").as_uri())
    config = make_config(source)
    index = open_index(config)
    report = run_once(config, source, index)
    golden = expected(market)
    assert report.pages == len(golden["pages"])
    assert [p for p in report.problems if p.kind == "error"] == []
    hits = index.search(f"market:{market}", limit=100).hits
    assert_matches_golden(hits, golden, source_root(source.source))


@pytest.mark.parametrize("market", SAMPLE_MARKETS)
def test_every_sample_page_has_its_expected_type_and_vendor(market):
    golden = expected(market)
    vendors = {}
    for relative, page_type in golden["pages"].items():
        result = extract_page((site_dir(market) / relative).read_bytes(), source=relative)
        assert result.page_type == page_type, relative
        if page_type not in ("login", "captcha"):
            assert result.market == market, relative
        if result.vendor:
            vendors[result.vendor["name"]] = result.vendor
    assert sorted(vendors.values(), key=lambda v: v["name"]) == sorted(golden["vendors"], key=lambda v: v["name"])


@pytest.mark.parametrize("market", SAMPLE_MARKETS)
def test_http_mirror_gives_the_same_listings(market, make_config, http_mirror):
    mirror = http_mirror(site_dir(market))
    base = mirror.url
    # A mirror of saved pages holds its login page as an ordinary file: skip it, don't stop.
    source = MarketSource(market, base + "index.html", on_gate="skip")
    config = make_config(source)
    index = open_index(config)
    report = run_once(config, source, index)
    assert report.status in ("ok", "degraded"), report.error
    assert_matches_golden(index.search(f"market:{market}", limit=100).hits, expected(market), base)
    assert len(mirror.requests) == len(expected(market)["pages"])

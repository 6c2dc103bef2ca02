"""Fail-closed .onion handling and the integrity of the evidence WARC."""
from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from crawlers.evidence import read_pages, sha256_digest
from crawlers.middlewares.onion_guard import OnionGuardMiddleware, OnionProxyRequired
from crawlers.runner import CrawlRefused, CrawlSpec, crawl
from helpers import expected, run_once, site_dir
from index import open_index
from onionwatch.config import MarketSource



def guard(proxy: str | None) -> OnionGuardMiddleware:
    crawler = get_crawler(settings_dict={"ONIONWATCH_HTTP_PROXIES": [proxy] if proxy else []})
    crawler.stats.open_spider()
    return OnionGuardMiddleware.from_crawler(crawler)


def test_onion_start_url_without_proxy_is_refused_before_any_fetch(tmp_path):
    spec = CrawlSpec(market="x", start_url="http://abcdefghijklmnop.onion/", warc_path=str(tmp_path / "x.warc.gz"))

    with pytest.raises(CrawlRefused, match="Tor proxy"):
        crawl(spec)
    assert not (tmp_path / "x.warc.gz").exists()


def test_onion_market_without_proxy_fails_its_run_not_the_others(make_config):
    onion = MarketSource("hidden", "http://abcdefghijklmnop.onion/index.html")
    config = make_config(onion)
    report = run_once(config, onion, open_index(config))
    assert report.status == "failed" and "Tor proxy" in report.error


def test_guard_refuses_onion_requests_without_proxy():
    middleware = guard(None)
    with pytest.raises(OnionProxyRequired):
        middleware.process_request(Request("http://abcdefghijklmnop.onion/item/1"))
    assert middleware.stats.get_value("onionwatch/onion_refused") == 1
    assert middleware.process_request(Request("http://127.0.0.1:8000/")) is None


def test_guard_sends_every_request_through_the_proxy_when_set():
    middleware = guard("http://127.0.0.1:8118")
    for url in ("http://abcdefghijklmnop.onion/", "https://clearnet.example/"):
        request = Request(url)
        middleware.process_request(request)
        assert request.meta["proxy"] == "http://127.0.0.1:8118"


def test_captures_hold_every_page_with_its_sha256(make_config):
    source = MarketSource("tayga", (site_dir("tayga") / "index.html").as_uri())
    config = make_config(source)
    report = run_once(config, source, open_index(config))
    pages = list(read_pages(report.warc_path))
    assert len(pages) == len(expected("tayga")["pages"])
    for page in pages:
        relative = page.url.split("/site/", 1)[1]
        assert page.body == (site_dir("tayga") / relative).read_bytes()
        assert page.digest == sha256_digest(page.body) and page.digest.startswith("sha256:")
        assert page.market == "tayga" and page.captured_at.endswith("Z")
    hit = open_index(config).search("city:Омск drug:amphetamine").hits[0]
    assert hit["capture"]["warc_file"] == report.warc_path
    assert hit["capture"]["digest"] in {p.digest for p in pages}


def test_crawl_never_leaves_the_mirror(make_config, copied_site, http_mirror, tmp_path):
    """Links to another host and to files outside the mirror folder are never fetched."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.html").write_text("<html><body>outside</body></html>")
    other_host = http_mirror(elsewhere)
    site = copied_site("tortuga")
    index_page = site / "index.html"
    links = f'<a href="{other_host.url}secret.html">x</a> <a href="{(elsewhere / "secret.html").as_uri()}">y</a>'
    index_page.write_text(index_page.read_text(encoding="utf-8").replace("</footer>", links + "</footer>"))
    source = MarketSource("tortuga", index_page.as_uri())
    config = make_config(source)
    report = run_once(config, source, open_index(config))
    urls = [page.url for page in read_pages(report.warc_path)]
    assert len(urls) == len(expected("tortuga")["pages"])
    assert all(url.startswith(site.as_uri()) for url in urls)
    assert other_host.requests == []

"""Replays are idempotent, and broken pages are reported and skipped without losing the rest."""
from __future__ import annotations

import random
from pathlib import Path

from helpers import assert_matches_golden, expected, run_once
from index import open_index
from onionwatch.config import MarketSource
from onionwatch.pipeline import MarketReport, Sinks, ingest_warc, source_root


def test_replaying_the_same_pages_twice_leaves_one_copy(make_config, copied_site):
    site = copied_site("northwind")
    source = MarketSource("northwind", (site / "index.html").as_uri())
    config = make_config(source)
    index = open_index(config)
    first = run_once(config, source, index)
    count = index.count()
    assert count == len(expected("northwind")["listings"])
    # A second crawl and a replay of the first capture file both land on the same ids.
    run_once(config, source, index)
    replay = MarketReport(market="northwind")
    ingest_warc(Path(first.warc_path), "northwind", source_root(source.source),
                Sinks(index, config.data_dir / "pending"), replay)
    assert replay.indexed == count
    assert index.count() == count


def _add_broken_pages(site) -> None:
    broken = site / "broken"
    broken.mkdir()
    good_page = (site / "shop" / "page-2.html").read_bytes()
    (broken / "truncated.html").write_bytes(good_page[: len(good_page) * 2 // 3])
    junk = random.Random(7).randbytes(4096)
    (broken / "junk.html").write_bytes(b"\x00\x01\x02" + junk)
    russian = (
        '<html><head><meta charset="utf-8"><title>Гашиш</title></head><body>'
        "<h1>Гашиш Марокко 1 г</h1><table><tr><td>Цена</td><td>3 000 руб</td></tr>"
        "<tr><td>Город</td><td>Бишкек</td></tr></table></body></html>"
    )
    (broken / "cp1251.html").write_bytes(russian.encode("cp1251"))
    index_page = site / "index.html"
    links = '<a href="broken/truncated.html">t</a> <a href="broken/junk.html">j</a> <a href="broken/cp1251.html">c</a>'
    index_page.write_text(index_page.read_text(encoding="utf-8").replace("</footer>", links + "</footer>"), encoding="utf-8")


def test_broken_pages_are_reported_and_the_rest_indexed(make_config, copied_site):
    site = copied_site("tortuga")
    _add_broken_pages(site)
    source = MarketSource("tortuga", (site / "index.html").as_uri())
    config = make_config(source)
    index = open_index(config)
    report = run_once(config, source, index)

    problems = {(p.url.rsplit("/", 1)[-1], p.kind): p.message for p in report.problems}
    assert "binary content" in problems[("junk.html", "error")]
    assert "truncated" in problems[("truncated.html", "warning")]
    assert "declares utf-8" in problems[("cp1251.html", "warning")]

    root = source_root(source.source)
    hits = index.search("market:tortuga", limit=100).hits
    golden_hits = [h for h in hits if not h["source_url"].endswith("cp1251.html")]
    assert_matches_golden(golden_hits, expected("tortuga"), root)
    # The mis-declared cp1251 page was still read correctly, not as mojibake.
    russian = index.search("city:Бишкек").hits
    assert [h["title"] for h in russian] == ["Гашиш Марокко 1 г"]
    assert russian[0]["price"] == 3000 and russian[0]["currency"] == "RUB"

"""Learning a market from labelled example pages: samples, layouts made here, drift, teach, CLI."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest

from extract.document import parse
from extract.learned import LabelError, LearnedMarket, learn_from_examples
from extract.learned.wrapper import _body, locate
from extract.page import extract_page
from helpers import SAMPLE_MARKETS, expected, onionwatch, site_dir

LABEL_FIELDS = ("vendor", "ships_from", "ships_to", "city", "district", "dead_drop")


def gold_for(market: str, page: Path) -> dict:
    """Labels for a sample page, from the sample's golden file: the items the page links to, in
    page order, with the fields the page itself shows (as a careful reader would label them)."""
    golden = expected(market)
    root = site_dir(market)
    relative = str(page.relative_to(root))
    page_type = golden["pages"][relative]
    by_url = {item["url"]: item for item in golden["listings"]}
    doc = parse(page.read_bytes())
    body = _body(doc)
    if page_type == "listing":
        urls = [relative]
    else:
        urls = []
        for link in body.iterfind(".//a[@href]"):
            target = str(Path(urljoin(relative, link.get("href"))))
            if target in by_url and target not in urls:
                urls.append(target)
    items = []
    for url in urls:
        want = by_url[url]
        item = {"title": want["title"], "prices": want["prices"]}
        for field in LABEL_FIELDS:
            if want.get(field) and locate(body, field, want[field], {}):
                item[field] = want[field]
        items.append(item)
    return {"page_type": page_type, "complete": True, "listings": items}


def sample_pages(market: str, page_type: str) -> list[Path]:
    golden = expected(market)
    return sorted(site_dir(market) / p for p, kind in golden["pages"].items() if kind == page_type)


@pytest.mark.parametrize("market", SAMPLE_MARKETS)
@pytest.mark.parametrize("page_type", ["category", "listing"])
def test_learns_from_one_sample_page_and_reads_the_others(market, page_type):
    pages = sample_pages(market, page_type)
    assert len(pages) >= 2
    example, others = pages[0], pages[1:]
    labels = gold_for(market, example)
    learned = LearnedMarket(market, learn_from_examples([(example, labels)]))
    for page in others:
        want = gold_for(market, page)
        got = extract_page(page.read_bytes(), source=str(page), market=market, learned=learned)
        assert got.page_type == page_type, page
        assert [l.title for l in got.listings] == [i["title"] for i in want["listings"]], page
        for listing, item in zip(got.listings, want["listings"]):
            assert {(p["currency"], p["amount"]) for p in listing.prices} >= {
                (p["currency"], p["amount"]) for p in item["prices"][:1]}, (page, item["title"])
            for field in LABEL_FIELDS:
                if field in labels["listings"][0] and field in item:
                    assert getattr(listing, field) == item[field], (page, item["title"], field)


def test_pages_of_another_layout_fall_back_to_the_generic_path():
    learned = LearnedMarket("tayga", learn_from_examples(
        [(sample_pages("tayga", "category")[0], gold_for("tayga", sample_pages("tayga", "category")[0]))]))
    other = sample_pages("northwind", "category")[0]
    assert learned.page_for(parse(other.read_bytes())) is None
    result = extract_page(other.read_bytes(), source=str(other), market="tayga", learned=learned)
    assert result.listings  # the generic extractor still reads the page

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


# ---------------------------------------------------------------- layouts made for these tests

ITEMS = [
    {"title": "Amnesia Haze 10g", "vendor": "GreenLeaf", "usd": 95.0, "btc": 0.00151, "from": "Netherlands",
     "code": "NL", "city": "Алматы", "district": "Бостандыкский", "drop": "магнит", "kind": "magnet"},
    {"title": "MDMA crystals 5g", "vendor": None, "usd": 120.0, "btc": 0.0019, "from": "Germany", "code": "DE",
     "city": "Астана", "district": "Есильский", "drop": "прикоп", "kind": "buried"},
    {"title": "Cocaine 1g flake", "vendor": "SnowWhite", "usd": 80.5, "btc": 0.00128, "from": "Spain", "code": "ES",
     "city": "Алматы", "district": "Медеуский", "drop": "тайник", "kind": "cache"},
    {"title": "Ketamine 2g shards", "vendor": "KetKing", "usd": 60.0, "btc": 0.00095, "from": "United Kingdom",
     "code": "GB", "city": "Шымкент", "district": "Абайский", "drop": "магнит", "kind": "magnet", "sold": True},
    {"title": "LSD 10 tabs 200ug", "vendor": "AcidRain", "usd": 45.0, "btc": 0.00071, "from": "Canada", "code": "CA",
     "city": "Караганда", "district": "Октябрьский", "drop": "прикоп", "kind": "buried"},
    {"title": "Hash 25g Moroccan", "vendor": "GreenLeaf", "usd": 150.0, "btc": 0.00238, "from": "France",
     "code": "FR", "city": "Алматы", "district": "Алмалинский", "drop": "тайник", "kind": "cache"},
    {"title": "Speed paste 10g", "vendor": "Amphy", "usd": 55.0, "btc": 0.00087, "from": "Poland", "code": "PL",
     "city": "Астана", "district": "Алматинский", "drop": "магнит", "kind": "magnet"},
]


def _card(item):
    vendor = f'<span class="seller">by <a href="/u/{item["vendor"]}">{item["vendor"]}</a></span>' if item["vendor"] else ""
    badge = '<span class="badge badge-danger">SOLD OUT</span>' if item.get("sold") else ""
    return (f'<div class="card item-{abs(hash(item["title"])) % 1000}"><h3 class="name">{badge}<a href="/item/'
            f'{item["title"][:4]}">{item["title"]}</a></h3>{vendor}<div class="cost">${item["usd"]:.2f} / '
            f'{item["btc"]} BTC</div><p class="ship">Ships from: {item["from"]}</p><p class="ship">Ships to: '
            f'Worldwide</p></div>')


def _row(item):
    badge = ' <em class="so">sold out</em>' if item.get("sold") else ""
    return (f'<tr><td><a href="/p/{item["title"][:3]}">{item["title"]}</a>{badge}</td><td>{item["vendor"] or ""}'
            f'</td><td>{item["usd"]:.2f} USD</td><td>{item["from"]}</td></tr>')


def _dl(item):
    vendor = f"<dt>Seller</dt><dd>{item['vendor']}</dd>" if item["vendor"] else ""
    status = "<dt>Status</dt><dd>sold out</dd>" if item.get("sold") else ""
    return (f'<dl class="offer"><dt>Name</dt><dd>{item["title"]}</dd>{vendor}<dt>Price</dt><dd>'
            f'{item["usd"]:.2f} USD</dd><dt>Origin</dt><dd>{item["from"]}</dd>{status}</dl>')


def _klad(item):
    rub = int(item["usd"] * 92)
    badge = '<div class="net">Нет в наличии</div>' if item.get("sold") else ""
    return (f'<div class="tovar"><a class="nazvanie" href="/t/{item["title"][:2]}">{item["title"]}</a>{badge}'
            f'<div class="gorod">Город: {item["city"]}</div><div class="rayon">Район: {item["district"]}</div>'
            f'<div class="klad">Тип клада: {item["drop"]}</div><div class="cena">{rub:,} ₽'.replace(",", " ")
            + f' · {item["btc"]} BTC · {int(item["usd"])} USDT</div></div>')


LAYOUTS = {
    "cards": (lambda rows: f'<div class="grid">{rows}</div>', _card,
              '<div class="card promo"><h3 class="name"><a href="/ads">Advertise here</a></h3></div>'),
    "table": (lambda rows: f'<table class="offers"><tr><th>Item</th><th>Vendor</th><th>Price</th><th>From</th></tr>'
                           f'{rows}</table>', _row,
              '<tr class="ad"><td colspan="4">Sponsored: <a href="/ads">VPN deal</a></td></tr>'),
    "dl": (lambda rows: f'<section class="list">{rows}</section>', _dl, '<div class="banner">Escrow is safe</div>'),
    "klad": (lambda rows: f'<div class="vitrina">{rows}</div>', _klad,
             '<div class="reklama">Работа: курьеры, от 1000 за клад</div>'),
}


RATE = '<div class="kurs">Курс: 1 USD = 92 ₽</div>'


def _page(layout, items, ad_at=None):
    wrap, one, ad = LAYOUTS[layout]
    rows = [one(item) for item in items]
    if ad_at is not None:
        rows.insert(ad_at, ad)
    return (f'<html><head><meta charset="utf-8"><title>Shop</title></head><body><div class="top"><a href="/">Home'
            f'</a> <a href="/login">Login</a></div>{RATE if layout == "klad" else ""}<div class="main">{wrap("".join(rows))}</div>'
            f'<div class="foot">© shop</div></body></html>').encode("utf-8")


def _labels(layout, items):
    out = []
    for item in items:
        label = {"title": item["title"]}
        if layout != "klad":
            if item["vendor"]:
                label["vendor"] = item["vendor"]
            label["prices"] = [{"amount": item["usd"], "currency": "USD"}]
            label["ships_from"] = item["code"]
        else:
            label.update(city=item["city"], district=item["district"], dead_drop=item["kind"],
                         prices=[{"amount": int(item["usd"] * 92), "currency": "RUB"}])
        out.append(label)
    return {"page_type": "category", "complete": True, "listings": out}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_learns_test_layouts_with_missing_fields_badges_and_ads(layout, tmp_path):
    example_items, other_items = ITEMS[:3], ITEMS[3:]
    example = tmp_path / "example.html"
    example.write_bytes(_page(layout, example_items))
    learned = LearnedMarket("testshop", learn_from_examples([(example, _labels(layout, example_items))]))
    page = _page(layout, other_items, ad_at=2)
    result = extract_page(page, source="other.html", market="testshop", learned=learned)
    assert result.page_type == "category"
    assert [l.title for l in result.listings] == [i["title"] for i in other_items]  # the ad is no item
    for listing, item in zip(result.listings, other_items):
        if layout == "klad":
            assert (listing.city, listing.district, listing.dead_drop) == (item["city"], item["district"], item["kind"])
            assert (listing.price, listing.currency) == (int(item["usd"] * 92), "RUB")
            assert {p["currency"] for p in listing.prices} == {"RUB", "BTC", "USDT"}
            assert listing.price_usd is not None
        else:
            assert (listing.price, listing.currency, listing.vendor) == (item["usd"], "USD", item["vendor"])
            assert listing.ships_from == item["code"]
        assert listing.drug is not None


def test_a_label_that_is_not_on_the_page_is_a_clear_error(tmp_path):
    example = tmp_path / "example.html"
    example.write_bytes(_page("cards", ITEMS[:3]))
    labels = _labels("cards", ITEMS[:3])
    labels["listings"][1]["title"] = "Golden Teacher mushrooms 3.5g"
    with pytest.raises(LabelError, match="Golden Teacher mushrooms 3.5g.*not on the page"):
        learn_from_examples([(example, labels)])


# ---------------------------------------------------------------- a taught market, its runs, and a redesign

def _shop(items, redesigned=False):
    if not redesigned:
        rows = "".join(
            f'<div class="lot"><a class="lot-name" href="lot{ITEMS.index(i)}.html">{i["title"]}</a><ul class="lot-info">'
            f'<li>Город: {i["city"]}</li><li>Район: {i["district"]}</li><li>Тип клада: {i["drop"]}</li></ul>'
            f'<b class="lot-price">{int(i["usd"] * 92)} руб.</b></div>' for n, i in enumerate(items))
    else:  # the market's new design: a table, other names, the place in one cell
        rows = "<table class='goods'>" + "".join(
            f'<tr class="g"><td class="g-n"><a href="lot{ITEMS.index(i)}.html">{i["title"]}</a></td><td class="g-p">'
            f'{int(i["usd"] * 92)} руб.</td><td class="g-w">{i["city"]}, {i["district"]}</td></tr>'
            for n, i in enumerate(items)) + "</table>"
    return (f'<html><head><meta charset="utf-8"><title>Клад-шоп</title></head><body><div class="hat">'
            f'<a href="index.html">Главная</a></div><div class="wrap">{rows}</div></body></html>')


def _write_shop(site: Path, redesigned=False, extra=""):
    site.mkdir(exist_ok=True)
    (site / "index.html").write_text('<html><body><a href="a.html">A</a> <a href="b.html">B</a></body></html>')
    (site / "a.html").write_text(_shop(ITEMS[:3], redesigned) + extra, encoding="utf-8")
    (site / "b.html").write_text(_shop(ITEMS[3:], redesigned) + extra, encoding="utf-8")


def _filled(items):
    return {"page_type": "category", "listings": [
        {"title": i["title"], "price": f'{int(i["usd"] * 92)} руб.', "city": i["city"], "district": i["district"],
         "dead_drop": i["drop"]} for i in items[:2]]}


def test_a_redesign_is_noticed_read_generically_and_alerted_once(make_config, tmp_path):
    from dataclasses import replace

    from extract.learned import store, teach
    from extract.markets import recognise
    from index import open_index
    from onionwatch.config import AlertConfig, MarketSource
    from onionwatch.monitor import Monitor

    site = tmp_path / "site"
    _write_shop(site)
    assert recognise(parse((site / "a.html").read_bytes())) is None  # no page object knows this market
    market = MarketSource("kladshop", (site / "index.html").as_uri())
    config = replace(make_config(market), alerts=AlertConfig(jsonl="alerts.jsonl"))
    taught = teach.teach(config.data_dir, "kladshop", site / "a.html", _filled(ITEMS))
    assert taught.version == 1 and store.list_markets(config.data_dir)[0]["market"] == "kladshop"

    monitor = Monitor(config, open_index(config))
    first = monitor.run(market)
    assert first.status == "ok", first.error
    docs = monitor.index.search('market:"kladshop"', limit=20).hits
    assert {(d["title"], d["city"], d["district"], d["dead_drop"]) for d in docs} == {
        (i["title"], i["city"], i["district"], i["kind"]) for i in ITEMS}

    _write_shop(site, redesigned=True)
    second = monitor.run(market)
    assert second.status == "degraded" and "layout of kladshop changed: re-teach" in second.error
    generic = sum(len(extract_page((site / f).read_bytes(), source=f, generic=True).listings) for f in ("a.html", "b.html"))
    assert second.listings == generic  # the generic path read the pages meanwhile
    alerts = [json.loads(line) for line in (config.data_dir / "alerts.jsonl").read_text().splitlines()]
    assert len(alerts) == 1 and "layout of kladshop changed" in alerts[0]["notice"]["message"]

    _write_shop(site, redesigned=True, extra="<!-- changed again -->\n")
    (site / "a.html").write_text(_shop(ITEMS[:3], True).replace("Клад-шоп", "Клад-шоп 2"), encoding="utf-8")
    third = monitor.run(market)
    assert third.status == "degraded"
    assert len((config.data_dir / "alerts.jsonl").read_text().splitlines()) == 1  # one alert, not one per run
    assert [r["status"] for r in monitor.runs.recent(market="kladshop")] == ["degraded", "degraded", "ok"]

    relearned = teach.teach(config.data_dir, "kladshop", site / "a.html", {"page_type": "category", "listings": [
        {"title": i["title"], "price": f'{int(i["usd"] * 92)} руб.'} for i in ITEMS[:2]]})
    assert relearned.version == 2 and (config.data_dir / "markets" / "kladshop.v1.json").exists()
    monitor.close()


def test_a_field_that_was_always_shown_going_missing_is_drift(tmp_path):
    from extract.learned.drift import DriftWatch

    example = tmp_path / "a.html"
    example.write_text(_shop(ITEMS[:3]), encoding="utf-8")
    from extract.learned.teach import to_gold

    learned = LearnedMarket("kladshop", learn_from_examples([(example, to_gold(_filled(ITEMS)))]))
    watch = DriftWatch(learned, tmp_path / "markets")
    watch.current = "b.html"
    assert watch.page_for(parse(_shop(ITEMS[3:]).encode())) is not None
    watch.finish()
    without_places = re.sub(r"<li>Тип клада: [^<]*</li>", "", _shop(ITEMS[3:]))  # the market stopped showing it
    watch = DriftWatch(learned, tmp_path / "markets")
    watch.current = "b.html"
    assert watch.page_for(parse(without_places.encode())) is None
    assert "dead_drop" in watch.drifted["b.html"] and "re-teach" in watch.message


def test_teach_template_labels_and_errors(tmp_path):
    env = {"ONIONWATCH_DATA": str(tmp_path / "data")}
    page = tmp_path / "a.html"
    page.write_text(_shop(ITEMS[:3]), encoding="utf-8")
    made = onionwatch("teach", "kladshop", str(page), "--template", str(tmp_path / "t.json"), env=env)
    assert made.returncode == 0, made.stderr
    template = json.loads((tmp_path / "t.json").read_text())
    assert len(template["listings"]) == 3 and "title" in template["listings"][0]

    template["listings"][0].update(title=ITEMS[0]["title"], price=f'{int(ITEMS[0]["usd"] * 92)} руб.',
                                   city=ITEMS[0]["city"])
    template["listings"][1].update(title="Mushrooms 3.5g Golden Teacher", price="500 руб.")
    (tmp_path / "t.json").write_text(json.dumps(template, ensure_ascii=False))
    missing = onionwatch("teach", "kladshop", str(page), "--labels", str(tmp_path / "t.json"), "--yes", env=env)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "'Mushrooms 3.5g Golden Teacher' is not on the page" in missing.stderr

    template["listings"][1].update(title=ITEMS[1]["title"], price=f'{int(ITEMS[1]["usd"] * 92)} руб.')
    (tmp_path / "t.json").write_text(json.dumps(template, ensure_ascii=False))
    twice = tmp_path / "twice.html"
    twice.write_text(_shop(ITEMS[:3] + ITEMS[:1]), encoding="utf-8")
    ambiguous = onionwatch("teach", "kladshop", str(twice), "--labels", str(tmp_path / "t.json"), "--yes", env=env)
    assert ambiguous.returncode == 2 and "occurs 2 times" in ambiguous.stderr and "occurrence" in ambiguous.stderr

    done = onionwatch("teach", "kladshop", str(page), "--labels", str(tmp_path / "t.json"), "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert "learned kladshop version 1" in done.stdout and ITEMS[2]["title"] in done.stdout  # read back, unlabelled
    listed = onionwatch("markets", "--json", env=env)
    assert json.loads(listed.stdout.splitlines()[0])["version"] == 1


def test_extract_with_examples_end_to_end(tmp_path):
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "page1").write_bytes(_page("table", ITEMS[:3]))
    (examples / "page1.json").write_text(json.dumps(_labels("table", ITEMS[:3])))
    target = tmp_path / "pages"
    target.mkdir()
    (target / "p2.html").write_bytes(_page("table", ITEMS[3:], ad_at=1))
    (target / "other.html").write_bytes(_page("cards", ITEMS[3:]))
    out = onionwatch("extract", "--jsonl", "--market", "newshop", "--examples", str(examples), str(target))
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["source"].rsplit("/", 1)[1] for r in records] == ["other.html", "p2.html"]
    assert all(r["market"] == "newshop" for r in records)
    assert [l["title"] for l in records[1]["listings"]] == [i["title"] for i in ITEMS[3:]]
    assert [l["price"] for l in records[1]["listings"]] == [i["usd"] for i in ITEMS[3:]]
    bad = onionwatch("extract", "--jsonl", "--examples", str(examples), str(target))
    assert bad.returncode == 2 and "--market" in bad.stderr and not bad.stdout
